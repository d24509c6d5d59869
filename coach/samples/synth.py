"""Synthetic practice clips: a doll on its back and a rendered hand performing a stroke.

Used by integration tests (clip -> ``coach score`` -> the verdict must match the
fault), by ``make run`` when there is no webcam, as a fake webcam for the browser
test, and by the benchmark. Every clip comes with exact ground truth
(:class:`SampleTruth`, written next to the video as ``<name>.truth.json``).

Conventions
-----------
* A *performance* is a timeline of contact points in the tummy box ``(u, v)``
  (strokes.md section 1), one track per hand. The rendered hand is placed so that
  its contact point (mean of the four fingertip landmarks 8, 12, 16, 20, or of
  the palm landmarks 0, 5, 9, 13, 17: strokes.md section 2) lies exactly on the
  track's point.
* The doll and the hands are drawn in true geometry; a mirrored clip is the true
  picture flipped left-right. The truth's ``tummy_box`` and ``head`` describe the
  frame *as stored*, exactly what a user passes as ``--tummy``/``--head``/``--mirrored``.
* Pixel coordinates are continuous (pixel ``i`` covers ``[i, i + 1)``), so a
  normalised point ``x`` sits at ``x * width`` and mirroring is ``x -> 1 - x``.
* Time ``t`` of frame ``i`` is ``i / fps`` (the container timestamps of
  :class:`coach.video.VideoWriter`; 29.97 is taken as exactly 30000/1001).

This module draws with OpenCV only; it never imports mediapipe.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from coach.core.bodyframe import HEAD_DIRECTIONS, BodyFrame, HeadDirection
from coach.core.contact import FINGERTIP_LANDMARKS, PALM_LANDMARKS
from coach.core.strokes import Segment, StrokeDefinition, load_stroke
from coach.storage import paths
from coach.storage.atomic import atomic_path
from coach.vision.video import VideoWriter, frame_rate

#: Bump when the rendering or the choreography changes, so cached samples are rebuilt.
GENERATOR_VERSION = 3

#: Performance faults the generator can act out.
FAULTS: tuple[str, ...] = (
    "none",  # correct: nominal pace with a small human-like variation
    "reversed",  # every segment backwards (circles anticlockwise, letters end to start)
    "fast",  # 3x faster than nominal
    "slow",  # 3x slower than nominal
    "incomplete",  # every segment stops at half its path
    "off_path",  # the whole performance shifted clearly away from the reference
    "jerky",  # stop-and-go along the path, same overall duration
    "no_hand",  # the hand leaves the picture for a long stretch
)

#: Duration factor (actual / nominal) of each segment, per fault.
DURATION_FACTORS = {"fast": 1.0 / 3.0, "slow": 3.0}

#: Named skin tones (RGB). ``skin`` also accepts any RGB triple.
SKIN_TONES: dict[str, tuple[int, int, int]] = {
    "light": (228, 176, 144),
    "dark": (110, 70, 48),
}

#: Flags the scorer must raise for each fault (strokes.md section 5).
FAULT_FLAGS: dict[str, tuple[str, ...]] = {
    "none": (),
    "reversed": ("wrong_direction",),
    "fast": ("too_fast",),
    "slow": ("too_slow",),
    "incomplete": ("incomplete",),
    "off_path": ("off_path",),
    "jerky": ("jerky",),
    "no_hand": (),  # a session-level finding, see SampleTruth.session_flags
}

# -- choreography constants (seconds, tummy-box units) ------------------------------------------
LEAD_IN_S = 0.6  # the hand rests on the first start point before the first repetition
PAUSE_S = 0.3  # still contact at the start and end of each segment
LAND_S = 0.4  # two-hand strokes: the next hand lands this long before it starts moving
TRANSITION_S = (0.8, 1.2)  # lifted move between segments, drawn per transition from the seed
NO_HAND_S = 6.0  # no_hand fault: how long the hand stays out of the picture
TAIL_S = 0.6  # rest after the last repetition
DURATION_JITTER = 0.05  # human-like variation of segment durations: factor in [1 - j, 1 + j]
WOBBLE_BOX = 0.008  # human-like wobble of the contact point while stroking
INCOMPLETE_FRACTION = 0.5  # incomplete fault: fraction of each path performed
OFF_PATH_SHIFT_BOX = 0.45  # off_path fault: smallest shift
OFF_PATH_MAX_SHIFT_BOX = 0.7  # off_path fault: largest shift
OFF_PATH_MARGIN_BOX = 0.05  # off_path fault: how far beyond the stroke's off_path_box to go
JERKY_HZ = 2.0  # jerky fault: stop-and-go cycles per second
LIFT_SCALE = 0.08  # a lifted hand is drawn this much larger (closer to the camera)

# -- scene layout ---------------------------------------------------------------------------------
BOX_FRACTION = 0.28  # tummy box side / smaller frame dimension
FEET_ROOM_BOXES = 2.0  # room from the box centre to the frame edge on the feet side, box widths
HEAD_ROOM_FRACTION = 0.35  # the box centre is at least this far from the head edge (frame fraction)
HAND_LENGTH_BOX = 0.95  # wrist to middle fingertip, tummy-box widths
_HEAD_ANGLE_DEG = {"up": 0.0, "right": 90.0, "down": 180.0, "left": 270.0}  # clockwise on screen


# =================================================================================================
# Ground truth
# =================================================================================================


@dataclass(frozen=True)
class SegmentTruth:
    """One performed segment (letter, circle, arc, paddle) of a repetition."""

    segment: int  # index into the stroke's segments
    hand: int  # which rendered hand performed it (index into the truth's hand arrays)
    start_s: float  # the hand starts moving along the path
    end_s: float  # the hand stops at the end of the performed path
    duration_s: float  # end_s - start_s
    nominal_s: float  # the segment's nominal duration (for its full path)
    reversed: bool
    coverage: float  # fraction of the reference path performed, 0..1


@dataclass(frozen=True)
class RepetitionTruth:
    """One repetition and the verdict the scorer should give it (contract.md names)."""

    index: int
    hand: int  # the hand that performed it (the first segment's hand for two-hand strokes)
    start_s: float
    end_s: float
    duration_s: float  # sum of the segments' moving time (pauses and transitions excluded)
    nominal_s: float  # sum of the segments' nominal durations
    speed_ratio: float  # mean contact speed over the nominal speed
    direction: str  # "ok" | "wrong"
    pace: str  # "ok" | "too_fast" | "too_slow"
    flags: tuple[str, ...]
    segments: tuple[SegmentTruth, ...] = ()


@dataclass(frozen=True)
class SampleTruth:
    """Everything known about a generated clip.

    Per-frame arrays: ``timestamps_s`` (n,), ``contact_uv`` (n, hands, 2) with NaN
    where a hand is out of the picture, ``visible`` and ``touching`` (n, hands) bool.
    Hand 0 is the main hand (the sun hand for sun-moon, the first paddling hand for
    water-wheel).
    """

    stroke: str
    fault: str
    head: str  # as seen in the stored frame (what --head says)
    mirrored: bool
    tummy_box: tuple[float, float, float, float]  # stored-frame normalised x0, y0, x1, y1
    fps: float
    size: tuple[int, int]  # (width, height) pixels
    frames: int
    duration_s: float
    contact: str  # "fingertips" | "palm"
    hands: int  # number of rendered hands
    skin: str
    seed: int
    repetitions: tuple[RepetitionTruth, ...]
    session_flags: tuple[str, ...]  # session-level findings the report must hold (no_hand)
    expected_flags: tuple[str, ...]  # flags every repetition must carry
    no_hand_spans: tuple[tuple[float, float], ...]  # (start_s, end_s) with no hand in the picture
    off_path_shift_uv: tuple[float, float]
    timestamps_s: np.ndarray = field(repr=False)
    contact_uv: np.ndarray = field(repr=False)
    visible: np.ndarray = field(repr=False)
    touching: np.ndarray = field(repr=False)
    generator_version: int = GENERATOR_VERSION

    @property
    def cli_args(self) -> tuple[str, ...]:
        """Calibration options a user would pass to ``coach score`` for this clip."""
        box = ",".join(f"{c:.4f}" for c in self.tummy_box)
        args = ("--stroke", self.stroke, "--tummy", box, "--head", self.head)
        return (*args, "--mirrored") if self.mirrored else args

    def body_frame(self) -> BodyFrame:
        """The body frame of the stored frames, built exactly as ``coach score`` would."""
        return BodyFrame.from_box(self.tummy_box, self.head, self.mirrored, self.size)  # type: ignore[arg-type]

    @property
    def box_width_px(self) -> float:
        return float(self.body_frame().box_width_px)

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN becomes null)."""
        uv = self.contact_uv.round(5).astype(object)
        uv[~np.isfinite(self.contact_uv)] = None
        return {
            "schema": "coach.sample-truth/1",
            "generator_version": self.generator_version,
            "stroke": self.stroke,
            "fault": self.fault,
            "head": self.head,
            "mirrored": self.mirrored,
            "tummy_box": list(self.tummy_box),
            "cli_args": list(self.cli_args),
            "fps": self.fps,
            "size": list(self.size),
            "frames": self.frames,
            "duration_s": self.duration_s,
            "contact": self.contact,
            "hands": self.hands,
            "skin": self.skin,
            "seed": self.seed,
            "expected_flags": list(self.expected_flags),
            "session_flags": list(self.session_flags),
            "no_hand_spans": [list(s) for s in self.no_hand_spans],
            "off_path_shift_uv": list(self.off_path_shift_uv),
            "repetitions": [_repetition_to_dict(r) for r in self.repetitions],
            "timestamps_s": [round(float(t), 6) for t in self.timestamps_s],
            "contact_uv": uv.tolist(),
            "visible": self.visible.tolist(),
            "touching": self.touching.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SampleTruth:
        try:
            uv = np.array(
                [[[np.nan, np.nan] if p is None else p for p in row] for row in data["contact_uv"]],
                dtype=np.float64,
            ).reshape(-1, int(data["hands"]), 2)
            return cls(
                stroke=data["stroke"],
                fault=data["fault"],
                head=data["head"],
                mirrored=bool(data["mirrored"]),
                tummy_box=tuple(float(c) for c in data["tummy_box"]),  # type: ignore[arg-type]
                fps=float(data["fps"]),
                size=(int(data["size"][0]), int(data["size"][1])),
                frames=int(data["frames"]),
                duration_s=float(data["duration_s"]),
                contact=data["contact"],
                hands=int(data["hands"]),
                skin=data["skin"],
                seed=int(data["seed"]),
                repetitions=tuple(_repetition_from_dict(r) for r in data["repetitions"]),
                session_flags=tuple(data["session_flags"]),
                expected_flags=tuple(data["expected_flags"]),
                no_hand_spans=tuple((float(a), float(b)) for a, b in data["no_hand_spans"]),
                off_path_shift_uv=tuple(float(c) for c in data["off_path_shift_uv"]),  # type: ignore[arg-type]
                timestamps_s=np.array(data["timestamps_s"], dtype=np.float64),
                contact_uv=uv,
                visible=np.array(data["visible"], dtype=bool).reshape(-1, int(data["hands"])),
                touching=np.array(data["touching"], dtype=bool).reshape(-1, int(data["hands"])),
                generator_version=int(data.get("generator_version", 0)),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(
                f"sample truth: expected a coach.sample-truth/1 object ({exc})"
            ) from exc

    def save(self, path: str | os.PathLike) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_dict(), separators=(",", ":")))
        return out

    @classmethod
    def load(cls, path: str | os.PathLike) -> SampleTruth:
        return cls.from_dict(json.loads(Path(path).read_text()))


