"""Hand paths in the body frame, computed exactly, for matcher / scoring / pipeline tests.

A performance walks every segment of a stroke at a constant speed (``factor`` times
the nominal duration), pausing at the ends and moving straight between segments as
a lifted hand would. No video, no model: the numbers are known exactly.
"""

from __future__ import annotations

import numpy as np

from coach.core.strokes import StrokeDefinition

Sample = tuple[np.ndarray, float]


def along(points: np.ndarray, fraction: float, closed: bool = False) -> np.ndarray:
    """The point ``fraction`` (0..1) of the way along a polyline, by arc length."""
    pts = np.vstack([points, points[:1]]) if closed else np.asarray(points)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.clip(fraction, 0.0, 1.0) * cum[-1]
    i = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1))
    f = (s - cum[i]) / seg[i] if seg[i] > 0 else 0.0
    return pts[i] + f * (pts[i + 1] - pts[i])


def perform(
    stroke: StrokeDefinition,
    *,
    factor: float = 1.0,
    reverse: bool = False,
    offset: tuple[float, float] = (0.0, 0.0),
    fps: float = 30.0,
    repetitions: int = 2,
    transition_s: float = 1.0,
    pause_s: float = 0.3,
    coverage: float = 1.0,
    segments: tuple[int, ...] | None = None,
    dt_jitter: float = 0.0,
    seed: int = 0,
) -> list[Sample]:
    """Samples (uv, t) of ``repetitions`` repetitions of ``stroke``.

    ``coverage`` < 1 stops each segment early; ``dt_jitter`` (0..1) drops that share
    of the frames at random, like live video that falls behind.
    """
    rng = np.random.default_rng(seed)
    off = np.asarray(offset, dtype=float)
    out: list[Sample] = []
    t = 0.0
    pos: np.ndarray | None = None

    def emit(p: np.ndarray) -> None:
        nonlocal t
        # Dropped frames: the frame exists in time but is never delivered.
        if not dt_jitter or not out or rng.random() >= dt_jitter:
            out.append((np.asarray(p, dtype=float) + off, t))
        t += 1.0 / fps

    for _ in range(repetitions):
        for k in segments if segments is not None else range(len(stroke.segments)):
            seg = stroke.segments[k]
            pts = seg.points[::-1] if reverse else seg.points
            if pos is not None and not seg.closed:
                start = along(pts, 0.0, seg.closed)
                n = max(1, int(transition_s * fps))
                for a in np.linspace(0.0, 1.0, n):
                    emit(pos + (start - pos) * a)
            for _ in range(int(pause_s * fps)):
                emit(along(pts, 0.0, seg.closed))
            n = max(2, int(round(seg.nominal_s * factor * coverage * fps)))
            for x in np.linspace(0.0, coverage, n):
                emit(along(pts, x, seg.closed))
            end = along(pts, coverage, seg.closed)
            for _ in range(int(pause_s * fps)):
                emit(end)
            pos = end
    return out


def run_matcher(matcher, samples: list[Sample]):
    """Feed samples; return all records (including those closed at the end)."""
    records = []
    for uv, t in samples:
        p = matcher.update(uv, t)
        if p is not None:
            records.extend(p.completed)
    records.extend(matcher.finish(samples[-1][1]))
    return records
