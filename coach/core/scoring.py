"""Per-repetition scoring: pure functions from matched segments (and the hand's path) to verdicts.

Verdicts follow strokes.md sections 3 and 5:

- direction: ``wrong`` when any segment of the repetition was followed backwards;
- pace: duration over nominal below ``pace.too_fast_below`` is ``too_fast``, above
  ``pace.too_slow_above`` is ``too_slow`` (0.6 and 1.8 by default: 3x is always
  flagged, 15% never);
- coverage: fraction of the reference travelled, ``incomplete`` below the tolerance;
- ``off_path``: mean distance from the path above the tolerance;
- ``jerky``: stop-and-go: the hand's speed drops to near zero and picks up again more
  often than ``tolerances.jerky_stops_per_s`` per second of stroking. (The log
  dimensionless jerk is reported as ``smoothness`` too, but it depends on duration and
  tracking noise too much to be a verdict on its own.)

Pace and coverage come from travel along the path (see coach.matcher), so a constant
offset of the tracked point does not change them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from coach.core.strokes import StrokeDefinition
from coach.core.types import RepetitionScore, SegmentRecord

#: Points taken off a perfect 100 for each finding (a user can read the score as
#: "100 minus what went wrong"). Pace inside the band loses up to PACE_IN_BAND.
PENALTY = {
    "wrong_direction": 40,
    "too_fast": 25,
    "too_slow": 25,
    "incomplete": 25,
    "off_path": 20,
    "jerky": 10,
    "lifted": 10,
}
PACE_IN_BAND = 10


def pace_verdict(duration_ratio: float, stroke: StrokeDefinition) -> str:
    """``ok`` / ``too_fast`` / ``too_slow`` for actual duration over nominal duration."""
    if not math.isfinite(duration_ratio) or duration_ratio <= 0:
        return "ok"
    if duration_ratio < stroke.pace.too_fast_below:
        return "too_fast"
    if duration_ratio > stroke.pace.too_slow_above:
        return "too_slow"
    return "ok"


def log_dimensionless_jerk(t_s: np.ndarray, uv: np.ndarray) -> float:
    """Log dimensionless jerk (LDLJ) of a path: ``-ln(T^3 / v_peak^2 * integral |jerk|^2 dt)``.

    Computed on the path resampled at 30 Hz and lightly smoothed, so tracking noise
    does not dominate. Smooth, steady strokes give values around -6 to -9; stop-and-go
    strokes are clearly lower. NaN when the path is too short to judge.
    """
    t = np.asarray(t_s, dtype=float)
    p = np.asarray(uv, dtype=float)
    if len(t) < 8 or t[-1] - t[0] < 0.5:
        return math.nan
    dt = 1.0 / 30.0
    grid = np.arange(t[0], t[-1], dt)
    if len(grid) < 8:
        return math.nan
    x = np.column_stack([np.interp(grid, t, p[:, 0]), np.interp(grid, t, p[:, 1])])
    kernel = np.ones(5) / 5.0
    x = np.column_stack([np.convolve(x[:, i], kernel, mode="valid") for i in range(2)])
    v = np.diff(x, axis=0) / dt
    speed = np.linalg.norm(v, axis=1)
    v_peak = float(speed.max()) if len(speed) else 0.0
    if v_peak <= 1e-6 or len(v) < 4:
        return math.nan
    jerk = np.diff(v, n=2, axis=0) / dt**2
    duration = dt * len(v)
    integral = float(np.sum(np.sum(jerk**2, axis=1)) * dt)
    if integral <= 0:
        return math.nan
    return -math.log(duration**3 / v_peak**2 * integral)


def speed_stops(t_s: np.ndarray, uv: np.ndarray) -> tuple[int, float]:
    """Count stop-and-go events of a path: ``(stops, moving_s)``.

    The speed (resampled at 30 Hz, smoothed over 0.2 s) must fall below 25% of the
    stroke's typical speed (its 80th percentile) and rise again above 60% of it; the
    pauses before the first and after the last movement do not count. ``moving_s`` is
    the time from the first to the last moment above 60%.

    A slow-down where the path turns a corner is not a stop: people slow almost to a
    standstill at a sharp corner (the L's and the U's corners), which is how a hand
    draws a corner, not stop-and-go. A corner is a turn of at least ``CORNER_DEG``
    between the last ``CORNER_ARC_BOX`` of path before the slow-down and the first
    after it; a circle turns far less over that little path (a Sun circle, radius
    0.35 box, about 20 degrees plus what the hand drifts while slow).
    """
    t = np.asarray(t_s, dtype=float)
    p = np.asarray(uv, dtype=float)
    if len(t) < 8 or t[-1] - t[0] < 0.5:
        return 0, 0.0
    dt = 1.0 / 30.0
    grid = np.arange(t[0], t[-1], dt)
    x = np.column_stack([np.interp(grid, t, p[:, 0]), np.interp(grid, t, p[:, 1])])
    step = np.linalg.norm(np.diff(x, axis=0), axis=1)  # path length between samples
    speed = step / dt
    k = 6
    if len(speed) <= k:
        return 0, 0.0
    speed = np.convolve(speed, np.ones(k) / k, mode="valid")
    typical = float(np.percentile(speed, 80))
    if typical <= 1e-6:
        return 0, 0.0
    high = np.flatnonzero(speed >= 0.6 * typical)
    if high.size == 0:
        return 0, 0.0
    stops, low, slow_from = 0, False, 0
    for i in range(high[0], high[-1] + 1):
        v = speed[i]
        if not low and v < 0.25 * typical:
            low, slow_from = True, i
        elif low and v >= 0.6 * typical:
            low = False
            # speed[i] averages the steps from x[i] to x[i + k]: its middle is x[i + k/2].
            if _turn_deg(x, step, slow_from + k // 2, i + k // 2) < CORNER_DEG:
                stops += 1
    return stops, float((high[-1] - high[0]) * dt)


#: A slow-down is at a corner when the path turns at least this much across it.
CORNER_DEG = 45.0
#: How much path on each side of a slow-down gives its headings in and out (box).
CORNER_ARC_BOX = 0.06


def _turn_deg(x: np.ndarray, step: np.ndarray, before: int, after: int) -> float:
    """Turn of the path ``x`` (``step``: the length between its samples) between its
    heading into ``x[before]`` and out of ``x[after]``.

    Each heading is the chord over ``CORNER_ARC_BOX`` of path (less at the path's ends).
    Returns 0 when either chord is under half of that: too little path to tell a
    corner, so the slow-down counts as a stop.
    """
    before, after = min(before, len(x) - 1), min(after, len(x) - 1)
    i, travelled = before, 0.0
    while i > 0 and travelled < CORNER_ARC_BOX:
        i -= 1
        travelled += step[i]
    j, ahead = after, 0.0
    while j < len(x) - 1 and ahead < CORNER_ARC_BOX:
        ahead += step[j]
        j += 1
    h_in, h_out = x[before] - x[i], x[j] - x[after]
    n_in, n_out = float(np.linalg.norm(h_in)), float(np.linalg.norm(h_out))
    if min(n_in, n_out) < CORNER_ARC_BOX / 2:
        return 0.0
    cos = float(np.dot(h_in, h_out)) / (n_in * n_out)
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def score_repetition(
    stroke: StrokeDefinition,
    index: int,
    records: Sequence[SegmentRecord],
    expected_segments: Sequence[int],
    path_t_s: np.ndarray | None = None,
    path_uv: np.ndarray | None = None,
) -> RepetitionScore:
    """Score one repetition from the segments the matcher saw.

    ``expected_segments`` lists the segments a full repetition has (a missing one
    counts as not covered). ``path_t_s``/``path_uv`` is the hand's smoothed path
    over the repetition, for smoothness; without it smoothness is not judged.
    """
    if not records:
        raise ValueError("score_repetition: expected at least one segment record, found none")
    by_seg = {r.segment: r for r in records}
    nominal = {s: stroke.segments[s].nominal_s for s in expected_segments}
    total_nominal = float(sum(nominal.values()))
    tol = stroke.tolerances

    coverage = sum(nominal[s] * by_seg[s].coverage for s in expected_segments if s in by_seg)
    coverage = float(np.clip(coverage / total_nominal, 0.0, 1.0)) if total_nominal > 0 else 0.0
    seg_cov = [by_seg[s].coverage if s in by_seg else 0.0 for s in expected_segments]

    # Pace: over the segments whose duration could be measured.
    timed = [r for r in records if math.isfinite(r.duration_s) and r.duration_s > 0]
    done_nominal = float(sum(stroke.segments[r.segment].nominal_s for r in timed))
    duration = float(sum(r.duration_s for r in timed))
    ratio = duration / done_nominal if timed and done_nominal > 0 else math.nan
    pace = pace_verdict(ratio, stroke)
    speed_ratio = 1.0 / ratio if math.isfinite(ratio) and ratio > 0 else math.nan

    direction = "wrong" if any(r.reversed for r in records) else "ok"
    weights = np.array([stroke.segments[r.segment].nominal_s for r in records])
    dists = np.array([r.mean_distance_box for r in records])
    ok = np.isfinite(dists)
    mean_dist = float(np.average(dists[ok], weights=weights[ok])) if ok.any() else math.nan

    smooth = math.nan
    stops, moving_s = 0, 0.0
    if path_t_s is not None and path_uv is not None and len(path_t_s) >= 8:
        values = []
        for r in records:
            inside = (path_t_s >= r.start_s) & (path_t_s <= r.end_s)
            v = log_dimensionless_jerk(path_t_s[inside], path_uv[inside])
            if math.isfinite(v):
                values.append(v)
            n, m = speed_stops(path_t_s[inside], path_uv[inside])
            stops += n
            moving_s += m
        if values:
            smooth = float(np.mean(values))

    flags: list[str] = []
    if direction == "wrong":
        flags.append("wrong_direction")
    if pace != "ok":
        flags.append(pace)
    if min(seg_cov) < tol.incomplete_below:
        flags.append("incomplete")
    if math.isfinite(mean_dist) and mean_dist > tol.off_path_box:
        flags.append("off_path")
    if stops >= 2 and stops / max(moving_s, 1e-9) > tol.jerky_stops_per_s:
        flags.append("jerky")

    score = 100.0 - sum(PENALTY[f] for f in flags)
    if pace == "ok" and math.isfinite(ratio):
        # Inside the band, lose a little for being off nominal (log scale, 0 at nominal).
        band = (
            math.log(stroke.pace.too_slow_above)
            if ratio >= 1
            else -math.log(stroke.pace.too_fast_below)
        )
        score -= PACE_IN_BAND * min(1.0, abs(math.log(ratio)) / band)
    if "incomplete" in flags:
        score -= 20 * (1.0 - coverage)
    start = min(r.start_s for r in records)
    end = max(r.end_s for r in records)
    return RepetitionScore(
        index=index,
        start_s=float(start),
        end_s=float(end),
        duration_s=float(duration) if timed else float(end - start),
        nominal_s=float(done_nominal if timed else total_nominal),
        score=int(round(float(np.clip(score, 0, 100)))),
        direction=direction,  # type: ignore[arg-type]
        pace=pace,  # type: ignore[arg-type]
        speed_ratio=float(speed_ratio),
        coverage=coverage,
        flags=tuple(flags),
        smoothness=smooth,
        mean_distance_box=mean_dist,
        segments=tuple(sorted(records, key=lambda r: r.start_s)),
    )


def session_score(scores: Sequence[RepetitionScore]) -> int:
    """The session's score: the mean of its repetitions' scores (0 when there are none)."""
    if not scores:
        return 0
    return int(round(float(np.mean([s.score for s in scores]))))
