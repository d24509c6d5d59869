"""Evaluation clips: field conditions rendered on demand into a cache folder.

A :class:`ClipSpec` names one clip's conditions (stroke, fault, which hand, a second
resting hand, real motion, doll and table colours, resolution, light, blur, camera
tilt, mirroring, head direction, calibration error). :func:`render_clip` renders it with
:class:`coach.synth.Sample` plus frame effects, deterministic by seed, and writes
``<name>.mp4``, the synth's ``<name>.truth.json`` and ``<name>.eval.json`` (the spec, the
calibration a user would give, and the expected verdicts) next to each other.
:func:`clip_set` is the full evaluation set, :func:`fast_subset` the ~20 clips run by
``make test``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import load_stroke
from coach.core.types import HandObservation
from coach.evaluation.cutout import CutoutPainter, load_cutouts
from coach.evaluation.motion import RealMotion
from coach.samples import synth
from coach.vision.video import VideoWriter

#: Bump when clips are made differently: cached clips are then rendered again.
CLIPS_VERSION = 1

PALETTES: dict[str, dict[str, tuple[int, int, int]]] = {
    "default": {},
    "pale": {  # a white doll on a white table
        "BLANKET": (242, 242, 238),
        "DOLL": (250, 247, 242),
        "FABRIC": (236, 236, 230),
        "DIAPER": (252, 252, 252),
    },
    "dark": {  # a dark doll on a dark cloth
        "BLANKET": (58, 48, 46),
        "DOLL": (96, 64, 48),
        "FABRIC": (66, 58, 82),
        "DIAPER": (196, 196, 190),
    },
}

#: Where a resting hand's contact point lies (tummy-box units, u right, v down).
REST_SPOTS: dict[str, tuple[tuple[float, float], float]] = {
    "doll": ((0.22, 0.78), 25.0),  # on the tummy, lower right of the box
    "beside": ((1.45, 0.55), -60.0),  # on the table beside the doll
    "legs": ((0.5, 1.75), 10.0),  # on the doll's legs
}

SKINS: dict[str, tuple[int, int, int]] = {
    "light": (228, 176, 144),
    "medium": (186, 132, 98),
    "dark": (110, 70, 48),
    "very-dark": (72, 48, 36),
}

TILT_FOCAL = 1.2  # camera focal length over the frame width (tilt warp)


@dataclass(frozen=True)
class ClipSpec:
    """One evaluation clip. ``hand``: "drawn" or "cutout" (real photo hands, the
    ``cutout`` index choosing which of the four first). ``conditions`` are the tags the
    report groups by (filled by :func:`tags` when empty)."""

    stroke: str
    fault: str = "none"
    hand: str = "drawn"
    cutout: int = 0
    tint: bool = False  # cut-outs: recolour to ``skin``
    skin: str = "light"
    rest: str | None = None  # a second hand resting: "doll" | "beside" | "legs"
    swap_after: int | None = None  # hands swap roles after this many repetitions
    motion: str = "synth"  # "synth" | "real"
    palette: str = "default"
    size: tuple[int, int] = (640, 480)
    fps: float = 15.0
    head: str = "up"
    mirrored: bool = False
    dim: bool = False
    blur: bool = False
    tilt_deg: float = 0.0
    calib: str = "ok"  # "ok" | "big" | "small" | "shift-x" | "shift-y"
    repetitions: int = 2
    seed: int = 0
    perturb: str | None = None  # tracking noise added to the cached landmarks: PERTURBATIONS
    turn_deg: float = 4.0  # the hand turns to and fro about its contact point by this much
    conditions: tuple[str, ...] = field(default=())

    def with_tags(self) -> ClipSpec:
        return replace(self, conditions=tuple(tags(self)))

    @property
    def name(self) -> str:
        if self.perturb is not None:  # the same clip, noise added to its landmarks
            return f"{self.base().name}+{self.perturb}"
        parts = [self.stroke, self.fault, *[c for c in self.conditions if c != "baseline"]]
        base = "-".join(p.replace(":", "_") for p in parts)
        digest = hashlib.sha256(self.key().encode()).hexdigest()[:6]
        return f"{base}-s{self.seed}-{digest}"

    def base(self) -> ClipSpec:
        """The rendered clip (without the landmark perturbation)."""
        return replace(self, perturb=None).with_tags()

    def key(self) -> str:
        d = asdict(self)
        d.pop("conditions")
        for name, default in _LATER_FIELDS.items():  # keys made before they existed stay
            if d[name] == default:
                d.pop(name)
        d["clips_version"] = CLIPS_VERSION
        d["generator_version"] = synth.GENERATOR_VERSION
        return json.dumps(d, sort_keys=True)


#: Fields added after the first clips were cached, with their defaults.
_LATER_FIELDS = {"perturb": None, "turn_deg": 4.0}


def tags(spec: ClipSpec) -> list[str]:
    """The conditions a clip shows, for the report (``baseline`` when none)."""
    out = []
    if spec.hand == "cutout":
        out.append("hand:real-cutout")
    if spec.skin != "light":
        out.append(f"skin:{spec.skin}")
    if spec.rest:
        out.append(f"rest:{spec.rest}")
    if spec.swap_after is not None:
        out.append("swap-hands")
    if spec.motion == "real":
        out.append("motion:real")
    if spec.palette != "default":
        out.append(f"doll:{spec.palette}")
    if min(spec.size) < 300:
        out.append("low-res")
    if spec.fps != 15.0:
        out.append(f"fps:{spec.fps:g}")
    if spec.head != "up":
        out.append(f"head:{spec.head}")
    if spec.mirrored:
        out.append("mirrored")
    if spec.dim:
        out.append("dim")
    if spec.blur:
        out.append("blur")
    if spec.tilt_deg:
        out.append(f"tilt:{spec.tilt_deg:g}")
    if spec.calib != "ok":
        out.append(f"calib:{spec.calib}")
    if spec.turn_deg != 4.0:
        out.append(f"turn:{spec.turn_deg:g}")
    if spec.perturb is not None:
        out.append(f"noise:{spec.perturb}")
    return out or ["baseline"]


#: Tracking noise and bias added to every hand's landmarks (issue 10 point 2: jitter up to
#: 0.15 box standard deviation, a constant bias up to 0.25 box in any direction). Jitter is
#: independent per frame and per axis (standard deviation in box widths), bias a constant
#: (du, dv) in box widths (v towards the feet).
PERTURBATIONS: dict[str, dict] = {
    "jitter-0.10": {"jitter_box": 0.10},
    "jitter-0.15": {"jitter_box": 0.15},
    "bias-0.20-feet": {"bias_uv": (0.0, 0.20)},
    "bias-0.25-head": {"bias_uv": (0.0, -0.25)},
    "bias-0.25-side": {"bias_uv": (0.25, 0.0)},
    "jitter-0.10+bias-0.20-feet": {"jitter_box": 0.10, "bias_uv": (0.0, 0.20)},
}


def perturb_observations(records, perturb: str, body_frame, seed: int):
    """``records`` [(t, HandObservation | None)] with :data:`PERTURBATIONS` ``[perturb]``
    applied to every hand (all 21 landmarks of a hand move together), deterministic by
    ``seed``."""

    p = PERTURBATIONS[perturb]
    rng = np.random.default_rng(seed)
    origin = body_frame.to_xy(np.array([0.5, 0.5]))
    du = body_frame.to_xy(np.array([1.5, 0.5])) - origin  # one box width along u, normalised
    dv = body_frame.to_xy(np.array([0.5, 1.5])) - origin
    bias = np.asarray(p.get("bias_uv", (0.0, 0.0)), dtype=np.float64)
    sigma = float(p.get("jitter_box", 0.0))
    out = []
    for t, obs in records:
        if obs is None:
            out.append((t, None))
            continue
        noise = bias + sigma * rng.standard_normal((obs.n_hands, 2))
        shift = noise[:, :1] * du + noise[:, 1:] * dv  # (hands, 2) normalised image
        lm = obs.landmarks.copy()
        lm[:, :, :2] += shift[:, None, :]
        out.append((t, HandObservation(obs.timestamp_s, lm, obs.scores, obs.image_size)))
    return out


# =================================================================================================
# Frame effects
# =================================================================================================


def tilt_homography(size: tuple[int, int], tilt_deg: float) -> np.ndarray:
    """3x3 homography (continuous pixels) of the same table seen by a camera tilted by
    ``tilt_deg`` about the horizontal axis through the frame centre: the far (top) side
    shrinks, so the tummy becomes a trapezoid. The bottom corners stay where they were."""
    w, h = size
    f = TILT_FOCAL * w
    a = math.radians(tilt_deg)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    rel = corners - (w / 2.0, h / 2.0)
    # rotate the plane about the x axis, project with focal length f
    y, z = rel[:, 1] * math.cos(a), f - rel[:, 1] * math.sin(a)  # the top is farther
    proj = np.stack([rel[:, 0] * f / z, y * f / z], axis=1)
    # scale and move so the bottom edge keeps its width and place
    s = w / (proj[2, 0] - proj[3, 0])
    proj = proj * s
    proj += np.array([w / 2.0, h]) - np.array([0.0, proj[2, 1]])
    return cv2.getPerspectiveTransform(corners.astype(np.float32), proj.astype(np.float32))


def warp_points(hmat: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    q = np.hstack([p, np.ones((len(p), 1))]) @ hmat.T
    return q[:, :2] / q[:, 2:3]


def warp_frame(img: np.ndarray, hmat: np.ndarray) -> np.ndarray:
    """``img`` seen through ``hmat`` (continuous pixel coordinates); the rest filled with
    the table's colour (the median of the frame's corners)."""
    h, w = img.shape[:2]
    to_idx = np.array([[1.0, 0, -0.5], [0, 1.0, -0.5], [0, 0, 1.0]])
    from_idx = np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1.0]])
    m = to_idx @ hmat @ from_idx
    corners = np.array([img[0, 0], img[0, -1], img[-1, 0], img[-1, -1]], dtype=np.float64)
    fill = tuple(float(c) for c in np.median(corners, axis=0))
    return cv2.warpPerspective(
        img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill
    )


def dim_frame(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dim room: exposure down to about a third, gamma, sensor noise."""
    x = (img.astype(np.float32) / 255.0) ** 1.15 * 0.38
    x = x * 255.0 + rng.normal(0.0, 3.0, size=img.shape).astype(np.float32)
    return np.clip(x, 0, 255).astype(np.uint8)


