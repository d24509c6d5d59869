"""Recording a reference from an instructor's demonstration video.

Every frame's hands go through the contact smoother
(:class:`~coach.core.smoothing.ContactSmoother`,
contact point of the stroke type, body frame of the calibration); the built-in stroke's
:class:`~coach.core.matcher.OnlineMatcher` finds each segment's time span in every
repetition; the instructor's path inside a span is trimmed to the moving part, averaged
over the repetitions by arc-length fraction, lightly smoothed and resampled every
:data:`~coach.core.strokes.RESAMPLE_STEP_BOX` box widths. A segment's nominal duration
is the median over the repetitions of the matcher's pace estimate (the same estimate
scoring compares against the nominal, so practising at the instructor's pace scores a
speed ratio of about 1). Contact point, hands, roles, pace bounds and tolerances are the
built-in type's.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.matcher import OnlineMatcher
from coach.core.smoothing import ContactSmoother
from coach.core.strokes import (
    COORD_MAX,
    COORD_MIN,
    RESAMPLE_STEP_BOX,
    StrokeDefinition,
    builtin_ids,
    lane_layout,
    load_stroke,
    polyline_length,
    stroke_from_dict,
    stroke_to_dict,
)
from coach.core.types import ContactKind, HandObservation, SegmentRecord
from coach.references.format import (
    NOMINAL_RATIO_RANGE,
    NOMINAL_S_RANGE,
    Reference,
    reference_from_dict,
    reference_id,
    reference_to_dict,
)

#: Points per segment when averaging repetitions (arc-length fractions).
_AVERAGE_POINTS = 240
#: Half-width of the moving-average smoothing of the averaged path, box widths.
_SMOOTH_HALF_BOX = 0.02
#: A trimmed segment path shorter than this fraction of the built-in's is not used.
_MIN_LENGTH_FRACTION = 0.3
#: A two-hand stroke needs two hands seen together in at least this fraction of frames.
_TWO_HANDS_MIN_FRACTION = 0.05
#: Auto-detection: the best type's distance must be below this fraction of the runner-up's.
_DETECT_MARGIN = 0.7


class DemonstrationError(ValueError):
    """A demonstration cannot be turned into a reference; the message says why and what to do."""


# =================================================================================================
# Demonstration: observations -> tracks -> matched segments
# =================================================================================================


@dataclass(frozen=True)
class DemoTrack:
    """The tracked contact points of a demonstration, in the body frame.

    ``timestamps_s`` (n,); ``hands_uv`` (n, 2, 2): per frame the tracker's hand slots
    (slot 0 primary), NaN for an empty slot; ``seen`` (n, 2) bool: the slot's hand was
    observed in that frame (not carried over a gap).
    """

    timestamps_s: np.ndarray
    hands_uv: np.ndarray
    seen: np.ndarray

    @property
    def frames(self) -> int:
        return int(len(self.timestamps_s))


def track_observations(
    observations: Iterable[tuple[float, HandObservation | None]],
    body_frame: BodyFrame,
    contact: ContactKind,
) -> DemoTrack:
    """Run the hand tracker (as the pipeline does) over ``(timestamp_s, observation)``."""
    tracker = ContactSmoother(body_frame, contact, max_hands=2)
    ts, uv, seen = [], [], []
    for t, obs in observations:
        point = tracker.update(obs, t)
        row = np.full((2, 2), np.nan)
        flags = np.zeros(2, bool)
        if point is not None:
            k = min(2, len(point.hands_uv))
            row[:k] = point.hands_uv[:k]
            flags[: len(tracker.seen[:2])] = tracker.seen[:2]
        ts.append(float(t))
        uv.append(row)
        seen.append(flags)
    n = len(ts)
    return DemoTrack(
        np.array(ts, dtype=np.float64),
        np.array(uv, dtype=np.float64).reshape(n, 2, 2),
        np.array(seen, dtype=bool).reshape(n, 2),
    )


@dataclass(frozen=True)
class MatchedSegment:
    """A segment the matcher found in the demonstration, and which hand slot performed it."""

    slot: int
    record: SegmentRecord


def match_demonstration(track: DemoTrack, stroke: StrokeDefinition) -> list[MatchedSegment]:
    """Every segment performance the stroke's matchers find, in time order.

    A hand does one thing at a time: of two records overlapping by more than half
    (same segment on two slots, or two segments on one slot) the one closer to the
    reference is kept, the stroke's first role winning over the others on one slot.
    """
    found: list[MatchedSegment] = []
    # The coach's lane layout; a one-hand demonstration is followed on the primary hand.
    for slot, segs in lane_layout(stroke, one_hand_slots=(0,)):
        matcher = OnlineMatcher(stroke, segs)
        for i, t in enumerate(track.timestamps_s):
            uv = track.hands_uv[i, slot]
            progress = matcher.update(uv if np.all(np.isfinite(uv)) else None, float(t))
            if progress is not None:
                found += [MatchedSegment(slot, r) for r in progress.completed]
        if track.frames:
            found += [
                MatchedSegment(slot, r) for r in matcher.finish(float(track.timestamps_s[-1]))
            ]
    main_role = stroke.segments[0].role
    need = stroke.tolerances.incomplete_below

    def rank(m: MatchedSegment) -> tuple:
        role_rank = 0 if stroke.segments[m.record.segment].role == main_role else 1
        return (m.record.coverage < need, role_rank, m.record.mean_distance_box)

    kept: list[MatchedSegment] = []
    for m in sorted(found, key=rank):
        clash = any(
            m.record.overlap(k.record) > 0.5
            and (k.record.segment == m.record.segment or k.slot == m.slot)
            for k in kept
        )
        if not clash:
            kept.append(m)
    return sorted(kept, key=lambda m: (m.record.start_s, m.slot))


# =================================================================================================
# Demonstration: geometry and pace per segment
# =================================================================================================


def _arc_fractions(points: np.ndarray) -> np.ndarray:
    """Cumulative arc length of a polyline (n, 2) as fractions 0..1."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(steps)])
    return cum / cum[-1] if cum[-1] > 0 else cum