def _repetition_to_dict(rep: RepetitionTruth) -> dict:
    d = {k: getattr(rep, k) for k in RepetitionTruth.__dataclass_fields__ if k != "segments"}
    d["flags"] = list(rep.flags)
    d["segments"] = [
        {k: getattr(s, k) for k in SegmentTruth.__dataclass_fields__} for s in rep.segments
    ]
    return d


def _repetition_from_dict(d: dict) -> RepetitionTruth:
    segs = tuple(SegmentTruth(**s) for s in d.get("segments", ()))
    fields_ = {
        k: d[k] for k in RepetitionTruth.__dataclass_fields__ if k not in ("segments", "flags")
    }
    return RepetitionTruth(**fields_, flags=tuple(d["flags"]), segments=segs)


def truth_path(video_path: str | os.PathLike) -> Path:
    """Where the ground truth of ``clip.mp4`` lives: ``clip.truth.json``."""
    return Path(video_path).with_suffix(".truth.json")


# =================================================================================================
# Performance: contact-point tracks over time
# =================================================================================================


@dataclass(frozen=True)
class _Move:
    """One piece of one hand's timeline: the contact point runs along ``path`` in [t0_s, t1_s]."""

    t0_s: float
    t1_s: float
    path: np.ndarray  # (n, 2) uv; n == 1 holds still
    touching: bool
    profile: str = "linear"  # "linear" | "jerky" | "ease" | "timed" (points evenly spaced in time)
    cycles: int = 0  # jerky: number of stop-and-go cycles
    visible: bool = True
    lifted: bool = False  # off the tummy: drawn slightly larger (closer to the camera)
    lift_ends: tuple[float, float] = (0.0, 0.0)  # lifted transitions: lift at start and end