def blur_frame(img: np.ndarray, velocity_px: np.ndarray, exposure: float = 1.0) -> np.ndarray:
    """Motion blur along ``velocity_px`` (pixels per frame) over ``exposure`` frames."""
    v = np.asarray(velocity_px, dtype=np.float64) * exposure
    length = float(np.hypot(*v))
    if not math.isfinite(length) or length < 1.5:
        return img
    n = int(min(31, math.ceil(length))) | 1
    kernel = np.zeros((n, n), np.float32)
    c = n // 2
    d = v / length * (n / 2.0 - 0.5)
    cv2.line(
        kernel,
        (int(round(c - d[0])), int(round(c - d[1]))),
        (int(round(c + d[0])), int(round(c + d[1]))),
        1.0,
        1,
        cv2.LINE_AA,
    )
    kernel /= kernel.sum()
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE)


# =================================================================================================
# Calibration
# =================================================================================================


def calibration_box(
    box: tuple[float, float, float, float], size: tuple[int, int], tilt_deg: float, calib: str
) -> tuple[float, float, float, float]:
    """The tummy box a user would give for a clip: the box of the stored frame, through the
    tilt (the bounding box of the trapezoid), then the calibration error (20% too big or too
    small, or shifted by 0.15 box width to the right or down)."""
    w, h = size
    x0, y0, x1, y1 = box
    if tilt_deg:
        corners = np.array([[x0 * w, y0 * h], [x1 * w, y0 * h], [x1 * w, y1 * h], [x0 * w, y1 * h]])
        q = warp_points(tilt_homography(size, tilt_deg), corners)
        x0, y0 = q.min(axis=0) / (w, h)
        x1, y1 = q.max(axis=0) / (w, h)
    cx, cy, bw, bh = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if calib == "big":
        bw, bh = bw * 1.2, bh * 1.2
    elif calib == "small":
        bw, bh = bw * 0.8, bh * 0.8
    elif calib == "shift-x":
        cx += 0.15 * bw
    elif calib == "shift-y":
        cy += 0.15 * bh
    elif calib != "ok":
        raise ValueError(f"calib: expected ok, big, small, shift-x or shift-y, found {calib!r}")
    out = (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)
    return tuple(round(float(c), 4) for c in out)  # type: ignore[return-value]