def _resample_fraction(points: np.ndarray, n: int, closed: bool = False) -> np.ndarray:
    """``n`` points at equal arc-length fractions of a polyline (closed: around the loop,
    the first point not repeated)."""
    pts = np.vstack([points, points[:1]]) if closed else points
    frac = _arc_fractions(pts)
    keep = np.concatenate([[True], np.diff(frac) > 0])
    pts, frac = pts[keep], frac[keep]
    targets = np.linspace(0.0, 1.0, n, endpoint=not closed)
    return np.column_stack([np.interp(targets, frac, pts[:, k]) for k in range(2)])


def _project_fraction(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Arc-length fraction of the reference vertex nearest to each point."""
    frac = _arc_fractions(reference)
    d = np.linalg.norm(points[:, None, :] - reference[None, :, :], axis=2)
    return frac[np.argmin(d, axis=1)]


def _trim_open(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The part of a segment's span where the hand runs from start to end along the
    reference: from the last moment it is at its furthest-back point before it reaches
    its furthest-along point (drops the pause and approach at the start, the pause and
    lift at the end)."""
    s = _project_fraction(points, reference)
    end = int(np.flatnonzero(s >= s.max() - 0.01)[0])
    head = s[: end + 1]
    start = int(np.flatnonzero(head <= head.min() + 0.01)[-1])
    return points[start : end + 1]


def _trim_still(points: np.ndarray, eps_box: float = 0.01) -> np.ndarray:
    """Drop the samples at either end that stay within ``eps_box`` of the end point."""
    d0 = np.linalg.norm(points - points[0], axis=1)
    d1 = np.linalg.norm(points - points[-1], axis=1)
    moved0 = np.flatnonzero(d0 > eps_box)
    moved1 = np.flatnonzero(d1 > eps_box)
    if moved0.size == 0 or moved1.size == 0:
        return points[:1]
    return points[max(0, moved0[0] - 1) : moved1[-1] + 2]


def _smooth(points: np.ndarray, half: int, closed: bool) -> np.ndarray:
    """Moving average over ``2 * half + 1`` points; an open path keeps its end points."""
    if half < 1 or len(points) < 3:
        return points.copy()
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    mode = "wrap" if closed else "edge"
    padded = np.pad(points, ((half, half), (0, 0)), mode=mode)
    out = np.column_stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)])
    if not closed:
        out[0], out[-1] = points[0], points[-1]
    return out


def _resample_step(points: np.ndarray, step_box: float, closed: bool) -> np.ndarray:
    """Equal arc-length steps of at most ``step_box`` (closed: the first point not repeated)."""
    length = polyline_length(points, closed)
    n = max(2 if not closed else 3, math.ceil(length / step_box - 1e-9) + (0 if closed else 1))
    return _resample_fraction(points, n, closed)


