"""Real hands cut out of photos, placed on a synthetic clip's motion track.

A :class:`HandCutout` is an RGBA patch of one hand from ``../shared/data/real-hands``
(both hands of ``hands.jpg`` and of ``woman_hands.jpg``) with MediaPipe's 21 landmarks of
that photo in patch pixels. The mask is found with GrabCut, seeded by the landmarks: the
bones and the palm are sure hand, everything far from them sure background.

:func:`place_cutout` maps the patch with a similarity transform (rotation, scale,
translation; mirrored first when the photo shows the other side of the hand) so that its
palm points the way the synthetic hand would and the mean of its contact landmarks
(fingertips 8, 12, 16, 20 or palm 0, 5, 9, 13, 17) lands exactly on the track's point.
:class:`CutoutPainter` is the ``hand_painter`` of :class:`coach.synth.Sample`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from coach.core.contact import FINGERTIP_LANDMARKS, PALM_LANDMARKS
from coach.evaluation.motion import SHARED_DATA_DIR
from coach.samples.scene import _arm_outline, _draw_sleeve

REAL_HANDS_DIR = SHARED_DATA_DIR / "real-hands"
PHOTOS = ("hands.jpg", "woman_hands.jpg")
_BONES = (
    (0, 1, 2, 3, 4),
    (0, 5, 6, 7, 8),
    (9, 10, 11, 12),
    (13, 14, 15, 16),
    (0, 17, 18, 19, 20),
    (5, 9, 13, 17),
)
CUTOUT_VERSION = 1


@dataclass(frozen=True)
class HandCutout:
    """``rgba`` (h, w, 4) uint8 patch, ``landmarks`` (21, 2) in its pixels, and where from."""

    name: str  # e.g. "hands.jpg#0"
    rgba: np.ndarray
    landmarks: np.ndarray

    @property
    def skin_rgb(self) -> np.ndarray:
        """Mean colour of the hand (fully opaque pixels)."""
        a = self.rgba[..., 3] > 200
        return self.rgba[..., :3][a].reshape(-1, 3).mean(axis=0)


def hand_length(lm: np.ndarray) -> float:
    return float(np.hypot(*(np.asarray(lm)[12] - np.asarray(lm)[0])))


def cut_hand(
    image_rgb: np.ndarray, landmarks_px: np.ndarray, others_px: Sequence = ()
) -> HandCutout:
    """GrabCut one hand out of ``image_rgb`` around its landmarks (21, 2) in pixels; the
    other hands' landmarks (``others_px``) are marked as background."""
    lm = np.asarray(landmarks_px, dtype=np.float64)
    h, w = image_rgb.shape[:2]
    length = hand_length(lm)
    margin = 0.18 * length
    x0, y0 = (np.floor(lm.min(axis=0) - margin)).astype(int)
    x1, y1 = (np.ceil(lm.max(axis=0) + margin)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    crop = np.ascontiguousarray(image_rgb[y0:y1, x0:x1])
    local = lm - (x0, y0)
    mask = np.full(crop.shape[:2], cv2.GC_BGD, np.uint8)
    hull = cv2.convexHull(np.round(local).astype(np.int32))
    grown = np.zeros_like(mask)
    cv2.fillPoly(grown, [hull], 1)
    grown = cv2.dilate(grown, np.ones((3, 3), np.uint8), iterations=max(1, int(0.12 * length)))
    mask[grown > 0] = cv2.GC_PR_BGD
    cv2.fillPoly(mask, [hull], cv2.GC_PR_FGD)
    thick = max(2, int(round(0.05 * length)))
    for chain in _BONES:
        pts = np.round(local[list(chain)]).astype(np.int32)
        cv2.polylines(mask, [pts], False, cv2.GC_FGD, thick)
    palm = np.round(local[[0, 1, 5, 9, 13, 17]]).astype(np.int32)
    cv2.fillPoly(mask, [cv2.convexHull(palm)], cv2.GC_FGD)
    for other in others_px:
        o = np.round(np.asarray(other, dtype=np.float64) - (x0, y0)).astype(np.int32)
        for chain in _BONES:
            cv2.polylines(mask, [o[list(chain)]], False, cv2.GC_BGD, thick * 2)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    bgr = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # the largest connected piece only, holes filled, edge softened
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    if n > 1:
        fg = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    alpha = cv2.GaussianBlur(fg * 255, (3, 3), 0)
    rgba = np.dstack([crop, alpha]).astype(np.uint8)
    return HandCutout("", rgba, local)


def load_cutouts(cache_dir: Path, landmarker_factory=None) -> list[HandCutout]:
    """The four hands of :data:`PHOTOS`, cut out once and kept in ``cache_dir`` (keyed by
    the photo's content). ``landmarker_factory()`` makes a
    :class:`coach.vision.mediapipe_landmarker.HandLandmarker` (default: the full model,
    two hands) when a photo is not cut yet."""
    out: list[HandCutout] = []
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    lm_tool = None
    try:
        for photo in PHOTOS:
            path = REAL_HANDS_DIR / photo
            data = path.read_bytes()
            key = hashlib.sha256(data + bytes([CUTOUT_VERSION])).hexdigest()[:16]
            cached = cache_dir / f"cutout-{photo}-{key}.npz"
            if cached.is_file():
                with np.load(cached) as z:
                    for k in range(int(z["n"])):
                        out.append(HandCutout(f"{photo}#{k}", z[f"rgba{k}"], z[f"lm{k}"]))
                continue
            image = cv2.cvtColor(
                cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
            )
            if lm_tool is None:
                if landmarker_factory is None:
                    from coach.vision import mediapipe_landmarker  # deferred: MediaPipe

                    lm_tool = mediapipe_landmarker.HandLandmarker(num_hands=2, preload="image")
                else:
                    lm_tool = landmarker_factory()
            obs = lm_tool.detect_image(image)
            if obs is None:
                raise ValueError(f"real hands: no hand found in {path}")
            size = np.array([image.shape[1], image.shape[0]], dtype=np.float64)
            hands = [obs.landmarks[k, :, :2] * size for k in range(obs.n_hands)]
            hands.sort(key=lambda p: float(p[:, 0].mean()))  # left to right: stable order
            cuts = []
            for k, lm in enumerate(hands):
                c = cut_hand(image, lm, [o for j, o in enumerate(hands) if j != k])
                cuts.append(HandCutout(f"{photo}#{k}", c.rgba, c.landmarks))
            arrays = {f"rgba{k}": c.rgba for k, c in enumerate(cuts)}
            arrays.update({f"lm{k}": c.landmarks for k, c in enumerate(cuts)})
            np.savez_compressed(cached, n=len(cuts), **arrays)
            out.extend(cuts)
    finally:
        if lm_tool is not None:
            lm_tool.close()
    return out


def _handed(lm: np.ndarray) -> float:
    """Sign of (index MCP - wrist) x (little MCP - wrist): which way round the hand lies."""
    a, b = lm[5] - lm[0], lm[17] - lm[0]
    return float(np.sign(a[0] * b[1] - a[1] * b[0]))


def placement(
    cut_landmarks: np.ndarray, target_px: np.ndarray, contact: str = "fingertips"
) -> tuple[np.ndarray, bool]:
    """The 2x3 affine map from patch pixels to frame pixels that lays the cut-out hand over
    the target landmarks (21, 2): mirrored (returned flag) when it lies the other way round,
    rotated so wrist->middle knuckle points the same way, scaled to the same wrist->middle
    fingertip length, and moved so the mean of its ``contact`` landmarks is the target's."""
    src = np.asarray(cut_landmarks, dtype=np.float64)
    dst = np.asarray(target_px, dtype=np.float64)
    flip = _handed(src) != _handed(dst)
    pre = np.array([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) if flip else np.eye(2, 3)
    s = src @ pre[:, :2].T + pre[:, 2]
    a_src = math.atan2(*(s[9] - s[0])[::-1])
    a_dst = math.atan2(*(dst[9] - dst[0])[::-1])
    scale = hand_length(dst) / max(hand_length(s), 1e-9)
    rot = a_dst - a_src
    r = scale * np.array([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]])
    idx = list(FINGERTIP_LANDMARKS if contact == "fingertips" else PALM_LANDMARKS)
    t = dst[idx].mean(axis=0) - (s[idx] @ r.T).mean(axis=0)
    lin = r @ pre[:, :2]
    m = np.hstack([lin, (r @ pre[:, 2] + t)[:, None]])
    return m, flip


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return np.asarray(pts, dtype=np.float64) @ m[:, :2].T + m[:, 2]


def tint(rgba: np.ndarray, skin_rgb: Sequence[int] | None) -> np.ndarray:
    """The patch recoloured so its mean hand colour is ``skin_rgb`` (texture kept)."""
    if skin_rgb is None:
        return rgba
    a = rgba[..., 3] > 200
    mean = rgba[..., :3][a].reshape(-1, 3).mean(axis=0)
    gain = np.asarray(skin_rgb, dtype=np.float64) / np.maximum(mean, 1.0)
    out = rgba.copy()
    out[..., :3] = np.clip(rgba[..., :3] * gain, 0, 255).astype(np.uint8)
    return out


def place_cutout(
    img: np.ndarray, cut: HandCutout, target_px: np.ndarray, contact: str = "fingertips"
) -> np.ndarray:
    """Draw ``cut`` into ``img`` (RGB, in place) over ``target_px``; returns the placed
    landmarks (21, 2) in frame pixels (continuous: pixel i covers [i, i + 1), like the synth)."""
    m, _ = placement(cut.landmarks, target_px, contact)
    h, w = img.shape[:2]
    ph, pw = cut.rgba.shape[:2]
    corners = apply_affine(m, np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float64))
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    placed = apply_affine(m, cut.landmarks)
    if x1 <= x0 or y1 <= y0:
        return placed
    # warpAffine maps pixel indices (centres at integers): patch index -> continuous
    # (+0.5) -> frame continuous (m) -> index in the ROI (-0.5 - corner)
    local = m.copy()
    local[:, 2] -= (x0 + 0.5, y0 + 0.5)
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    full = np.vstack([local, [0.0, 0.0, 1.0]]) @ shift
    warped = cv2.warpAffine(
        cut.rgba, full[:2], (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0)
    )
    alpha = warped[..., 3:4].astype(np.float32) * (1.0 / 255.0)
    roi = img[y0:y1, x0:x1]
    roi[:] = np.clip(warped[..., :3] * alpha + roi * (1.0 - alpha), 0, 255).astype(np.uint8)
    return placed


