"""Real human motion mapped onto a stroke's paths (evaluation clips).

The pen trajectories of ``../shared/data/real-motion`` (read its SOURCES.md) are real
people's circles and straight lines with their own timing. A sample is reduced to its
*progress* along its own shape (turns for a circle, fraction of the line for a line) and its
*lateral wobble* (relative radius, distance off the line), both as functions of its own time;
that is laid onto the performed path of a stroke segment and the time is stretched to the
segment's duration, so the speed profile (bell-shaped, speeding up and slowing down) is the
person's. Circles: which way a circle runs is read from its shoelace sign, never from a file
name; the progress is counted in the circle's own direction, so any sample serves either way
round (the performed path says which way). Letters: each straight leg of an I, L or U is one
line sample, the time shared in proportion to the leg lengths.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.core.strokes import Segment

SHARED_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MOTION_DIR = SHARED_DATA_DIR / "real-motion"
LINE_GESTURES = ("down", "up", "left", "right")
RESAMPLE_HZ = 60.0  # timed paths: points per second
MAX_WOBBLE_BOX = 0.08  # lateral wobble is clipped to this (box widths)
TEMPO_DRIFT = 0.15  # each segment's duration x a factor in [1 - d, 1 + d]
CORNER_DEG = 30.0  # a performed polyline turns by more than this at a corner


@dataclass(frozen=True)
class MotionSample:
    """One pen stroke: times (n,) in seconds from its first point, points (n, 2) in pixels
    (x right, y down), strictly increasing times."""

    gesture: str
    name: str
    t_s: np.ndarray
    xy: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0])


def shoelace(xy: np.ndarray) -> float:
    """Signed area of the closed polygon ``xy`` (n, 2). In screen coordinates (y down) a
    positive area runs clockwise on screen, a negative one anticlockwise."""
    p = np.asarray(xy, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def clockwise_on_screen(xy: np.ndarray) -> bool:
    """True when the circle ``xy`` (y down) runs clockwise on screen (shoelace sign)."""
    return shoelace(xy) > 0.0


def load_motion(gesture: str, folder: str | Path | None = None) -> list[MotionSample]:
    """Every sample of ``lowvision_<gesture>.json`` (its longest stroke), repeated or
    out-of-order time stamps dropped; samples shorter than 8 points or 0.2 s left out."""
    path = Path(folder or MOTION_DIR) / f"lowvision_{gesture}.json"
    try:
        data = json.loads(path.read_text())
        samples = data["samples"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"real motion: expected {path} with 'samples' ({exc})") from None
    out = []
    for s in samples:
        strokes = [np.asarray(st, dtype=np.float64).reshape(-1, 3) for st in s["strokes"]]
        if not strokes:
            continue
        pts = max(strokes, key=len)
        keep = np.concatenate([[True], pts[1:, 2] > np.maximum.accumulate(pts[:-1, 2])])
        pts = pts[keep]
        if len(pts) < 8 or pts[-1, 2] - pts[0, 2] < 200.0:
            continue
        t = (pts[:, 2] - pts[0, 2]) / 1000.0
        name = f"{gesture}/{s.get('subject', '?')}/{s.get('file', '?')}"
        out.append(MotionSample(gesture, name, t, pts[:, :2].copy()))
    return out


def resample_in_time(t_s: np.ndarray, xy: np.ndarray, n: int) -> np.ndarray:
    """``xy`` at ``n`` times evenly spaced from the first to the last of ``t_s`` (linear)."""
    tt = np.linspace(float(t_s[0]), float(t_s[-1]), int(n))
    return np.stack([np.interp(tt, t_s, xy[:, 0]), np.interp(tt, t_s, xy[:, 1])], axis=1)


def stretch_times(t_s: np.ndarray, duration_s: float) -> np.ndarray:
    """Times ``t_s`` scaled to run from 0 to ``duration_s`` (the speed profile's shape kept)."""
    t = np.asarray(t_s, dtype=np.float64)
    return (t - t[0]) * (float(duration_s) / float(t[-1] - t[0]))


def circle_progress(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A circle's progress in turns (0 at its start, positive in its own direction) and its
    relative radius wobble (radius / median radius - 1), per point."""
    p = np.asarray(xy, dtype=np.float64)
    centre = (p.min(axis=0) + p.max(axis=0)) / 2.0
    rel = p - centre
    ang = np.unwrap(np.arctan2(rel[:, 1], rel[:, 0]))  # increases clockwise on screen (y down)
    sign = 1.0 if clockwise_on_screen(p) else -1.0
    turns = (ang - ang[0]) * sign / (2.0 * math.pi)
    r = np.hypot(rel[:, 0], rel[:, 1])
    return turns, r / max(float(np.median(r)), 1e-9) - 1.0


def line_progress(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A line's progress (projection on start->end over its length: 0 at the start, 1 at the
    end) and its signed distance off that line over the length, per point."""
    p = np.asarray(xy, dtype=np.float64)
    axis = p[-1] - p[0]
    length = max(float(np.hypot(*axis)), 1e-9)
    e = axis / length
    rel = p - p[0]
    return rel @ e / length, (rel[:, 0] * e[1] - rel[:, 1] * e[0]) / length


def _cum(path: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])


def place_on_path(path: np.ndarray, s: np.ndarray, d_box: np.ndarray) -> np.ndarray:
    """Points at arc-length fractions ``s`` of ``path`` (n, 2; beyond 0..1 the end legs are
    extended), moved ``d_box`` along the path's left normal (u right, v down)."""
    path = np.asarray(path, dtype=np.float64)
    cum = _cum(path)
    total = max(cum[-1], 1e-12)
    dist = np.asarray(s, dtype=np.float64) * total
    x = np.interp(dist, cum, path[:, 0])
    y = np.interp(dist, cum, path[:, 1])
    # extend straight beyond the ends (overshoot / start early)
    t0 = path[1] - path[0]
    t1 = path[-1] - path[-2]
    t0 = t0 / max(np.hypot(*t0), 1e-12)
    t1 = t1 / max(np.hypot(*t1), 1e-12)
    before, after = dist < 0, dist > total
    x[before] += t0[0] * dist[before]
    y[before] += t0[1] * dist[before]
    x[after] += t1[0] * (dist[after] - total)
    y[after] += t1[1] * (dist[after] - total)
    eps = total * 1e-3
    ahead = np.clip(dist + eps, 0, total)
    behind = np.clip(dist - eps, 0, total)
    tx = np.interp(ahead, cum, path[:, 0]) - np.interp(behind, cum, path[:, 0])
    ty = np.interp(ahead, cum, path[:, 1]) - np.interp(behind, cum, path[:, 1])
    norm = np.maximum(np.hypot(tx, ty), 1e-12)
    nx, ny = ty / norm, -tx / norm
    d = np.clip(np.asarray(d_box, dtype=np.float64), -MAX_WOBBLE_BOX, MAX_WOBBLE_BOX)
    return np.stack([x + nx * d, y + ny * d], axis=1)


def corner_legs(path: np.ndarray) -> list[np.ndarray]:
    """The straight legs of a polyline (split where it turns by more than CORNER_DEG)."""
    path = np.asarray(path, dtype=np.float64)
    step = np.diff(path, axis=0)
    keep = np.hypot(step[:, 0], step[:, 1]) > 1e-9
    heading = np.arctan2(step[keep, 1], step[keep, 0])
    idx = np.flatnonzero(keep)
    turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))
    cuts = [0] + [int(idx[k + 1]) for k in np.flatnonzero(turn > math.radians(CORNER_DEG))]
    cuts.append(len(path) - 1)
    return [path[a : b + 1] for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


def _taper(n: int, frac: float = 0.1) -> np.ndarray:
    """1 in the middle, 0 at both ends (a raised cosine over ``frac`` of the points)."""
    k = max(1, int(round(frac * n)))
    w = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, k))
    w[:k] = ramp
    w[n - k :] = np.minimum(w[n - k :], ramp[::-1])
    return w