def _tidy(points: np.ndarray, closed: bool) -> list[list[float]]:
    """Rounded to 4 decimals, without repeated consecutive points (as the file stores them)."""
    out: list[list[float]] = []
    for u, v in np.round(points, 4).tolist():
        if not out or [u, v] != out[-1]:
            out.append([u, v])
    if closed and len(out) > 1 and out[-1] == out[0]:
        out.pop()
    return out


def _segment_path(track: DemoTrack, m: MatchedSegment, reference: np.ndarray, closed: bool):
    """The hand's trimmed path (k, 2) for one matched segment, or None when unusable."""
    r = m.record
    t = track.timestamps_s
    uv = track.hands_uv[:, m.slot]
    inside = (t >= r.start_s) & (t <= r.end_s) & track.seen[:, m.slot] & np.isfinite(uv).all(1)
    pts = uv[inside]
    if len(pts) < 5:
        return None
    pts = _trim_still(pts) if closed else _trim_open(pts, reference)
    if len(pts) < 5:
        return None
    if polyline_length(pts) < _MIN_LENGTH_FRACTION * polyline_length(reference, closed):
        return None
    return pts


def _average_paths(paths: list[np.ndarray], reference: np.ndarray, closed: bool) -> np.ndarray:
    """Mean path over repetitions, aligned by arc-length fraction (closed paths rotated to
    start at the point nearest the reference's start)."""
    aligned = []
    for p in paths:
        q = _resample_fraction(p, _AVERAGE_POINTS, closed)
        if closed:
            q = np.roll(q, -int(np.argmin(np.linalg.norm(q - reference[0], axis=1))), axis=0)
        aligned.append(q)
    mean = np.mean(aligned, axis=0)
    step = polyline_length(mean, closed) / _AVERAGE_POINTS
    half = int(round(_SMOOTH_HALF_BOX / step)) if step > 0 else 0
    return _resample_step(_smooth(mean, half, closed), RESAMPLE_STEP_BOX, closed)


@dataclass(frozen=True)
class SegmentSummary:
    """What the demonstration gave for one segment."""

    id: str
    points: list[list[float]]
    nominal_s: float
    durations_s: tuple[float, ...]  # per usable repetition


def _seg_name(stroke: StrokeDefinition, index: int) -> str:
    seg = stroke.segments[index]
    return f"'{seg.label}'" if seg.label else f"#{index + 1}"


def summarize_segments(
    track: DemoTrack, stroke: StrokeDefinition, matched: Sequence[MatchedSegment] | None = None
) -> list[SegmentSummary]:
    """Per segment of ``stroke``: the instructor's averaged path and median duration.

    Raises :class:`DemonstrationError` when no hand was seen, a two-hand stroke showed one
    hand only, a segment was performed backwards, was not found complete, or took a
    duration far from the built-in nominal.
    """
    if track.frames == 0 or not track.seen.any():
        raise DemonstrationError("no hand was seen in the demonstration video")
    if stroke.hands == 2 and track.seen.all(axis=1).mean() < _TWO_HANDS_MIN_FRACTION:
        raise DemonstrationError(
            f"{stroke.name} is a two-hand stroke, but two hands were seen together in only "
            f"{100 * track.seen.all(axis=1).mean():.0f}% of the frames"
        )
    matched = match_demonstration(track, stroke) if matched is None else matched
    need = stroke.tolerances.incomplete_below
    out = []
    for i, seg in enumerate(stroke.segments):
        mine = [m for m in matched if m.record.segment == i and m.record.coverage >= need]
        backwards = [m.record for m in mine if m.record.reversed]
        if backwards:
            r = backwards[0]
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)} of {stroke.name} was performed backwards "
                f"({r.start_s:.1f}-{r.end_s:.1f} s); demonstrate it in the stroke's direction"
            )
        reference = np.asarray(seg.points, dtype=np.float64)
        paths, durations = [], []
        for m in mine:
            path = _segment_path(track, m, reference, seg.closed)
            if path is None:
                continue
            paths.append(path)
            d = m.record.duration_s
            durations.append(float(d) if math.isfinite(d) and d > 0 else math.nan)
        if not paths:
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)} of {stroke.name} was not found complete in the "
                "demonstration; check the calibration (--tummy/--head/--mirrored) and that the "
                "whole stroke is in the picture"
            )
        good = [d for d in durations if math.isfinite(d)]
        if not good:
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)}: its pace could not be measured"
            )
        nominal = float(np.median(good))
        ratio = nominal / seg.nominal_s
        lo, hi = NOMINAL_RATIO_RANGE
        if not (lo <= ratio <= hi and NOMINAL_S_RANGE[0] <= nominal <= NOMINAL_S_RANGE[1]):
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)} took {nominal:.1f} s in the demonstration, "
                f"expected {lo:g}x to {hi:g}x the built-in {seg.nominal_s:g} s"
            )
        points = _average_paths(paths, reference, seg.closed)
        if points.min() < COORD_MIN or points.max() > COORD_MAX:
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)} runs outside the tummy area "
                f"(coordinates {points.min():.2f}..{points.max():.2f}); check the calibration"
            )
        out.append(
            SegmentSummary(seg.id, _tidy(points, seg.closed), round(nominal, 3), tuple(good))
        )
    return out


