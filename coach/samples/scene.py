"""The scene of a sample: where the doll lies in the frame, the doll, and a rendered hand
(MediaPipe's 21 landmarks, placed so that its contact point lies exactly on the track).
Drawn with OpenCV only; never imports MediaPipe."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from coach.core.bodyframe import BodyFrame, HeadDirection
from coach.core.contact import FINGERTIP_LANDMARKS, PALM_LANDMARKS

#: Named skin tones (RGB). ``skin`` also accepts any RGB triple.
SKIN_TONES: dict[str, tuple[int, int, int]] = {
    "light": (228, 176, 144),
    "dark": (110, 70, 48),
}


# -- scene layout ---------------------------------------------------------------------------------
BOX_FRACTION = 0.28  # tummy box side / smaller frame dimension
FEET_ROOM_BOXES = 2.0  # room from the box centre to the frame edge on the feet side, box widths
HEAD_ROOM_FRACTION = 0.35  # the box centre is at least this far from the head edge (frame fraction)
HAND_LENGTH_BOX = 0.95  # wrist to middle fingertip, tummy-box widths
_HEAD_ANGLE_DEG = {"up": 0.0, "right": 90.0, "down": 180.0, "left": 270.0}  # clockwise on screen


# =================================================================================================
# Scene: layout, doll, hand
# =================================================================================================


def scene_layout(
    size: tuple[int, int], head: HeadDirection
) -> tuple[tuple[float, float, float, float], float]:
    """Tummy box (true, unmirrored picture, normalised, rounded to 4 decimals) and its side in
    pixels for a frame of ``size`` (width, height) with the head towards ``head``.

    The box is square in pixels, :data:`BOX_FRACTION` of the smaller dimension, centred across
    the body and placed along it so that :data:`FEET_ROOM_BOXES` box widths stay free on the
    feet side (the performer's hands and arms come from there).
    """
    w, h = size
    side = BOX_FRACTION * min(w, h)
    along = h if head in ("up", "down") else w
    from_head = max(along - FEET_ROOM_BOXES * side, HEAD_ROOM_FRACTION * along)  # from head edge
    centre_along = from_head if head in ("up", "left") else along - from_head
    if head in ("up", "down"):
        cx, cy = w / 2.0, centre_along
    else:
        cx, cy = centre_along, h / 2.0
    box = ((cx - side / 2) / w, (cy - side / 2) / h, (cx + side / 2) / w, (cy + side / 2) / h)
    return tuple(round(c, 4) for c in box), side  # type: ignore[return-value]


def _ellipse_uv(centre: tuple[float, float], radii: tuple[float, float], n: int = 48) -> np.ndarray:
    a = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.stack([centre[0] + radii[0] * np.cos(a), centre[1] + radii[1] * np.sin(a)], axis=1)


_SUBPIX = 4  # OpenCV fixed-point bits for drawing
_SCALE = 1 << _SUBPIX


def _cv(points_px: np.ndarray) -> np.ndarray:
    """Continuous pixel coordinates -> OpenCV fixed-point (pixel centres at integers)."""
    return np.round((np.asarray(points_px, dtype=np.float64) - 0.5) * _SCALE).astype(np.int32)


class _Scene:
    """Maps uv to true-picture pixels and draws the still background: a blanket and a cloth
    practice doll (head at negative v) in a vest rolled up to the chest, leggings and a diaper.

    Measured: bare skin-coloured limbs and a skin-coloured shaded body make MediaPipe's palm
    detector miss the hand on top of them, so the doll is cream cloth with dressed limbs.
    """

    BLANKET = (206, 222, 236)
    DOLL = (236, 230, 222)
    FABRIC = (182, 214, 190)
    DIAPER = (250, 250, 246)
    FEATURE = (150, 96, 90)

    def __init__(
        self, size: tuple[int, int], head: HeadDirection, palette: dict | None = None
    ) -> None:
        self.size = size
        self.head = head
        for name, rgb in (palette or {}).items():  # e.g. {"DOLL": (90, 60, 50)}: other colours
            if name not in ("BLANKET", "DOLL", "FABRIC", "DIAPER", "FEATURE"):
                raise ValueError(
                    f"palette: expected BLANKET, DOLL, FABRIC, DIAPER or FEATURE, found {name!r}"
                )
            setattr(self, name, tuple(int(c) for c in rgb))
        self.box_true, self.box_px = scene_layout(size, head)
        self.frame = BodyFrame.from_box(self.box_true, head, False, size)

    def to_px(self, uv: np.ndarray) -> np.ndarray:
        """uv (..., 2) -> continuous pixel coordinates of the true picture (..., 2)."""
        return self.frame.to_xy(uv) * np.asarray(self.size, dtype=np.float64)

    def background(self) -> np.ndarray:
        w, h = self.size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        period = max(w, h) / 9.0
        check = np.sin(xx * math.pi / period) * np.sin(yy * math.pi / period)
        img = np.empty((h, w, 3), np.float32)
        img[:] = np.asarray(self.BLANKET, np.float32)
        img += (6.0 * np.tanh(3.0 * check))[..., None]
        limbs, body, vest = (np.zeros((h, w), np.uint8) for _ in range(3))
        self._limbs(limbs)
        self._poly(body, _ellipse_uv((0.5, 0.25), (0.66, 0.92)), 255)  # torso
        self._poly(vest, np.array([[-1.0, -3.0], [2.0, -3.0], [2.0, -0.18], [-1.0, -0.18]]), 255)
        vest &= body
        self._poly(body, _ellipse_uv((0.5, -1.05), (0.5, 0.48)), 255)  # head
        self._layer(img, limbs, self.FABRIC)
        self._layer(img, body, self.DOLL)
        self._layer(img, vest, self.FABRIC)
        out = np.clip(img, 0, 255).astype(np.uint8)
        self._details(out)
        return out

    def _layer(self, img: np.ndarray, mask: np.ndarray, colour: Sequence[int]) -> None:
        """Paint ``mask`` in ``colour`` over ``img`` (float32), rounded by a distance transform."""
        dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
        shade = 0.84 + 0.16 * np.sqrt(np.minimum(dist * (1.0 / (0.12 * self.box_px)), 1.0))
        alpha = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32)[..., None] * (1.0 / 255.0)
        img *= 1.0 - alpha
        img += alpha * shade[..., None] * np.asarray(colour, np.float32)

    def _poly(self, img: np.ndarray, uv: np.ndarray, colour: object) -> None:
        cv2.fillPoly(img, [_cv(self.to_px(uv))], colour, cv2.LINE_AA, _SUBPIX)

    def _limb(
        self, img: np.ndarray, uv: Sequence[tuple[float, float]], radius_box: float, colour: object
    ) -> None:
        pts = _cv(self.to_px(np.asarray(uv, dtype=np.float64)))
        thick = max(1, int(round(2 * radius_box * self.box_px)))
        for a, b in zip(pts[:-1], pts[1:], strict=True):
            cv2.line(
                img,
                (int(a[0]), int(a[1])),
                (int(b[0]), int(b[1])),
                colour,
                thick,
                cv2.LINE_AA,
                _SUBPIX,
            )

    def _limbs(self, mask: np.ndarray) -> None:
        """Arms raised beside the head and bent legs, in uv (head at negative v)."""
        for mirror in (False, True):

            def m(p: tuple[float, float], mirror: bool = mirror) -> tuple[float, float]:
                return (1.0 - p[0], p[1]) if mirror else p

            self._limb(mask, [m((0.05, -0.5)), m((-0.4, -0.22)), m((-0.5, -0.7))], 0.14, 255)
            self._poly(mask, _ellipse_uv(m((-0.5, -0.8)), (0.14, 0.14)), 255)
            self._limb(mask, [m((0.22, 1.0)), m((-0.05, 1.55)), m((0.12, 2.05))], 0.2, 255)
            self._poly(mask, _ellipse_uv(m((0.16, 2.15)), (0.17, 0.21)), 255)

    def _details(self, img: np.ndarray) -> None:
        self._poly(img, _ellipse_uv((0.5, 1.32), (0.68, 0.32)), self.DIAPER)
        self._poly(img, _ellipse_uv((0.5, 0.5), (0.022, 0.03), 16), self.FEATURE)  # navel
        self._poly(img, _ellipse_uv((0.5, -1.42), (0.28, 0.1)), (150, 110, 80))  # hair
        for u in (0.33, 0.67):  # closed eyes
            self._limb(img, [(u - 0.07, -1.1), (u, -1.08), (u + 0.07, -1.1)], 0.012, self.FEATURE)
        self._poly(img, _ellipse_uv((0.5, -0.8), (0.07, 0.035), 16), (214, 130, 130))  # mouth


# Left hand seen from the back, fingers up (+y), thumb towards +x; unit: wrist to middle tip.
# Index order is MediaPipe's: 0 wrist, 1-4 thumb, 5-8 index, 9-12 middle, 13-16 ring, 17-20 little.
_HAND_MODEL = np.array(
    [
        [0.0, 0.0],
        [0.17, 0.12],
        [0.28, 0.27],
        [0.35, 0.42],
        [0.40, 0.55],
        [0.12, 0.47],
        [0.13, 0.70],
        [0.13, 0.84],
        [0.13, 0.96],
        [0.0, 0.47],
        [-0.02, 0.72],
        [-0.03, 0.87],
        [-0.04, 1.0],
        [-0.11, 0.43],
        [-0.15, 0.65],
        [-0.17, 0.78],
        [-0.19, 0.90],
        [-0.20, 0.37],
        [-0.26, 0.53],
        [-0.29, 0.63],
        [-0.32, 0.73],
    ]
)
_FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
_FINGER_RADII = ((0.060, 0.048), (0.050, 0.040), (0.052, 0.042), (0.049, 0.039), (0.043, 0.034))
_SLEEVES = ((62, 84, 120), (120, 70, 84))  # RGB per hand
SHADE_LO = 0.72  # hand shading: brightness at the silhouette edge (1 at the ridge)
HIGHLIGHT = 25.0  # additive highlight along the ridge of fingers and palm, 0..255


def hand_landmarks_px(
    contact_px: Sequence[float],
    angle_deg: float,
    length_px: float,
    side: str = "right",
    contact: str = "fingertips",
) -> np.ndarray:
    """The 21 landmarks (pixels, (21, 2)) of the rendered hand model.

    The hand is seen from the back, fingers pointing at ``angle_deg`` (0 = up on screen,
    positive clockwise), ``length_px`` from wrist to middle fingertip, and placed so the
    mean of its ``contact`` landmarks is exactly ``contact_px``.
    """
    model = _HAND_MODEL.copy()
    if side == "right":
        model[:, 0] *= -1.0
    a = math.radians(angle_deg)
    fwd = np.array([math.sin(a), -math.cos(a)])
    right = np.array([math.cos(a), math.sin(a)])
    pts = (model[:, :1] * right + model[:, 1:] * fwd) * float(length_px)
    idx = list(FINGERTIP_LANDMARKS if contact == "fingertips" else PALM_LANDMARKS)
    return pts - pts[idx].mean(axis=0) + np.asarray(contact_px, dtype=np.float64)


def _ipt(p: np.ndarray) -> tuple[int, int]:
    return int(p[0]), int(p[1])


def _draw_sleeve(img: np.ndarray, quad_px: np.ndarray, rgb: Sequence[int]) -> None:
    """A sleeve (4-point polygon: two wrist-side corners, two far corners) drawn straight into
    ``img`` as three nested bands, darker at the edges, so it reads as a rounded arm."""
    q = np.asarray(quad_px, dtype=np.float64)
    mid_near, mid_far = (q[0] + q[3]) / 2.0, (q[1] + q[2]) / 2.0
    for inset, shade in ((0.0, 0.72), (0.22, 0.86), (0.45, 1.0)):
        band = np.array(
            [
                q[0] + (mid_near - q[0]) * inset,
                q[1] + (mid_far - q[1]) * inset,
                q[2] + (mid_far - q[2]) * inset,
                q[3] + (mid_near - q[3]) * inset,
            ]
        )
        colour = tuple(float(c) * shade for c in rgb)
        cv2.fillPoly(img, [_cv(band)], colour, cv2.LINE_AA, _SUBPIX)


_CREASE_JOINTS = np.array([6, 7, 10, 11, 14, 15, 18, 19])  # knuckle creases across these joints
_TIPS = np.array(FINGERTIP_LANDMARKS)


def _arm_outline(lm: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Palm polygon (9, 2), bare forearm (4, 2) and sleeve (4, 2) around landmarks ``lm``."""
    fwd = lm[9] - lm[0]
    fwd = fwd / max(float(np.hypot(*fwd)), 1e-9)
    across = np.array([-fwd[1], fwd[0]]) * length
    a0, a1 = lm[0] + across * 0.16, lm[0] - across * 0.16
    cuff, far = fwd * 0.35 * length, fwd * 2.0 * length
    sleeve = np.array([a0 - cuff, a0 - far + across * 0.05, a1 - far - across * 0.05, a1 - cuff])
    fore = np.array([a0, sleeve[0] - fwd * 2.0, sleeve[3] - fwd * 2.0, a1])
    little_edge = lm[17] + (lm[17] - lm[13]) * 0.25
    palm = np.vstack([lm[0] + across * 0.15, lm[[1, 2, 5, 9, 13, 17]], little_edge,
                      lm[0] - across * 0.15])  # fmt: skip
    return palm, fore, sleeve


def _skin_mask(shape: tuple[int, int], pts: np.ndarray, palm: np.ndarray, fore: np.ndarray,
               length: float) -> np.ndarray:  # fmt: skip
    """Silhouette of palm, forearm and tapered round-tipped fingers; points are fixed-point
    (:func:`_cv`) in the mask's coordinates, ``pts`` the 21 landmarks and the thumb base."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [cv2.convexHull(palm)], 255, cv2.LINE_8, _SUBPIX)
    cv2.fillPoly(mask, [fore], 255, cv2.LINE_8, _SUBPIX)
    for chain, (r_base, r_tip) in zip(_FINGERS, _FINGER_RADII, strict=True):
        joints = [pts[21] if chain[0] == 1 else pts[chain[0]]] + [pts[i] for i in chain[1:]]
        n = len(joints) - 1
        for k in range(n):
            thick = max(1, round(2 * (r_base + (r_tip - r_base) * (k + 0.5) / n) * length))
            cv2.line(mask, _ipt(joints[k]), _ipt(joints[k + 1]), 255, thick, cv2.LINE_8, _SUBPIX)
        radius = round(r_tip * length * _SCALE)
        cv2.circle(mask, _ipt(joints[-1]), radius, 255, -1, cv2.LINE_8, _SUBPIX)
    return mask


def _shaded_skin(mask: np.ndarray, length: float, skin_rgb: Sequence[int]) -> np.ndarray:
    """Skin colour (float32 RGB) shaded from the distance to the silhouette: fingers read as
    tubes with a highlight along the ridge, the palm as a shallow dome."""
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    tube_px, dome_px = 0.05 * length, 0.1 * length
    tube = cv2.sqrt(np.minimum(dist, tube_px) * (1.0 / tube_px))  # 0 at the edge, 1 inside
    dome = np.minimum(cv2.blur(dist, (5, 5)), dome_px) * (0.1 / dome_px) + 0.9
    shade = cv2.multiply(tube * (1.0 - SHADE_LO) + SHADE_LO, dome)
    ridge = cv2.multiply(tube, tube)
    highlight = cv2.multiply(ridge, ridge, scale=HIGHLIGHT)
    return cv2.merge([cv2.scaleAdd(shade, float(c), highlight) for c in skin_rgb])


def _knuckles_and_nails(colour: np.ndarray, local: np.ndarray, length: float,
                        skin_rgb: Sequence[int]) -> None:  # fmt: skip
    """Darker creases across the finger joints and lighter nails (the hand is seen from the
    back), drawn into ``colour``; ``local`` are the landmarks in its pixel coordinates."""
    side = local[_CREASE_JOINTS + 1] - local[_CREASE_JOINTS - 1]
    side = side[:, ::-1] * (-1.0, 1.0) / np.hypot(side[:, 0], side[:, 1])[:, None]
    side *= 0.03 * length
    ends = _cv(np.vstack([local[_CREASE_JOINTS] - side, local[_CREASE_JOINTS] + side]))
    crease = tuple(0.72 * float(c) for c in skin_rgb)
    thick = max(1, round(0.008 * length))
    for a, b in zip(ends[: len(side)], ends[len(side) :], strict=True):
        cv2.line(colour, _ipt(a), _ipt(b), crease, thick, cv2.LINE_AA, _SUBPIX)
    tip_dir = local[_TIPS] - local[_TIPS - 1]
    centres = _cv(local[_TIPS - 1] + tip_dir * 0.55)
    nail = tuple(float(min(255.0, c * 1.08 + 14.0)) for c in skin_rgb)
    for centre, d in zip(centres, tip_dir, strict=True):
        axes = (int(np.hypot(*d) * 0.45 * _SCALE), int(0.028 * length * _SCALE))
        angle = math.degrees(math.atan2(d[1], d[0]))
        cv2.ellipse(colour, _ipt(centre), axes, angle, 0, 360, nail, -1, cv2.LINE_AA, _SUBPIX)


def draw_hand(
    img: np.ndarray,
    landmarks_px: np.ndarray,
    skin_rgb: Sequence[int],
    sleeve_rgb: Sequence[int] = _SLEEVES[0],
) -> None:
    """Draw the hand whose landmarks are ``landmarks_px`` (21, 2, pixels) into ``img`` (RGB,
    in place): a sleeve, a short bare forearm, a palm polygon and tapered fingers with round
    tips, shaded so they read as rounded, with knuckle creases and nails. The per-pixel work
    stays inside the hand's bounding box (about 1 ms for a 130 px hand)."""
    lm = np.asarray(landmarks_px, dtype=np.float64)
    h, w = img.shape[:2]
    length = float(np.hypot(*(lm[12] - lm[0])))
    palm, fore, sleeve = _arm_outline(lm, length)
    _draw_sleeve(img, sleeve, sleeve_rgb)
    every = np.vstack([lm, palm, fore])
    margin = int(0.07 * length) + 3
    x0, y0 = max(int(every[:, 0].min()) - margin, 0), max(int(every[:, 1].min()) - margin, 0)
    x1, y1 = min(int(every[:, 0].max()) + margin, w), min(int(every[:, 1].max()) + margin, h)
    if x1 <= x0 or y1 <= y0:
        return
    local = lm - (x0, y0)
    thumb_base = local[0] + (local[1] - local[0]) * 0.3
    pts = _cv(np.vstack([local, thumb_base[None]]))
    mask = _skin_mask((y1 - y0, x1 - x0), pts, _cv(palm - (x0, y0)), _cv(fore - (x0, y0)), length)
    colour = _shaded_skin(mask, length, skin_rgb)
    _knuckles_and_nails(colour, local, length, skin_rgb)
    alpha = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32) * (1.0 / 255.0)
    roi = img[y0:y1, x0:x1]
    roi[:] = cv2.blendLinear(np.clip(colour, 0, 255).astype(np.uint8), roi, alpha, 1.0 - alpha)