# =================================================================================================
# Rendering
# =================================================================================================


def make_sample(spec: ClipSpec, cache_dir: Path) -> synth.Sample:
    """The :class:`coach.synth.Sample` of a spec (cut-outs loaded from ``cache_dir``)."""
    rest = None
    if spec.rest is not None or spec.swap_after is not None:
        uv, angle = REST_SPOTS[spec.rest or "doll"]
        rest = synth.RestingHand(uv=uv, angle_deg=angle, swap_after=spec.swap_after)
    stroke = load_stroke(spec.stroke)
    painter = None
    if spec.hand == "cutout":
        cuts = load_cutouts(cache_dir)
        order = [cuts[(spec.cutout + k) % len(cuts)] for k in range(len(cuts))]
        painter = CutoutPainter(order, stroke.contact, tint_skin=spec.tint)
    return synth.Sample(
        stroke,
        fault=spec.fault,
        head=spec.head,  # type: ignore[arg-type]
        mirrored=spec.mirrored,
        size=spec.size,
        fps=spec.fps,
        repetitions=spec.repetitions,
        skin=SKINS[spec.skin],
        seed=spec.seed,
        motion=RealMotion(spec.seed + 101) if spec.motion == "real" else None,
        rest=rest,
        palette=PALETTES[spec.palette],
        hand_painter=painter,
        hand_turn_deg=spec.turn_deg,
    )