# =================================================================================================
# Demonstration -> Reference
# =================================================================================================


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_reference(
    track: DemoTrack,
    based_on: StrokeDefinition | str,
    name: str,
    *,
    created_at: str | None = None,
    source_video: str | None = None,
    detected: bool = False,
) -> Reference:
    """A reference of type ``based_on`` (a built-in) called ``name`` from a tracked
    demonstration (see :func:`summarize_segments` for what is rejected)."""
    base = load_stroke(based_on) if isinstance(based_on, str) else based_on
    if base.id not in builtin_ids():
        raise DemonstrationError(
            f"stroke type: expected a built-in stroke ({', '.join(builtin_ids())}), "
            f"found {base.id!r}"
        )
    ref_id = reference_id(name)
    summaries = summarize_segments(track, base)
    data = stroke_to_dict(base)
    total_length, total_s = 0.0, 0.0
    for seg_dict, seg, summary in zip(data["segments"], base.segments, summaries, strict=True):
        geometry: dict[str, Any] = {"shape": "polyline", "points": summary.points}
        if seg.closed:
            geometry["closed"] = True
        seg_dict["geometry"] = geometry
        seg_dict["nominal_s"] = summary.nominal_s
        total_length += polyline_length(np.array(summary.points), seg.closed)
        total_s += summary.nominal_s
    data.update(
        id=ref_id,
        name=name.strip(),
        version=1,
        description=(
            f"{name.strip()}: recorded from a demonstration of {base.name}. {base.description}"
        )[:2000],
        nominal_speed_box_per_s=round(total_length / total_s, 4),
    )
    stroke = stroke_from_dict(data, f"reference {ref_id!r}")
    demonstration: dict[str, Any] = {
        "frames": track.frames,
        "repetitions": min(len(s.durations_s) for s in summaries),
        "detected": detected,
        "segments": [
            {
                "id": s.id,
                "repetitions": len(s.durations_s),
                "durations_s": [round(d, 3) for d in s.durations_s],
            }
            for s in summaries
        ],
    }
    if source_video:
        demonstration["video"] = Path(source_video).name[:255]
    ref = Reference(stroke, base.id, created_at or _now_iso(), demonstration)
    reference_from_dict(reference_to_dict(ref), f"reference {ref_id!r}")  # what we save, we read
    return ref


@dataclass(frozen=True)
class Candidate:
    """How well one built-in stroke type explains a demonstration."""

    stroke_id: str
    hands: int  # hands the type needs
    distance_box: float  # mean distance of the hand from the type's paths (nan if not valid)
    problem: str  # "" when every segment was found, else why not


def rank_stroke_types(
    observations: Sequence[tuple[float, HandObservation | None]],
    body_frame: BodyFrame,
    candidates: Sequence[str] | None = None,
) -> list[Candidate]:
    """Try each built-in type on the demonstration. Valid ones first: two-hand types before
    one-hand ones (a valid two-hand type saw both hands do their part, which explains more
    than one hand's part alone), then closest first."""
    tracks: dict[str, DemoTrack] = {}
    out = []
    for stroke_id in candidates or builtin_ids():
        stroke = load_stroke(stroke_id)
        if stroke.contact not in tracks:
            tracks[stroke.contact] = track_observations(observations, body_frame, stroke.contact)
        track = tracks[stroke.contact]
        matched = match_demonstration(track, stroke)
        try:
            summarize_segments(track, stroke, matched)
        except DemonstrationError as exc:
            out.append(Candidate(stroke_id, stroke.hands, math.nan, str(exc)))
            continue
        need = stroke.tolerances.incomplete_below
        used = [m.record for m in matched if m.record.coverage >= need and not m.record.reversed]
        weights = [stroke.segments[r.segment].nominal_s for r in used]
        dist = float(np.average([r.mean_distance_box for r in used], weights=weights))
        out.append(Candidate(stroke_id, stroke.hands, dist, ""))
    return sorted(
        out, key=lambda c: (bool(c.problem), -c.hands, 0.0 if c.problem else c.distance_box)
    )