class _Track:
    """One hand's timeline, built by appending moves in time order."""

    def __init__(self, start_uv: np.ndarray) -> None:
        self.moves: list[_Move] = []
        self.t_s = 0.0
        self.pos = np.asarray(start_uv, dtype=np.float64)

    def hold(
        self, until_s: float, touching: bool, visible: bool = True, lifted: bool = False
    ) -> None:
        if until_s > self.t_s + 1e-9:
            self.moves.append(
                _Move(
                    self.t_s,
                    until_s,
                    self.pos[None].copy(),
                    touching,
                    visible=visible,
                    lifted=lifted,
                )
            )
            self.t_s = until_s

    def follow(
        self, path: np.ndarray, duration_s: float, profile: str = "linear", cycles: int = 0
    ) -> None:
        """Stroke along ``path`` in contact."""
        self.moves.append(
            _Move(
                self.t_s,
                self.t_s + duration_s,
                np.asarray(path, float),
                True,
                profile=profile,
                cycles=cycles,
            )
        )
        self.t_s += duration_s
        self.pos = np.asarray(path[-1], dtype=np.float64)

    def lift_to(self, waypoints: Sequence[np.ndarray], duration_s: float) -> None:
        """Lifted transition through ``waypoints`` (not judged)."""
        path = np.vstack([self.pos[None], *[np.asarray(w, float)[None] for w in waypoints]])
        self.moves.append(
            _Move(self.t_s, self.t_s + duration_s, path, False, profile="ease", lifted=True)
        )
        self.t_s += duration_s
        self.pos = path[-1].copy()

    def freeze(self) -> tuple[np.ndarray, list[_Move]]:
        """Start times and moves, lifted transitions told how high their neighbours are."""
        moves = list(self.moves)

        def held(m: _Move | None) -> float:
            return 1.0 if m is not None and m.lifted and len(m.path) == 1 else 0.0

        for j, m in enumerate(moves):
            if m.lifted and len(m.path) > 1:
                before = moves[j - 1] if j > 0 else None
                after = moves[j + 1] if j + 1 < len(moves) else None
                moves[j] = replace(m, lift_ends=(held(before), held(after)))
        return np.array([m.t0_s for m in moves]), moves


def _progress(profile: str, tau: np.ndarray | float, cycles: int) -> np.ndarray:
    """Fraction of the path covered at normalised time ``tau`` in [0, 1]."""
    tau = np.clip(np.asarray(tau, dtype=np.float64), 0.0, 1.0)
    if profile == "ease":
        return tau * tau * (3.0 - 2.0 * tau)
    if profile == "jerky":
        # speed ~ (1 - cos)^2: bursts separated by full stops, ``cycles`` of them.
        x = 2.0 * math.pi * max(cycles, 1) * tau
        total = 1.5 * 2.0 * math.pi * max(cycles, 1)
        return (1.5 * x - 2.0 * np.sin(x) + 0.25 * np.sin(2.0 * x)) / total
    return tau