class CutoutPainter:
    """``hand_painter`` for :class:`coach.synth.Sample`: hand ``k`` is cut-out
    ``cutouts[k % len]``, tinted to the clip's skin (``tint_skin``) or left as photographed,
    on a sleeve like the synthetic hand's, so the wrist's edge is hidden."""

    def __init__(self, cutouts: Sequence[HandCutout], contact: str, tint_skin: bool = False):
        self.cutouts = list(cutouts)
        self.contact = contact
        self.tint_skin = tint_skin
        self._tinted: dict[tuple, HandCutout] = {}

    def cutout(self, hand: int, skin_rgb: Sequence[int]) -> HandCutout:
        cut = self.cutouts[hand % len(self.cutouts)]
        if not self.tint_skin:
            return cut
        key = (hand % len(self.cutouts), tuple(int(c) for c in skin_rgb))
        if key not in self._tinted:
            self._tinted[key] = HandCutout(cut.name, tint(cut.rgba, skin_rgb), cut.landmarks)
        return self._tinted[key]

    def __call__(self, img, hand, landmarks_px, skin_rgb, sleeve_rgb) -> None:
        lm = np.asarray(landmarks_px, dtype=np.float64)
        _palm, _fore, sleeve = _arm_outline(lm, hand_length(lm))
        _draw_sleeve(img, sleeve, sleeve_rgb)
        place_cutout(img, self.cutout(hand, skin_rgb), lm, self.contact)
