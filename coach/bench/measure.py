"""Measurement helpers of the benchmark: memory (RSS, peak), percentiles, growth over
a clip, the recorded detections and the per-stage timer; the targets."""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from collections.abc import Sequence

import numpy as np

from coach.core.types import HandObservation

#: Frames per interleaved chunk (2 s of a 30 fps clip).
CHUNK_FRAMES = 60
#: Memory (RSS, Python heap) is sampled every this many frames.
SAMPLE_EVERY_FRAMES = 10
#: Window at the start and end of a clip for the "memory flat" comparison, seconds.
FLAT_WINDOW_S = 60.0
#: Targets (issue 2).
TARGET_RATIO = 0.87
TARGET_STAGE_P99_MS = 1.0
#: "Flat" memory: RSS of the last window at most this much above the first one, MB,
#: and the pipeline's Python heap at most this much, MB.
FLAT_RSS_MB = 8.0
FLAT_HEAP_MB = 1.0


# =================================================================================================
# Measurement helpers
# =================================================================================================


def rss_mb() -> float:
    """Resident set size of this process now, MB (``/proc/self/statm``; else peak RSS)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return max_rss_mb()


def max_rss_mb() -> float:
    """Peak RSS of the whole process so far, MB (``getrusage``; KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (Linux ``clear_refs``); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float | None:
    """RSS high-water mark since the last :func:`reset_peak_rss`, MB (Linux ``VmHWM``)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except (OSError, ValueError, IndexError):
        pass
    return None


def percentiles_ms(samples_s: np.ndarray) -> dict[str, float]:
    """p50, p99, max and mean of per-frame times given in seconds, in milliseconds."""
    x = np.asarray(samples_s, dtype=np.float64)
    x = x[np.isfinite(x)] * 1e3
    if x.size == 0:
        return {"p50": math.nan, "p99": math.nan, "max": math.nan, "mean": math.nan}
    return {
        "p50": float(np.percentile(x, 50)),
        "p99": float(np.percentile(x, 99)),
        "max": float(x.max()),
        "mean": float(x.mean()),
    }


def window_growth(
    t_s: Sequence[float], values: Sequence[float], duration_s: float
) -> dict[str, float]:
    """Median of ``values`` over the first and the last window of the clip, and their difference.

    ``t_s`` are the sample times in clip seconds, increasing. The window is
    :data:`FLAT_WINDOW_S`, or a quarter of the clip when that is shorter than four windows.
    ``slope_per_min`` is the least-squares trend over the second half of the clip, per
    minute of video: unlike the window difference it leaves out warm-up (buffers that
    fill during the first minute or so, such as the pipeline's 90 s path memory).
    """
    t = np.asarray(t_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    window = min(FLAT_WINDOW_S, duration_s / 4.0)
    if v.size == 0:
        return {
            "window_s": window,
            "first": math.nan,
            "last": math.nan,
            "growth": math.nan,
            "slope_per_min": math.nan,
        }
    first = v[t <= t[0] + window]
    last = v[t >= t[-1] - window]
    a, b = float(np.median(first)), float(np.median(last))
    half = t >= (t[0] + t[-1]) / 2.0
    slope = math.nan
    if np.count_nonzero(half) >= 3 and np.ptp(t[half]) > 0:
        slope = float(np.polyfit(t[half], v[half], 1)[0]) * 60.0
    return {"window_s": window, "first": a, "last": b, "growth": b - a, "slope_per_min": slope}


class _Series:
    """A preallocated float64 series (per-frame times) that grows if a clip is longer."""

    def __init__(self, capacity: int) -> None:
        self.data = np.full(max(16, capacity), np.nan)
        self.n = 0

    def append(self, x: float) -> None:
        if self.n == self.data.size:
            self.data = np.concatenate([self.data, np.full(self.data.size, np.nan)])
        self.data[self.n] = x
        self.n += 1

    def values(self) -> np.ndarray:
        return self.data[: self.n]


class ObservationLog:
    """Detections of a whole clip in preallocated arrays, to replay the pipeline later.

    Kept compact and allocated up front (and touched) so that recording does not make
    the process grow while memory is being watched.
    """

    def __init__(self, capacity: int, max_hands: int = 2) -> None:
        cap = max(16, capacity)
        self.landmarks = np.full((cap, max_hands, 21, 3), np.nan)
        self.scores = np.full((cap, max_hands), np.nan)
        self.n_hands = np.zeros(cap, dtype=np.int16)
        self.t_s = np.full(cap, np.nan)
        self.image_size = (0, 0)
        self.n = 0

    def add(self, timestamp_s: float, obs: HandObservation | None) -> None:
        if self.n == self.t_s.size:
            raise ValueError(f"ObservationLog: more than the {self.t_s.size} frames announced")
        i = self.n
        self.t_s[i] = timestamp_s
        if obs is not None:
            k = min(obs.n_hands, self.landmarks.shape[1])
            self.landmarks[i, :k] = obs.landmarks[:k]
            self.scores[i, :k] = obs.scores[:k]
            self.n_hands[i] = k
            self.image_size = obs.image_size
        self.n += 1

    def __len__(self) -> int:
        return self.n

    def observation(self, i: int) -> HandObservation | None:
        k = int(self.n_hands[i])
        if k == 0:
            return None
        return HandObservation(
            timestamp_s=float(self.t_s[i]),
            landmarks=self.landmarks[i, :k],
            scores=self.scores[i, :k],
            image_size=self.image_size,
        )


class StageTimer:
    """Times ``Coach.update`` and, inside it, ``ContactSmoother.update``, per frame.

    Installs instance-level wrappers on one :class:`coach.core.pipeline.Coach`; the time
    of matcher + scoring + hints is ``update - tracker`` for each frame, as wall time
    (``perf_counter``) and as this thread's CPU time (``thread_time``, which leaves
    out the time the thread waited for a core on a busy machine).
    """

    def __init__(self, coach, capacity: int) -> None:
        self.update_s = _Series(capacity)
        self.tracker_s = _Series(capacity)
        self.stages_cpu_s = _Series(capacity)
        clock, cpu = time.perf_counter, time.thread_time
        inner_update, inner_track = coach.update, coach.tracker.update
        tracker_box = [0.0, 0.0]  # wall, cpu seconds of the tracker in this frame

        def timed_track(obs, t):
            t0, c0 = clock(), cpu()
            out = inner_track(obs, t)
            tracker_box[0], tracker_box[1] = clock() - t0, cpu() - c0
            return out

        def timed_update(obs, t):
            tracker_box[0] = tracker_box[1] = 0.0
            t0, c0 = clock(), cpu()
            out = inner_update(obs, t)
            wall, cpu_s = clock() - t0, cpu() - c0
            self.update_s.append(wall)
            self.tracker_s.append(tracker_box[0])
            self.stages_cpu_s.append(cpu_s - tracker_box[1])
            return out

        coach.tracker.update = timed_track
        coach.update = timed_update

    def summary(self) -> dict[str, dict[str, float]]:
        total, tracker = self.update_s.values(), self.tracker_s.values()
        return {
            "stages_ms": percentiles_ms(total - tracker),
            "stages_cpu_ms": percentiles_ms(self.stages_cpu_s.values()),
            "tracker_ms": percentiles_ms(tracker),
            "update_ms": percentiles_ms(total),
        }