def _along(path: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Points at fractions ``frac`` of the arc length of ``path`` (n, 2)."""
    if len(path) == 1:
        return np.repeat(path, np.size(frac), axis=0)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    s = np.asarray(frac, dtype=np.float64).reshape(-1) * cum[-1]
    return np.stack([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])], axis=1)


def _timed(path: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Points of ``path`` (n, 2), whose points are evenly spaced in time, at normalised times
    ``tau`` in [0, 1] (linear between points): a motion with its own speed profile."""
    if len(path) == 1:
        return np.repeat(path, np.size(tau), axis=0)
    idx = np.asarray(tau, dtype=np.float64).reshape(-1) * (len(path) - 1)
    k = np.arange(len(path))
    return np.stack([np.interp(idx, k, path[:, 0]), np.interp(idx, k, path[:, 1])], axis=1)


#: A motion model: ``motion(performed_path, duration_s, segment) -> (timed_path, duration_s)``;
#: the returned points are evenly spaced in time (see :func:`_timed`), start at the performed
#: path's first point and last ``duration_s`` (e.g. a real person's stroke mapped on the path).
MotionModel = Callable[[np.ndarray, float, Segment], tuple[np.ndarray, float]]


@dataclass(frozen=True)
class RestingHand:
    """A second hand that rests in contact while the other one strokes (one-hand strokes).

    ``uv`` is where its contact point rests (tummy-box units: on the doll, beside it, on
    its legs), ``angle_deg`` its finger direction (body frame, clockwise from the head).
    ``swap_after``: after that many repetitions the hands swap roles (the resting hand
    strokes, the first one rests at ``swap_uv``, default ``uv`` mirrored across the body).
    """

    uv: tuple[float, float] = (0.25, 0.75)
    angle_deg: float = 20.0
    swap_after: int | None = None
    swap_uv: tuple[float, float] | None = None


def _evaluate_track(
    starts: np.ndarray, moves: list[_Move], times_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One hand at sorted times (n,): contact uv (n, 2), touching (n,), visible (n,), lift (n,)
    where lift (0..1) says how far the hand has risen towards the camera."""
    times = np.asarray(times_s, dtype=np.float64)
    n = len(times)
    uv = np.empty((n, 2))
    touching, visible = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    lift = np.zeros(n)
    which = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(moves) - 1)
    bounds = np.searchsorted(which, np.arange(len(moves) + 1))
    for j, m in enumerate(moves):
        sl = slice(bounds[j], bounds[j + 1])
        if sl.start == sl.stop:
            continue
        tau = np.clip((times[sl] - m.t0_s) / max(m.t1_s - m.t0_s, 1e-9), 0.0, 1.0)
        if m.profile == "timed":
            uv[sl] = _timed(m.path, tau)
        else:
            uv[sl] = _along(m.path, _progress(m.profile, tau, m.cycles))
        touching[sl], visible[sl] = m.touching, m.visible
        if m.lifted and len(m.path) == 1:
            lift[sl] = 1.0
        elif m.lifted:
            a, b = m.lift_ends
            lift[sl] = np.maximum(np.sin(np.pi * tau), a + (b - a) * _progress("ease", tau, 0))
    return uv, touching, visible, lift


# =================================================================================================
# Choreography: stroke definition + fault -> tracks and repetition truth
# =================================================================================================


def performed_path(segment: Segment, fault: str, shift_uv: np.ndarray | None = None) -> np.ndarray:
    """The path a performer with ``fault`` traces for ``segment`` (uv, (n, 2)).

    Closed segments get their first point repeated at the end (a full turn).
    ``reversed`` runs it backwards (same start point for a circle), ``incomplete``
    stops at :data:`INCOMPLETE_FRACTION` of the arc length, ``off_path`` adds ``shift_uv``.
    """
    pts = np.asarray(segment.points, dtype=np.float64)
    if segment.closed:
        pts = np.vstack([pts, pts[:1]])
    if fault == "reversed":
        pts = pts[::-1].copy()
    if fault == "incomplete":
        cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        stop = INCOMPLETE_FRACTION * cum[-1]
        keep = pts[cum < stop]
        end = _along(pts, np.array([INCOMPLETE_FRACTION]))
        pts = np.vstack([keep, end])
    if shift_uv is not None:
        pts = pts + np.asarray(shift_uv, dtype=np.float64)
    return pts


def _off_path_distance(stroke: StrokeDefinition, shift: np.ndarray) -> float:
    """Smallest, over segments, mean distance from the shifted path to the nearest point of
    any reference path (box widths)."""
    ref = np.vstack([s.points for s in stroke.segments])
    return min(
        float(np.min(np.linalg.norm(s.points[:, None] + shift - ref[None], axis=2), axis=1).mean())
        for s in stroke.segments
    )


def off_path_shift(stroke: StrokeDefinition) -> np.ndarray:
    """The off_path fault's shift (uv): at least :data:`OFF_PATH_SHIFT_BOX`, grown in steps of
    0.05 up to :data:`OFF_PATH_MAX_SHIFT_BOX` until every performed segment stays on average
    more than the stroke's ``off_path_box`` + :data:`OFF_PATH_MARGIN_BOX` from the nearest
    reference path; of 16 directions (never towards the feet, so the hand stays in the
    picture) the one that keeps the segments farthest."""
    need = stroke.tolerances.off_path_box + OFF_PATH_MARGIN_BOX
    best, best_d = np.array([OFF_PATH_SHIFT_BOX, 0.0]), -1.0
    steps = int(round((OFF_PATH_MAX_SHIFT_BOX - OFF_PATH_SHIFT_BOX) / 0.05))
    for size in OFF_PATH_SHIFT_BOX + 0.05 * np.arange(steps + 1):
        for k in range(16):
            ang = 2.0 * math.pi * k / 16.0
            shift = size * np.array([math.cos(ang), math.sin(ang)])
            if shift[1] > 1e-9:  # towards the feet: the wrist would leave the frame
                continue
            d = _off_path_distance(stroke, shift)
            if d > best_d + 1e-9:
                best, best_d = shift, d
        if best_d >= need:
            break
    return best.round(6)


@dataclass
class _Plan:
    """A performance under construction."""

    tracks: list[_Track]
    sides: list[str]  # "right" | "left" per hand
    angles_deg: list[float]  # finger direction per hand, body frame, clockwise from the head
    reps: list[RepetitionTruth] = field(default_factory=list)
    no_hand: list[tuple[float, float]] = field(default_factory=list)


class _Choreographer:
    """Turns a stroke definition and a fault into a :class:`_Plan`."""

    def __init__(
        self,
        stroke: StrokeDefinition,
        fault: str,
        seed: int,
        motion: MotionModel | None = None,
        rest: RestingHand | None = None,
    ) -> None:
        self.stroke = stroke
        self.fault = fault
        self.motion = motion
        self.rest = rest
        self.rng = np.random.default_rng(seed)
        self.shift = off_path_shift(stroke) if fault == "off_path" else None
        self.factor = DURATION_FACTORS.get(fault, 1.0)

    # -- small helpers ----------------------------------------------------------------------------

    def path(self, seg: Segment) -> np.ndarray:
        return performed_path(seg, self.fault, self.shift)

    def duration(self, seg: Segment) -> float:
        jitter = 1.0 + DURATION_JITTER * float(self.rng.uniform(-1.0, 1.0))
        frac = INCOMPLETE_FRACTION if self.fault == "incomplete" else 1.0
        return seg.nominal_s * self.factor * frac * jitter

    def transition(self) -> float:
        return float(self.rng.uniform(*TRANSITION_S))

    def stroke_along(
        self, track: _Track, path: np.ndarray, duration_s: float, seg: Segment | None = None
    ) -> None:
        if self.motion is not None and seg is not None:
            timed, duration_s = self.motion(path, duration_s, seg)
            track.follow(timed, duration_s, "timed")
        elif self.fault == "jerky":
            track.follow(path, duration_s, "jerky", max(2, round(JERKY_HZ * duration_s)))
        else:
            track.follow(path, duration_s)

    def seg_truth(self, idx: int, hand: int, t0: float, t1: float) -> SegmentTruth:
        seg = self.stroke.segments[idx]
        cov = INCOMPLETE_FRACTION if self.fault == "incomplete" else 1.0
        return SegmentTruth(
            idx, hand, t0, t1, t1 - t0, seg.nominal_s, self.fault == "reversed", cov
        )

    def rep_truth(self, index: int, segs: list[SegmentTruth]) -> RepetitionTruth:
        duration = sum(s.duration_s for s in segs)
        nominal = sum(s.nominal_s for s in segs)
        covered = sum(s.coverage * s.nominal_s for s in segs)  # nominal time of what was covered
        pace = {"fast": "too_fast", "slow": "too_slow"}.get(self.fault, "ok")
        return RepetitionTruth(
            index=index,
            hand=segs[0].hand,
            start_s=min(s.start_s for s in segs),
            end_s=max(s.end_s for s in segs),
            duration_s=duration,
            nominal_s=nominal,
            speed_ratio=covered / duration,
            direction="wrong" if self.fault == "reversed" else "ok",
            pace=pace,
            flags=FAULT_FLAGS[self.fault],
            segments=tuple(segs),
        )

    def no_hand_gap(self, plan: _Plan, t_s: float) -> float:
        """Every hand leaves the picture for :data:`NO_HAND_S` from ``t_s``; returns the end."""
        end = t_s + NO_HAND_S
        for tr in plan.tracks:
            last = tr.moves[-1] if tr.moves else None
            if last is not None:
                tr.hold(t_s, last.touching, lifted=last.lifted)
            tr.hold(end, False, visible=False)
        plan.no_hand.append((t_s, end))
        return end

    def wants_gap(self, rep: int, n_reps: int) -> bool:
        return self.fault == "no_hand" and rep == min(1, n_reps - 1)

    # -- strokes ----------------------------------------------------------------------------------

    def plan(self, repetitions: int, duration_s: float | None) -> _Plan:
        """``repetitions`` repetitions, or as many as fit in ``duration_s`` when given."""
        s = self.stroke
        if s.per_hand:
            return self.alternating(repetitions, duration_s)
        roles = list(dict.fromkeys(seg.role for seg in s.segments))
        if s.hands >= 2 and len(roles) >= 2:
            return self.two_roles(roles, repetitions, duration_s)
        return self.one_hand(repetitions, duration_s)

    def one_hand(self, repetitions: int, duration_s: float | None) -> _Plan:
        """One hand: segments in order, lifted transitions between them; consecutive turns of a
        single closed segment (Sun) are continuous."""
        segs = self.stroke.segments
        continuous = len(segs) == 1 and segs[0].closed and self.fault != "incomplete"
        first = self.path(segs[0])
        track = _Track(first[0])
        plan = _Plan([track], ["right"], [-15.0])
        rest = self.rest
        if rest is not None:  # a second hand rests in contact (and may take over)
            plan.tracks.append(_Track(np.asarray(rest.uv, dtype=np.float64)))
            plan.sides.append("left")
            plan.angles_deg.append(float(rest.angle_deg))
            swap_uv = rest.swap_uv if rest.swap_uv is not None else (1.0 - rest.uv[0], rest.uv[1])
        n = repetitions if duration_s is None else 10**6
        if self.wants_gap(0, n):  # a single repetition: the gap comes first
            track.hold(0.3, True)
            self.no_hand_gap(plan, 0.3)
        track.hold(track.t_s + LEAD_IN_S, True)
        for rep in range(n):
            if duration_s is not None and track.t_s >= duration_s:
                break
            if rep > 0 and self.wants_gap(rep, n):
                self.no_hand_gap(plan, track.t_s)
            active = 0
            if rest is not None and rest.swap_after is not None and rep >= rest.swap_after:
                active = 1
            if plan.tracks[active] is not track:  # swap roles: the stroking hand goes to rest
                track.lift_to([np.asarray(swap_uv, dtype=np.float64)], 0.8)
                track.hold(track.t_s + PAUSE_S, True)
                plan.tracks[active].hold(track.t_s, True)
                track = plan.tracks[active]
            done: list[SegmentTruth] = []
            for k, seg in enumerate(segs):
                path = self.path(seg)
                if not continuous or rep == 0 or not np.allclose(track.pos, path[0]):
                    if not np.allclose(track.pos, path[0]):
                        track.lift_to([path[0]], self.transition())
                    track.hold(track.t_s + PAUSE_S, True)
                t0 = track.t_s
                self.stroke_along(track, path, self.duration(seg), seg)
                done.append(self.seg_truth(k, active, t0, track.t_s))
                if not continuous:
                    track.hold(track.t_s + PAUSE_S, True)
            plan.reps.append(self.rep_truth(rep, done))
        track.hold(track.t_s + TAIL_S, True)
        for other in plan.tracks:  # the resting hand stays until the end
            other.hold(track.t_s, True)
        return plan

    def relocate(self, track: _Track, target: np.ndarray, land_s: float, park: np.ndarray) -> None:
        """Lifted move of ``track`` to ``target`` arriving at ``land_s``: via ``park`` (resting
        there lifted) when there is time, else straight through ``park`` in what time is left."""
        avail = land_s - track.t_s
        if avail >= 1.6:
            track.lift_to([park], 0.7)
            track.hold(land_s - 0.7, False, lifted=True)
            track.lift_to([target], 0.7)
        elif np.allclose(track.pos, target):
            track.hold(land_s, True)
        else:
            track.lift_to([park, target] if avail >= 0.6 else [target], max(avail, 0.15))

    def alternating(self, repetitions: int, duration_s: float | None) -> _Plan:
        """Water wheel: two hands take turns, each lying across the tummy; the next hand lands
        :data:`LAND_S` before it starts, while the previous one is still finishing. One
        repetition is every segment once, by one hand; ``repetitions`` counts per hand."""
        segs = self.stroke.segments
        # Right hand: fingers towards the baby's right (u = 0), arm at u > 1; left hand mirrored.
        parks = [np.array([1.85, 0.5]), np.array([-0.85, 0.5])]
        first = self.path(segs[0])
        tracks = [_Track(first[0]), _Track(parks[1])]
        plan = _Plan(tracks, ["right", "left"], [-80.0, 80.0])
        n = 2 * repetitions if duration_s is None else 10**6
        tempo = min(1.0, self.factor)
        start = LEAD_IN_S
        tracks[0].hold(LEAD_IN_S - LAND_S, True)  # the first hand already rests on the tummy
        tracks[1].hold(LEAD_IN_S - LAND_S, False, lifted=True)
        for rep in range(n):
            if duration_s is not None and start >= duration_s:
                break
            h = rep % 2
            if rep > 0 and self.wants_gap(rep, n):
                for k, tr in enumerate(tracks):
                    if not np.allclose(tr.pos, parks[k]):
                        tr.lift_to([parks[k]], 0.6)
                t_gap = max(tr.t_s for tr in tracks)
                start = self.no_hand_gap(plan, t_gap) + 0.8 + LAND_S
            tr = tracks[h]
            done: list[SegmentTruth] = []
            for k, seg in enumerate(segs):
                path = self.path(seg)
                self.relocate(tr, path[0], start - LAND_S * tempo, parks[h])
                tr.hold(start, True)
                t0 = tr.t_s
                self.stroke_along(tr, path, self.duration(seg), seg)
                done.append(self.seg_truth(k, h, t0, tr.t_s))
                start = tr.t_s + 0.1  # the other hand starts just after this one ends
                tr.hold(tr.t_s + PAUSE_S * tempo, True)
                if k + 1 < len(segs):
                    start = tr.t_s
            plan.reps.append(self.rep_truth(rep, done))
        for k, tr in enumerate(tracks):
            if not np.allclose(tr.pos, parks[k]):
                tr.lift_to([parks[k]], 0.7)
        end = max(tr.t_s for tr in tracks) + TAIL_S
        for tr in tracks:
            tr.hold(end, False, lifted=True)
        return plan

    def two_roles(self, roles: list[str], repetitions: int, duration_s: float | None) -> _Plan:
        """Sun and Moon: hand 0 draws the first role's closed segment continuously; hand 1
        performs the other segments once per turn, starting when hand 0 is 120 degrees
        behind its start point (the arms cross, the hands never meet)."""
        segs = self.stroke.segments
        main = [i for i, s in enumerate(segs) if s.role == roles[0]]
        other = [i for i, s in enumerate(segs) if s.role != roles[0]]
        moon_first = self.path(segs[other[0]])
        shift = self.shift if self.shift is not None else np.zeros(2)
        wait = np.array([0.0, 1.0]) + shift
        tracks = [_Track(self.path(segs[main[0]])[0]), _Track(wait)]
        plan = _Plan(tracks, ["right", "left"], [-30.0, 30.0])
        sun, moon = tracks
        tempo = min(1.0, self.factor)
        n = repetitions if duration_s is None else 10**6
        sun.hold(LEAD_IN_S, True)
        moon.hold(LEAD_IN_S, False, lifted=True)
        for rep in range(n):
            if duration_s is not None and sun.t_s >= duration_s:
                break
            if rep > 0 and self.wants_gap(rep, n):
                moon.lift_to([wait], 0.6)
                self.no_hand_gap(plan, max(sun.t_s, moon.t_s))
                sun.hold(sun.t_s + PAUSE_S, True)
            done: list[SegmentTruth] = []
            for k in main:
                path = self.path(segs[k])
                if not np.allclose(sun.pos, path[0]):
                    sun.lift_to([path[0]], self.transition())
                    sun.hold(sun.t_s + PAUSE_S, True)
                t0 = sun.t_s
                self.stroke_along(sun, path, self.duration(segs[k]), segs[k])
                done.append(self.seg_truth(k, 0, t0, sun.t_s))
            trigger_t = self._trigger_time(sun, moon_first, t0)
            for k in other:
                path = self.path(segs[k])
                land = max(trigger_t - LAND_S * tempo, moon.t_s + 0.15)
                self.relocate(moon, path[0], land, wait)
                moon.hold(land + LAND_S * tempo, True)
                m0 = moon.t_s
                self.stroke_along(moon, path, self.duration(segs[k]), segs[k])
                done.append(self.seg_truth(k, 1, m0, moon.t_s))
                moon.hold(moon.t_s + PAUSE_S * tempo, True)
            plan.reps.append(self.rep_truth(rep, done))
            if self.fault == "incomplete":
                sun.hold(sun.t_s + PAUSE_S, True)
        moon.lift_to([wait], 0.7)
        end = max(sun.t_s, moon.t_s) + TAIL_S
        sun.hold(end, True)
        moon.hold(end, False, lifted=True)
        return plan

    def _trigger_time(self, sun: _Track, moon_path: np.ndarray, t0: float) -> float:
        """When hand 0 (on its last move, started at ``t0``) is 120 degrees behind the start of
        ``moon_path`` around the circle's centre, in the direction of travel."""
        move = sun.moves[-1]
        centre = move.path[:-1].mean(axis=0) if len(move.path) > 2 else move.path[0]
        taus = np.linspace(0.0, 1.0, 721)
        if move.profile == "timed":
            pts = _timed(move.path, taus)
        else:
            pts = _along(move.path, _progress(move.profile, taus, move.cycles))
        ang = np.arctan2(pts[:, 0] - centre[0], -(pts[:, 1] - centre[1]))  # clockwise from 12
        travel = np.sign(np.sum(np.angle(np.exp(1j * np.diff(np.unwrap(ang)))))) or 1.0
        m0 = moon_path[0]
        target = math.atan2(m0[0] - centre[0], -(m0[1] - centre[1])) - travel * math.radians(120)
        diff = np.abs(np.angle(np.exp(1j * (ang - target))))
        return t0 + float(taus[int(np.argmin(diff))]) * (move.t1_s - move.t0_s)


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


# =================================================================================================
# Samples: performance + scene -> frames and truth
# =================================================================================================


def _skin_rgb(skin: str | Sequence[int]) -> tuple[str, tuple[int, int, int]]:
    if isinstance(skin, str):
        if skin not in SKIN_TONES:
            raise ValueError(
                f"skin: expected one of {', '.join(SKIN_TONES)} or an RGB triple, found {skin!r}"
            )
        return skin, SKIN_TONES[skin]
    rgb = tuple(int(c) for c in skin)
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise ValueError(f"skin: expected an RGB triple of 0..255, found {skin!r}")
    return "rgb({},{},{})".format(*rgb), rgb  # type: ignore[return-value]


def _stored_head(head: HeadDirection, mirrored: bool) -> HeadDirection:
    """Where the head appears in the stored frame (left and right swap when mirrored)."""
    if not mirrored:
        return head
    return {"left": "right", "right": "left"}.get(head, head)  # type: ignore[return-value]


def _check_options(
    fault: str,
    head: str,
    size: tuple[int, int],
    fps: float,
    repetitions: int,
    duration_s: float | None,
) -> tuple[int, int]:
    """Validate :class:`Sample` options; returns the frame size (width, height)."""
    if fault not in FAULTS:
        raise ValueError(f"fault: expected one of {', '.join(FAULTS)}, found {fault!r}")
    if head not in HEAD_DIRECTIONS:
        raise ValueError(f"head: expected one of {', '.join(HEAD_DIRECTIONS)}, found {head!r}")
    w, h = (int(v) for v in size)
    if w < 64 or h < 64 or w % 2 or h % 2:
        raise ValueError(f"size: expected an even (width, height) of at least 64, found {size}")
    if not (math.isfinite(fps) and 1.0 <= fps <= 240.0):
        raise ValueError(f"fps: expected a frame rate between 1 and 240, found {fps}")
    if duration_s is None and int(repetitions) < 1:
        raise ValueError(f"repetitions: expected at least 1, found {repetitions}")
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s: expected a positive number of seconds, found {duration_s}")
    return w, h


class Sample:
    """A planned clip: call :meth:`frames` to render it, :attr:`truth` for the ground truth.

    ``head`` is where the baby's head is in the true picture (and, unless ``mirrored``
    swaps left and right, in the stored frame). All arguments are validated here.
    """

    def __init__(
        self,
        stroke_id: str | StrokeDefinition,
        *,
        fault: str = "none",
        head: HeadDirection = "up",
        mirrored: bool = False,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        repetitions: int = 2,
        skin: str | Sequence[int] = "light",
        seed: int = 0,
        duration_s: float | None = None,
        motion: MotionModel | None = None,
        rest: RestingHand | None = None,
        palette: dict | None = None,
        hand_painter: Callable[..., None] | None = None,
        hand_turn_deg: float = 4.0,
    ) -> None:
        # motion, rest, palette and hand_painter (evaluation clips: coach/evaluation) leave
        # the default clip unchanged when not given. ``hand_painter(img, hand, landmarks_px,
        # skin_rgb, sleeve_rgb)`` draws hand ``hand`` instead of :func:`draw_hand`.
        # ``hand_turn_deg``: how far the hand turns to and fro about its contact point.
        self.hand_painter = hand_painter
        self.hand_turn_deg = float(hand_turn_deg)
        self.stroke = (
            stroke_id if isinstance(stroke_id, StrokeDefinition) else load_stroke(stroke_id)
        )
        w, h = _check_options(fault, head, size, fps, repetitions, duration_s)
        self.fault, self.head, self.mirrored = fault, head, bool(mirrored)
        self.size, self.fps, self.seed = (w, h), float(fps), int(seed)
        self._rate = float(frame_rate(self.fps))  # exact: 29.97 is 30000/1001, as the writer has it
        self.skin_name, self.skin_rgb = _skin_rgb(skin)
        self.scene = _Scene(self.size, head, palette)
        plan = _Choreographer(self.stroke, fault, self.seed, motion, rest).plan(
            int(repetitions), duration_s
        )
        self._plan = plan
        self._tracks = [tr.freeze() for tr in plan.tracks]
        end_s = max(tr.t_s for tr in plan.tracks)
        self.duration_s = float(duration_s) if duration_s is not None else end_s
        self.n_frames = max(1, int(math.floor(self.duration_s * self._rate + 1e-6)))
        wob = np.random.default_rng(self.seed + 7919)
        self._wobble = wob.uniform(0.0, 2.0 * math.pi, size=(len(plan.tracks), 2))
        self._wobble_angle = wob.uniform(0.0, 2.0 * math.pi, size=len(plan.tracks))
        self.times_s = np.arange(self.n_frames, dtype=np.float64) / self._rate
        self._uv, self._touching, self._visible, self._lift = self._states(self.times_s)
        self.truth = self._make_truth()

    # -- per-frame state --------------------------------------------------------------------------

    def timestamp(self, index: int) -> float:
        """Timestamp of frame ``index`` in seconds: ``index / fps`` with NTSC rates exact, as
        :class:`coach.video.VideoWriter` stamps them."""
        return index / self._rate

    def _states(self, times_s: np.ndarray) -> tuple[np.ndarray, ...]:
        """All hands at ``times_s`` (n,): uv (n, hands, 2) with the human-like wobble,
        touching, visible (n, hands) bool and lift (n, hands) 0..1."""
        t = np.asarray(times_s, dtype=np.float64)
        per_hand = [_evaluate_track(starts, moves, t) for starts, moves in self._tracks]
        uv = np.stack([p[0] for p in per_hand], axis=1)
        ph = self._wobble[None, :, :]
        uv += WOBBLE_BOX * np.stack(
            [
                np.sin(2 * np.pi * 0.37 * t[:, None] + ph[..., 0]),
                np.sin(2 * np.pi * 0.53 * t[:, None] + ph[..., 1]),
            ],
            axis=2,
        )
        return (
            uv,
            np.stack([p[1] for p in per_hand], axis=1),
            np.stack([p[2] for p in per_hand], axis=1),
            np.stack([p[3] for p in per_hand], axis=1),
        )

    def hand_states(self, t_s: float) -> list[tuple[np.ndarray, bool, bool, float]]:
        """Per hand: (contact uv, touching, visible, lift 0..1) at any time ``t_s``."""
        uv, touching, visible, lift = self._states(np.array([float(t_s)]))
        return [
            (uv[0, k], bool(touching[0, k]), bool(visible[0, k]), float(lift[0, k]))
            for k in range(uv.shape[1])
        ]

    def hand_landmarks(self, index: int) -> list[np.ndarray | None]:
        """Per hand, the 21 landmarks of the rendered hand in frame ``index``, normalised
        coordinates of the frame as stored ((21, 2)), or None when the hand is out of view."""
        t = self.timestamp(index)
        w, h = self.size
        out: list[np.ndarray | None] = []
        for k in range(self._uv.shape[1]):
            if not self._visible[index, k]:
                out.append(None)
                continue
            px = self._landmarks_px(k, self._uv[index, k], self._lift[index, k], t)
            xy = px / np.array([w, h], dtype=np.float64)
            if self.mirrored:
                xy[:, 0] = 1.0 - xy[:, 0]
            out.append(xy)
        return out

    def _landmarks_px(self, hand: int, uv: np.ndarray, lift: float, t_s: float) -> np.ndarray:
        """Landmarks in pixels of the true (unmirrored) picture."""
        angle = (
            self._plan.angles_deg[hand]
            + _HEAD_ANGLE_DEG[self.head]
            + self.hand_turn_deg * math.sin(2 * math.pi * 0.23 * t_s + self._wobble_angle[hand])
        )
        length = HAND_LENGTH_BOX * self.scene.box_px * (1.0 + LIFT_SCALE * lift)
        return hand_landmarks_px(
            self.scene.to_px(uv), angle, length, self._plan.sides[hand], self.stroke.contact
        )

    # -- rendering --------------------------------------------------------------------------------

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[np.ndarray, float]]:
        """Rendered RGB uint8 frames (height, width, 3) with their timestamps in seconds."""
        background = self.scene.background()
        stop = self.n_frames if stop is None else min(stop, self.n_frames)
        for i in range(start, stop):
            yield self.render(i, background), self.timestamp(i)

    def render(self, index: int, background: np.ndarray | None = None) -> np.ndarray:
        """Frame ``index`` (0 <= index < n_frames) as stored (mirrored when asked)."""
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame index: expected 0..{self.n_frames - 1}, found {index}")
        img = (self.scene.background() if background is None else background).copy()
        t = self.timestamp(index)
        lift = self._lift[index]
        # lifted hands (closer to the camera) on top; among the others the main hand on top
        for k in sorted(range(len(lift)), key=lambda k: (lift[k], -k)):
            if self._visible[index, k]:
                px = self._landmarks_px(k, self._uv[index, k], lift[k], t)
                if self.hand_painter is not None:
                    self.hand_painter(img, k, px, self.skin_rgb, _SLEEVES[k % len(_SLEEVES)])
                else:
                    draw_hand(img, px, self.skin_rgb, _SLEEVES[k % len(_SLEEVES)])
        return np.ascontiguousarray(img[:, ::-1]) if self.mirrored else img

    # -- truth ------------------------------------------------------------------------------------

    def _make_truth(self) -> SampleTruth:
        n, n_hands = self.n_frames, len(self._tracks)
        visible = self._visible.copy()
        touching = self._touching & visible
        uv = np.where(visible[..., None], self._uv, np.nan)
        end = self.duration_s
        reps = tuple(r for r in self._plan.reps if r.end_s <= end + 1e-9)
        spans = tuple((a, min(b, end)) for a, b in self._plan.no_hand if a < end)
        x0, y0, x1, y1 = self.scene.box_true
        box = (
            (round(1.0 - x1, 4), y0, round(1.0 - x0, 4), y1) if self.mirrored else (x0, y0, x1, y1)
        )
        shift = off_path_shift(self.stroke) if self.fault == "off_path" else np.zeros(2)
        return SampleTruth(
            stroke=self.stroke.id,
            fault=self.fault,
            head=_stored_head(self.head, self.mirrored),
            mirrored=self.mirrored,
            tummy_box=box,
            fps=self.fps,
            size=self.size,
            frames=n,
            duration_s=n / self._rate,
            contact=self.stroke.contact,
            hands=n_hands,
            skin=self.skin_name,
            seed=self.seed,
            repetitions=reps,
            session_flags=("no_hand",) if spans else (),
            expected_flags=FAULT_FLAGS[self.fault],
            no_hand_spans=spans,
            off_path_shift_uv=(float(shift[0]), float(shift[1])),
            timestamps_s=self.times_s.copy(),
            contact_uv=uv,
            visible=visible,
            touching=touching,
        )


# =================================================================================================
# Public API
# =================================================================================================


def iter_sample_frames(
    stroke_id: str | StrokeDefinition = "i-love-you", **options: object
) -> Iterator[tuple[np.ndarray, float]]:
    """Render a sample in memory: RGB uint8 frames (height, width, 3) with timestamps in
    seconds. ``options`` are those of :class:`Sample` (fault, head, mirrored, size, fps,
    repetitions, skin, seed, duration_s)."""
    yield from Sample(stroke_id, **options).frames()  # type: ignore[arg-type]


def render_sample(
    stroke_id: str | StrokeDefinition,
    path: str | os.PathLike,
    *,
    fault: str = "none",
    head: HeadDirection = "up",
    mirrored: bool = False,
    size: tuple[int, int] = (640, 480),
    fps: float = 30.0,
    repetitions: int = 2,
    skin: str | Sequence[int] = "light",
    seed: int = 0,
    duration_s: float | None = None,
) -> SampleTruth:
    """Render a sample clip to ``path`` (container from the suffix: .mp4 .webm .avi .mov .mkv
    .y4m) and its ground truth to :func:`truth_path` ``(path)``; returns the truth.

    The files are written under temporary names and renamed when complete, so a reader never
    sees half a clip. ``duration_s`` (e.g. 600 for the benchmark) loops repetitions to fill it.
    """

    sample = Sample(
        stroke_id,
        fault=fault,
        head=head,
        mirrored=mirrored,
        size=size,
        fps=fps,
        repetitions=repetitions,
        skin=skin,
        seed=seed,
        duration_s=duration_s,
    )
    out = Path(path)
    # the truth is renamed in place first, then the clip: a clip is never without its truth
    with (
        atomic_path(out, suffix=f".part{out.suffix}") as tmp,
        atomic_path(truth_path(out), suffix=".part.json") as tmp_truth,
    ):
        with VideoWriter(tmp, sample.fps, sample.size) as writer:
            for image, _t in sample.frames():
                writer.write(image)
        sample.truth.save(tmp_truth)
    return sample.truth


def sample_name(
    stroke_id: str,
    *,
    fault: str = "none",
    head: str = "up",
    mirrored: bool = False,
    size: tuple[int, int] = (640, 480),
    fps: float = 30.0,
    repetitions: int = 2,
    skin: str | Sequence[int] = "light",
    seed: int = 0,
    duration_s: float | None = None,
) -> str:
    """A file stem naming a sample's options: ``sun-reversed-left-m-640x480-30fps-light-s0``
    (``m`` when mirrored; ``r3`` / ``600s`` for repetitions / duration when not the default)."""
    skin_txt = skin if isinstance(skin, str) else "rgb" + "-".join(str(int(c)) for c in skin)
    parts = [stroke_id, fault, head] + (["m"] if mirrored else [])
    parts += [f"{int(size[0])}x{int(size[1])}", f"{float(fps):g}fps", skin_txt, f"s{int(seed)}"]
    if duration_s is not None:
        parts.append(f"{float(duration_s):g}s")
    elif int(repetitions) != 2:
        parts.append(f"r{int(repetitions)}")
    return "-".join(parts)


def default_cache_dir() -> Path:
    """Where generated samples are kept (:func:`coach.paths.samples_dir`): the checkout's
    ``samples/`` (git-ignored), else the user's cache folder."""
    return paths.samples_dir()


def ensure_sample(
    stroke_id: str = "i-love-you",
    cache_dir: str | os.PathLike | None = None,
    *,
    suffix: str = ".mp4",
    **options: object,
) -> Path:
    """Path of a cached sample clip, rendering it first if it is missing or was made by an
    older generator. ``options`` as :func:`render_sample`; its truth is at :func:`truth_path`."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / (sample_name(stroke_id, **options) + suffix)
    truth = truth_path(path)
    if path.is_file() and truth.is_file():
        try:
            if json.loads(truth.read_text()).get("generator_version") == GENERATOR_VERSION:
                return path
        except (OSError, ValueError):
            pass
    render_sample(stroke_id, path, **options)  # type: ignore[arg-type]
    return path


def make_samples(
    out_dir: str | os.PathLike,
    strokes: Sequence[str] = ("i-love-you",),
    faults: Sequence[str] = ("none",),
    *,
    heads: Sequence[str] = ("up",),
    mirrored: Sequence[bool] = (False,),
    sizes: Sequence[tuple[int, int]] = ((640, 480),),
    fps: Sequence[float] = (30.0,),
    skins: Sequence[str] = ("light",),
    repetitions: int = 2,
    seed: int = 0,
    duration_s: float | None = None,
    suffix: str = ".mp4",
    force: bool = False,
    on_progress: Callable[[float], None] | None = None,
) -> list[Path]:
    """Render every combination of the given options into ``out_dir`` (cached unless
    ``force``); returns the video paths. Each has a ``.truth.json`` next to it.
    ``on_progress(fraction)`` after each clip (for a progress bar)."""
    paths = []
    combinations = list(itertools.product(strokes, faults, heads, mirrored, sizes, fps, skins))
    for stroke, fault, head, mir, size, rate, skin in combinations:
        options = dict(
            fault=fault,
            head=head,
            mirrored=mir,
            size=tuple(size),
            fps=rate,
            skin=skin,
            seed=seed,
            repetitions=repetitions,
            duration_s=duration_s,
        )
        if force:
            path = Path(out_dir) / (sample_name(stroke, **options) + suffix)
            render_sample(stroke, path, **options)  # type: ignore[arg-type]
        else:
            path = ensure_sample(stroke, out_dir, suffix=suffix, **options)
        paths.append(path)
        if on_progress is not None:
            on_progress(len(paths) / len(combinations))
    return paths