def timed_circle(path: np.ndarray, sample: MotionSample, duration_s: float) -> np.ndarray:
    """A circle (or an arc) ``path`` performed with ``sample``'s timing and wobble: points
    evenly spaced in time over ``duration_s``, starting and ending exactly on the path."""
    n = max(2, int(math.ceil(duration_s * RESAMPLE_HZ)) + 1)
    xy = resample_in_time(sample.t_s, sample.xy, n)
    turns, wobble = circle_progress(xy)
    s = turns / turns[-1] if abs(turns[-1]) > 1e-9 else np.linspace(0, 1, n)
    centre = path[:-1].mean(axis=0) if len(path) > 2 else path[0]
    radius = float(np.median(np.linalg.norm(path - centre, axis=1)))
    return place_on_path(path, s, wobble * radius * _taper(n))


def timed_line(path: np.ndarray, sample: MotionSample, duration_s: float) -> np.ndarray:
    """A straight ``path`` performed with ``sample``'s timing and wobble (see timed_circle)."""
    n = max(2, int(math.ceil(duration_s * RESAMPLE_HZ)) + 1)
    xy = resample_in_time(sample.t_s, sample.xy, n)
    s, off = line_progress(xy)
    length = float(_cum(path)[-1])
    return place_on_path(path, s, off * length)