def expected(spec: ClipSpec, truth: synth.SampleTruth, box, head: str) -> dict:
    """The ``<name>.eval.json`` content: what a user passes and what the coach must say."""
    return {
        "schema": "coach.eval-clip/1",
        "name": spec.name,
        "spec": {**asdict(spec), "conditions": list(spec.conditions)},
        "stroke": spec.stroke,
        "fault": spec.fault,
        "conditions": list(spec.conditions),
        "tummy_box": list(box),
        "head": head,
        "mirrored": spec.mirrored,
        "duration_s": truth.duration_s,
        "expected_flags": list(truth.expected_flags),
        "repetitions": [
            {
                "index": r.index,
                "hand": r.hand,
                "start_s": r.start_s,
                "end_s": r.end_s,
                "flags": list(r.flags),
            }
            for r in truth.repetitions
        ],
    }


def clip_paths(spec: ClipSpec, cache_dir: Path) -> tuple[Path, Path]:
    video = Path(cache_dir) / f"{spec.base().name}.mp4"
    return video, video.with_suffix(".eval.json")


def render_clip(spec: ClipSpec, cache_dir: Path) -> Path:
    """Render ``spec`` into ``cache_dir`` unless it is there already; returns the video path.
    Written under temporary names and renamed when complete."""
    spec = spec.base()
    video, info = clip_paths(spec, cache_dir)
    if video.is_file() and info.is_file():
        return video
    cache_dir.mkdir(parents=True, exist_ok=True)
    sample = make_sample(spec, cache_dir)
    truth = sample.truth
    w, h = sample.size
    hmat = tilt_homography((w, h), spec.tilt_deg) if spec.tilt_deg else None
    rng = np.random.default_rng(spec.seed + 4049)
    # the stroking hand's velocity (stored frame pixels per frame) for motion blur
    uv = truth.contact_uv
    tmp = video.with_name(f".{video.stem}.{os.getpid()}.part.mp4")
    try:
        with VideoWriter(tmp, sample.fps, sample.size) as writer:
            background = sample.scene.background()
            for i in range(sample.n_frames):
                img = sample.render(i, background)
                if spec.blur and i > 0:
                    img = blur_frame(img, _velocity_px(sample, uv, i))
                if hmat is not None:
                    img = warp_frame(img, hmat)
                if spec.dim:
                    img = dim_frame(img, rng)
                writer.write(img)
        box = calibration_box(truth.tummy_box, (w, h), spec.tilt_deg, spec.calib)
        data = expected(spec, truth, box, truth.head)
        truth.save(video.with_suffix(".truth.json"))
        tmp_info = info.with_name(f".{info.name}.{os.getpid()}.part")
        tmp_info.write_text(json.dumps(data, indent=1))
        os.replace(tmp, video)
        os.replace(tmp_info, info)
    finally:
        tmp.unlink(missing_ok=True)
    return video