def detect_stroke_type(
    observations: Sequence[tuple[float, HandObservation | None]], body_frame: BodyFrame
) -> tuple[str, list[Candidate]]:
    """The built-in type a demonstration shows (see :func:`rank_stroke_types`), when it fits
    clearly better than the next type needing as many hands; else DemonstrationError."""
    ranked = rank_stroke_types(observations, body_frame)
    valid = [c for c in ranked if not c.problem]
    if not valid:
        reasons = "; ".join(f"{c.stroke_id}: {c.problem}" for c in ranked)
        raise DemonstrationError(f"the demonstration fits none of the built-in strokes ({reasons})")
    rivals = [c for c in valid[1:] if c.hands == valid[0].hands]
    if rivals and valid[0].distance_box > _DETECT_MARGIN * rivals[0].distance_box:
        both = ", ".join(f"{c.stroke_id} ({c.distance_box:.2f} box)" for c in (valid[0], rivals[0]))
        raise DemonstrationError(
            f"cannot tell which stroke the demonstration shows ({both} fit about as well); "
            "say which with --stroke"
        )
    return valid[0].stroke_id, ranked


def observe_video(
    video_path: str | os.PathLike,
    landmarker=None,
    on_progress: Callable[[float], None] | None = None,
    num_hands: int = 2,
):
    """Run the hand landmarker over a video: ``([(timestamp_s, observation | None)], VideoInfo)``.

    Without ``landmarker`` one is made for ``num_hands`` hands (as scoring does: the
    stroke's number of hands; 2 while the stroke type is still unknown).

    Raises :class:`coach.vision.video.VideoError` (unreadable video) and
    :class:`coach.vision.models.ModelError` (no usable hand model).
    """
    from coach.vision.mediapipe_landmarker import HandLandmarker  # deferred: MediaPipe
    from coach.vision.observations import iter_observations  # deferred: PyAV
    from coach.vision.video import open_video  # deferred: PyAV

    observations: list[tuple[float, HandObservation | None]] = []
    with open_video(video_path) as reader:
        info = reader.info
        lm = landmarker or HandLandmarker(num_hands=num_hands)
        try:
            lm.reset()
            for frame, hands in iter_observations(reader, lm, on_progress, progress_every=15):
                observations.append((frame.timestamp_s, hands))
        finally:
            if landmarker is None:
                lm.close()
    return observations, info


def reference_from_observations(
    observations: Sequence[tuple[float, HandObservation | None]],
    body_frame: BodyFrame,
    name: str,
    based_on: str | None = None,
    *,
    source_video: str | None = None,
    created_at: str | None = None,
) -> Reference:
    """A reference from hand observations (a video or a live recording). ``based_on``
    None detects the stroke type (:func:`detect_stroke_type`)."""
    reference_id(name)  # a bad name fails before any work
    detected = based_on is None
    if based_on is None:
        based_on, _ = detect_stroke_type(observations, body_frame)
    base = load_stroke(based_on)
    track = track_observations(observations, body_frame, base.contact)
    return build_reference(
        track, base, name, created_at=created_at, source_video=source_video, detected=detected
    )


def record_reference(
    video_path: str | os.PathLike,
    name: str,
    body_frame_for: Callable[[tuple[int, int]], BodyFrame],
    based_on: str | None = None,
    *,
    landmarker=None,
    on_progress: Callable[[float], None] | None = None,
    created_at: str | None = None,
) -> Reference:
    """Record a reference from a demonstration video (not saved: see :func:`save_reference`).

    ``body_frame_for(size)`` builds the body frame from the frame size (width, height).
    """
    reference_id(name)
    if based_on is not None and based_on not in builtin_ids():
        raise DemonstrationError(
            f"stroke type: expected a built-in stroke ({', '.join(builtin_ids())}), "
            f"found {based_on!r}"
        )
    hands = load_stroke(based_on).hands if based_on is not None else 2
    observations, info = observe_video(video_path, landmarker, on_progress, num_hands=hands)
    body_frame = body_frame_for((info.width, info.height))
    return reference_from_observations(
        observations,
        body_frame,
        name,
        based_on,
        source_video=os.fspath(video_path),
        created_at=created_at,
    )
