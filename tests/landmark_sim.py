"""Landmark-level field conditions for fast robustness tests (no video, no MediaPipe).

A :class:`coach.synth.Sample` knows the exact 21 landmarks of every rendered hand in
every frame. This module turns them into the :class:`HandObservation` stream that
MediaPipe would give under field conditions: a constant bias and jitter of the
tracked points, a second hand resting on the doll, a camera tilt, calibration
errors, human (bell-shaped, drifting) timing. The coaching pipeline is then run on
that stream with :func:`run`; the video and the landmarker are skipped, so a case
costs a fraction of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.contact import contact_point
from coach.core.pipeline import Coach, SessionResult
from coach.core.strokes import load_stroke
from coach.core.types import HandObservation
from coach.samples.synth import RestingHand, Sample


@dataclass(frozen=True)
class Field:
    """Field conditions, in tummy-box widths unless said otherwise."""

    bias_box: tuple[float, float] = (0.0, 0.0)  # constant offset of every landmark (image x, y)
    jitter_box: float = 0.0  # std of a per-frame offset of the whole hand
    jitter_hz: float = 8.0  # the jitter is low-pass noise up to about this frequency
    # A second hand resting here (true body frame). One-hand strokes only: where the hands
    # take turns (the water wheel) there is no third hand (see :func:`resting`).
    rest_uv: tuple[float, float] | None = None
    rest_drift_box: float = 0.01  # the resting hand's small sway
    swap_at_s: float | None = None  # from here on, the resting hand and the stroking hand swap
    box_scale: float = 1.0  # the calibration box is this many times the true one
    box_shift_box: tuple[float, float] = (0.0, 0.0)  # ... and shifted by this (image x, y)
    tilt_deg: float = 0.0  # camera tilted towards the feet: the tummy a trapezoid
    hand_turn_deg: float = 0.0  # the hand turns by up to this during a stroke
    dropout: float = 0.0  # fraction of frames where the hand is missed
    first_hand_is_rest: bool = True  # the detector lists the resting hand first
    # The stroking hand passing over the resting one: while their contact points are
    # closer than this, the detector sees one hand, the resting one as the stroking hand
    # comes and the stroking one as it leaves; the resting hand is found again
    # ``rest_hidden_s`` after they part (the trackers then swap the two hands).
    cross_box: float = 0.0
    rest_hidden_s: float = 0.6
    # The detector misses the stroking hand for ``miss_s`` at the start of every
    # ``miss_every_s`` (a hand half hidden, blurred): the trackers hold its last point.
    miss_s: float = 0.0
    miss_every_s: float = 1.0
    # ... and then misses the resting hand for this long (where two hands overlap the
    # detector sees one of them, now one, now the other).
    miss_rest_s: float = 0.0
    # The stroking hand covers the resting one from the camera: outside the crossing,
    # while their contact points are closer than this, the resting hand is not seen.
    cover_box: float = 0.0
    seed: int = 0


def _box_norm(sample: Sample) -> float:
    """Tummy-box width in normalised image x units."""
    return sample.scene.box_px / sample.size[0]


def _tilt(xy: np.ndarray, centre: np.ndarray, deg: float) -> np.ndarray:
    """A simple perspective: points further towards the top of the picture shrink."""
    if deg == 0:
        return xy
    k = math.tan(math.radians(deg)) * 0.9
    d = xy - centre
    scale = 1.0 / (1.0 + k * (-d[..., 1:2]))  # y up (smaller y) is further away
    return centre + d * scale


def resting(stroke_id: str, cond: Field) -> tuple[dict, Field]:
    """The :class:`Sample` options and the field that play ``cond`` on ``stroke_id``.

    Where both hands take turns at the stroke (the water wheel), a parent has no third
    hand to rest on the doll, and a landmarker asked for two hands would never report
    one: there ``rest_uv`` is where each hand rests between its turns (on its own side
    of the body), part of the performance (:class:`RestingHand`), not a hand added to
    the stream. Other strokes: ``cond`` as it is."""
    if cond.rest_uv is None or not load_stroke(stroke_id).per_hand:
        return {}, cond
    return {"rest": RestingHand(uv=cond.rest_uv)}, replace(cond, rest_uv=None)


def observations(sample: Sample, cond: Field) -> list[tuple[HandObservation | None, float]]:
    """The observation stream of ``sample`` under ``cond``."""
    if cond.rest_uv is not None and len(sample.hand_landmarks(0)) > 1:
        raise ValueError(
            "rest_uv adds a hand to a performance that has two already (a landmarker asked "
            "for two hands never reports three): give the Sample a RestingHand (resting())"
        )
    rng = np.random.default_rng(cond.seed)
    w, h = sample.size
    bw = _box_norm(sample)
    aspect = np.array([1.0, w / h])  # box widths -> normalised (x, y): y units are smaller
    bias = np.array(cond.bias_box) * bw * aspect
    n = sample.n_frames
    # Low-pass jitter: white noise smoothed with a one-pole filter, rescaled to the std.
    white = rng.normal(size=(n, 2))
    fps = sample.fps
    a = 1.0 - math.exp(-2 * math.pi * cond.jitter_hz / fps)
    jit = np.zeros_like(white)
    for i in range(n):
        jit[i] = (1 - a) * jit[i - 1] + a * white[i] if i else white[i]
    std = jit.std(axis=0)
    std[std == 0] = 1.0
    jit = jit / std * cond.jitter_box * bw * aspect
    centre = np.array(sample.truth.tummy_box).reshape(2, 2).mean(axis=0)
    rest = None
    if cond.rest_uv is not None:
        frame = sample.truth.body_frame()
        rest_xy = frame.to_xy(np.array(cond.rest_uv))
        proto = None
        for i in range(n):
            lm = sample.hand_landmarks(i)[0]
            if lm is not None:
                proto = lm
                break
        assert proto is not None
        tips = proto[[8, 12, 16, 20]].mean(axis=0)
        rest = proto - tips + rest_xy
    out: list[tuple[HandObservation | None, float]] = []
    last_gap, parted_at = math.inf, -math.inf
    for i in range(n):
        t = sample.timestamp(i)
        hands = [lm for lm in sample.hand_landmarks(i) if lm is not None]
        crossing = None  # None, "coming" or "leaving"
        covered = False
        if (cond.cross_box or cond.cover_box) and rest is not None and hands:
            tips = hands[0][[8, 12, 16, 20]].mean(axis=0)
            rest_tips = rest[[8, 12, 16, 20]].mean(axis=0)
            gap = float(np.linalg.norm((tips - rest_tips) / aspect)) / bw
            if gap < cond.cross_box:
                crossing = "coming" if gap < last_gap else "leaving"
            elif last_gap < cond.cross_box:
                parted_at = t
            covered = gap < cond.cover_box
            last_gap = gap
        phase = t % cond.miss_every_s
        if cond.miss_s and phase < cond.miss_s:
            hands = []
        rest_missed = cond.miss_s <= phase < cond.miss_s + cond.miss_rest_s
        if cond.hand_turn_deg and hands:
            ang = math.radians(cond.hand_turn_deg) * math.sin(2 * math.pi * 0.2 * t)
            c, s = math.cos(ang), math.sin(ang)
            rot = np.array([[c, -s], [s, c]])
            # the part of the hand on the tummy stays there: the hand turns about the
            # stroke's contact point (the fingertips, or the palm for a palm stroke)
            pivots = [
                np.append(contact_point(lm, sample.stroke.contact), 0.0)[: lm.shape[1]]
                for lm in hands
            ]
            hands = [
                ((lm - p) * aspect) @ rot.T / aspect + p
                for lm, p in zip(hands, pivots, strict=True)
            ]
        if rest is not None:
            sway = cond.rest_drift_box * bw * np.array([math.sin(0.7 * t), math.cos(0.5 * t)])
            r = rest + sway
            stroking = list(hands)
            swapped = cond.swap_at_s is not None and t >= cond.swap_at_s
            if crossing == "coming":
                hands = [r]
            elif crossing == "leaving" or t - parted_at < cond.rest_hidden_s or covered:
                hands = stroking
            elif swapped:
                # the hands trade places: the resting one strokes, the other rests
                hands = [*stroking, r]
            elif cond.first_hand_is_rest:
                hands = [r, *stroking]
            else:
                hands = [*stroking, r]
            if rest_missed:
                hands = [lm for lm in hands if lm is not r]
        if not hands or rng.random() < cond.dropout:
            out.append((None, t))
            continue
        lms = []
        for lm in hands:
            xy = lm + bias + jit[i]
            xy = _tilt(xy, centre, cond.tilt_deg)
            lms.append(np.concatenate([xy, np.zeros((21, 1))], axis=1))
        obs = HandObservation(
            timestamp_s=t,
            landmarks=np.stack(lms),
            scores=np.full(len(lms), 0.9),
            image_size=(w, h),
        )
        out.append((obs, t))
    return out


def calibration(sample: Sample, cond: Field) -> BodyFrame:
    """The body frame a user would calibrate under ``cond`` (box errors included)."""
    tr = sample.truth
    x0, y0, x1, y1 = tr.tummy_box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = (x1 - x0) / 2 * cond.box_scale, (y1 - y0) / 2 * cond.box_scale
    bw = _box_norm(sample)
    w, h = sample.size
    cx += cond.box_shift_box[0] * bw
    cy += cond.box_shift_box[1] * bw * w / h
    box = (cx - hw, cy - hh, cx + hw, cy + hh)
    return BodyFrame.from_box(box, tr.head, tr.mirrored, sample.size)  # type: ignore[arg-type]


def run(sample: Sample, cond: Field = Field()) -> SessionResult:
    """The session the coach makes of ``sample`` under ``cond``."""
    coach = Coach(load_stroke(sample.stroke.id), calibration(sample, cond))
    for obs, t in observations(sample, cond):
        coach.update(obs, t)
    return coach.finish()


def summary(res: SessionResult) -> str:
    reps = ", ".join(
        f"#{r.index} {r.start_s:.1f}-{r.end_s:.1f}s {r.score} "
        f"{'/'.join(r.flags) or 'ok'} segs={[s.segment for s in r.segments]}"
        f" ratio={r.speed_ratio:.2f}"
        for r in res.repetitions
    )
    hints = ", ".join(f"{h.code}@{h.timestamp_s:.1f}" for h in res.hints)
    return f"score {res.score} reps [{reps}] hints [{hints}]"


def _minimum_jerk(tau: np.ndarray) -> np.ndarray:
    return tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)


def human_sample(stroke_id: str, *, tempo_drift: float = 0.15, **options) -> Sample:
    """A :class:`Sample` with human timing: every move speeds up and slows down (the
    minimum-jerk, bell-shaped speed of a reaching hand) and each segment's duration
    drifts by up to ``tempo_drift`` from the plan, repetition to repetition."""
    import coach.samples.choreography as synth

    saved = synth._progress, synth.DURATION_JITTER
    plain = synth._progress

    def bell(profile: str, tau, cycles: int):
        if profile == "linear":
            return _minimum_jerk(np.clip(np.asarray(tau, dtype=np.float64), 0.0, 1.0))
        return plain(profile, tau, cycles)

    try:
        synth._progress, synth.DURATION_JITTER = bell, tempo_drift
        return Sample(stroke_id, **options)
    finally:
        synth._progress, synth.DURATION_JITTER = saved