def _velocity_px(sample: synth.Sample, uv: np.ndarray, i: int) -> np.ndarray:
    """Velocity of the fastest visible hand between frames i-1 and i (stored pixels)."""
    frame = BodyFrame.from_box(
        sample.truth.tummy_box, sample.truth.head, sample.mirrored, sample.size
    )
    best = np.zeros(2)
    for k in range(uv.shape[1]):
        a, b = uv[i - 1, k], uv[i, k]
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            continue
        v = (frame.to_xy(b) - frame.to_xy(a)) * np.asarray(sample.size, dtype=np.float64)
        if np.hypot(*v) > np.hypot(*best):
            best = v
    return best * 1.5  # a long exposure in a dim room: 1.5 frames


# =================================================================================================
# The evaluation set
# =================================================================================================

FAULTS_1H = ("none", "reversed", "fast", "slow", "incomplete", "off_path")


def _reps(stroke: str, fault: str) -> int:
    # a slow I Love You is a long clip: one repetition tells the pace
    return 1 if (stroke == "i-love-you" and fault == "slow") else 2


def clip_set() -> list[ClipSpec]:
    """The full evaluation set (every spec once, each with its condition tags)."""
    specs: list[ClipSpec] = []

    def add(stroke: str, fault: str = "none", **kw) -> None:
        kw.setdefault("repetitions", _reps(stroke, fault))
        specs.append(ClipSpec(stroke, fault, **kw).with_tags())

    one_hand = ("i-love-you", "sun")
    for s in one_hand:
        for f in FAULTS_1H:
            add(s, f)  # baseline
            add(s, f, motion="real", seed=1)  # real people's timing
        for seed in (2, 3):
            add(s, "none", motion="real", seed=seed)
        for k in range(4):  # each photographed hand, as photographed
            add(s, "none", hand="cutout", cutout=k, seed=k)
        for k, f in enumerate(("reversed", "fast", "slow")):
            add(s, f, hand="cutout", cutout=k + 1, seed=10 + k)
        for k, skin in enumerate(("dark", "very-dark")):
            add(s, "none", hand="cutout", cutout=k, tint=True, skin=skin, seed=20 + k)
        for skin in ("medium", "dark", "very-dark"):
            add(s, "none", skin=skin)
        add(s, "none", skin="dark", palette="dark")
        for spot in ("doll", "beside", "legs"):
            for f in ("none", "reversed", "fast"):
                add(s, f, rest=spot)
        for f in ("none", "reversed"):
            add(s, f, swap_after=1, rest="doll")
        add(s, "none", swap_after=1, rest="beside", motion="real", seed=4)
        for pal in ("pale", "dark"):
            for f in ("none", "reversed"):
                add(s, f, palette=pal)
        for f in ("none", "fast"):
            add(s, f, size=(320, 240))
        add(s, "none", size=(320, 240), dim=True)
        for f in ("none", "reversed"):
            add(s, f, dim=True)
            add(s, f, mirrored=True)
        for f in ("none", "slow"):
            add(s, f, blur=True)
        for head in ("down", "left", "right"):
            for f in ("none", "reversed"):
                add(s, f, head=head)
        for tilt in (20.0, 35.0):
            for f in ("none", "reversed"):
                add(s, f, tilt_deg=tilt)
        for calib in ("big", "small", "shift-x", "shift-y"):
            add(s, "none", calib=calib)
        for calib in ("big", "small"):
            add(s, "reversed", calib=calib)
        add(s, "none", fps=30.0)
        for f in ("none", "reversed"):
            add(s, f, turn_deg=30.0)
        # the field cases, combined
        add(s, "none", palette="pale", hand="cutout", rest="doll", seed=5)
        add(s, "none", palette="dark", skin="dark", motion="real", seed=6)
        add(s, "none", size=(320, 240), dim=True, motion="real", seed=7)
        add(s, "none", palette="pale", head="down", mirrored=True)
    for f in ("none", "reversed", "fast", "slow", "incomplete"):
        add("sun-moon", f, repetitions=2)
    add("sun-moon", "none", head="down", mirrored=True)
    add("sun-moon", "none", palette="dark", skin="dark")
    for f in ("none", "reversed", "fast", "slow", "incomplete"):
        add("water-wheel", f, repetitions=1)
    add("water-wheel", "none", size=(320, 240), repetitions=1)
    # tracking noise and bias on the landmarks of clean clips (no extra rendering)
    for s in one_hand:
        for f in ("none", "reversed", "fast", "slow"):
            for p in PERTURBATIONS:
                if f == "none" or p in ("jitter-0.15", "bias-0.20-feet"):
                    add(s, f, perturb=p)
        add(s, "none", motion="real", seed=1, perturb="jitter-0.10+bias-0.20-feet")
    names = [s.name for s in specs]
    assert len(names) == len(set(names)), "duplicate evaluation clips"
    return specs