def _good_circle(m: MotionSample) -> bool:
    turns, wobble = circle_progress(m.xy)
    return 0.85 <= abs(turns[-1]) <= 1.2 and float(np.max(np.abs(wobble))) < 0.5


def _good_line(m: MotionSample) -> bool:
    s, off = line_progress(m.xy)
    length = float(np.hypot(*(m.xy[-1] - m.xy[0])))
    return length > 40.0 and float(np.max(np.abs(off))) < 0.2 and float(s.max()) < 1.3


class RealMotion:
    """A :data:`coach.synth.MotionModel`: each segment the synth performs is given a real
    person's timing. Samples are drawn from ``seed`` (deterministic); each segment's duration
    is the synth's (nominal, or 1/3x, 3x for pace faults) times a tempo drift in
    [1 - :data:`TEMPO_DRIFT`, 1 + :data:`TEMPO_DRIFT`]."""

    def __init__(self, seed: int, folder: str | Path | None = None, drift: float = TEMPO_DRIFT):
        self.rng = np.random.default_rng(seed)
        self.drift = float(drift)
        self.circles = [m for m in load_motion("circle", folder) if _good_circle(m)]
        self.lines = [m for g in LINE_GESTURES for m in load_motion(g, folder) if _good_line(m)]
        if not self.circles or not self.lines:
            raise ValueError("real motion: expected usable circle and line samples")
        self.used: list[str] = []

    def _pick(self, pool: list[MotionSample]) -> MotionSample:
        m = pool[int(self.rng.integers(len(pool)))]
        self.used.append(m.name)
        return m

    def __call__(
        self, path: np.ndarray, duration_s: float, segment: Segment
    ) -> tuple[np.ndarray, float]:
        path = np.asarray(path, dtype=np.float64)
        duration = float(duration_s) * (1.0 + self.drift * float(self.rng.uniform(-1.0, 1.0)))
        shape = (segment.geometry or {}).get("shape", "")
        if segment.closed or shape in ("circle", "arc"):
            return timed_circle(path, self._pick(self.circles), duration), duration
        legs = corner_legs(path)
        lengths = np.array([float(_cum(leg)[-1]) for leg in legs])
        parts = []
        for leg, length in zip(legs, lengths, strict=True):
            d = duration * length / max(float(lengths.sum()), 1e-12)
            pts = timed_line(leg, self._pick(self.lines), d)
            parts.append(pts if not parts else pts[1:])
        # Legs are resampled at the same rate, so the joined points stay evenly spaced in time.
        return np.vstack(parts), duration