#: Seeds of variant ``k`` are the set's own plus ``k * VARIANT_SEED_STEP``.
VARIANT_SEED_STEP = 1000


def variant(specs: list[ClipSpec], k: int) -> list[ClipSpec]:
    """The same clips drawn again: every seed moved by ``k * VARIANT_SEED_STEP``.

    Seeds choose the stroke's timing wobble, which real person's motion is used, the
    landmark noise and the frame effects, so variant ``k >= 1`` is a set of clips the
    coach was never tuned on, with the same conditions and truths. ``k = 0`` is the set.
    """
    if k < 0:
        raise ValueError(f"variant: expected 0 or more, found {k}")
    return [replace(s, seed=s.seed + k * VARIANT_SEED_STEP).with_tags() for s in specs]


#: The fast subset run by ``make test``: short clips covering the main conditions.
FAST_NAMES_WANTED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sun", "none", ("baseline",)),
    ("sun", "reversed", ("baseline",)),
    ("sun", "fast", ("baseline",)),
    ("sun", "slow", ("baseline",)),
    ("sun", "incomplete", ("baseline",)),
    ("sun", "off_path", ("baseline",)),
    ("sun", "none", ("motion:real",)),
    ("sun", "reversed", ("motion:real",)),
    ("sun", "none", ("hand:real-cutout",)),
    ("sun", "none", ("rest:doll",)),
    ("sun", "none", ("rest:beside",)),
    ("sun", "none", ("rest:doll", "swap-hands")),
    ("sun", "none", ("tilt:35",)),
    ("sun", "none", ("calib:big",)),
    ("sun", "none", ("low-res", "dim")),
    ("sun", "none", ("skin:dark", "doll:dark")),
    ("sun", "none", ("head:down",)),
    ("i-love-you", "none", ("baseline",)),
    ("i-love-you", "fast", ("baseline",)),
    ("i-love-you", "fast", ("rest:doll",)),
    ("sun", "none", ("noise:jitter-0.15",)),
    ("i-love-you", "none", ("noise:bias-0.20-feet",)),
)


def fast_subset() -> list[ClipSpec]:
    """About 20 short clips of :func:`clip_set` (the first match of each wanted entry)."""
    specs = clip_set()
    out = []
    for stroke, fault, conds in FAST_NAMES_WANTED:
        for s in specs:
            if s.stroke == stroke and s.fault == fault and s.conditions == conds and s not in out:
                out.append(s)
                break
        else:
            raise ValueError(f"fast subset: no clip {stroke} {fault} {conds}")
    return out
