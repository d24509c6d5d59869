"""``coach bench``: how much the coaching pipeline costs on top of MediaPipe.

For each clip (a synthetic I Love You practice, 640x480 at 30 fps, short and long)
one run measures, on the *same* file:

* **MediaPipe alone**: decode + the hand landmarker's ``detect`` per frame, the one
  ``coach score`` uses (:func:`coach.hand_tracker.offline_landmarker`) (pass A);
* **full pipeline**: exactly what ``coach score`` does per frame, decode +
  ``Coach.process`` (detect, tracker, matcher, scoring, hints), then ``finish()``
  and ``build_report`` (pass B);
* the ratio B/A of their frame rates (target >= 0.87);
* the per-frame time of our stages after the tracker (matcher + scoring + hints:
  ``Coach.update`` minus ``HandTracker.update``), p50 / p99 / max (target p99 < 1 ms);
* memory: peak RSS, RSS sampled along the clip (first vs last window: flat?), and the
  Python heap of the pipeline (tracemalloc) from a replay of the recorded detections.

Fairness: the two passes have their own decoder and landmarker and run *interleaved*
in chunks of frames, the order alternating A B, B A, A B, ... so that a change in
machine load hits both equally. Each pass still sees the whole clip in order, so
MediaPipe's tracking works as in a plain run. tracemalloc slows every Python
allocation, so it is only switched on in the replay, never while timing A and B.

Clips are rendered once into ``samples/bench/`` (or ``out_dir``) and reused while
the sample generator's version and the clip parameters are unchanged.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.numbers import finite_or_none
from coach.core.strokes import load_stroke
from coach.core.types import HANDS_LOOKED_FOR, Frame, HandObservation
from coach.render.report import build_report
from coach.storage import paths
from coach.vision.models import ModelError

#: Bump when the clip choice or naming changes (cached clips are then rebuilt).
BENCH_CLIP_VERSION = 1
STROKE_ID = "i-love-you"
CLIP_SIZE = (640, 480)
CLIP_FPS = 30.0
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

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_out_dir() -> Path:
    """``<samples>/bench`` (:func:`coach.paths.samples_dir`; in a checkout ``samples/bench``,
    git-ignored)."""
    return paths.samples_dir() / "bench"


# =================================================================================================
# Clips
# =================================================================================================


@dataclass(frozen=True)
class BenchClip:
    """A rendered benchmark clip and what ``coach score`` needs to score it."""

    path: Path
    stroke: str
    duration_s: float
    frames: int
    fps: float
    size: tuple[int, int]  # (width, height) pixels
    tummy_box: tuple[float, float, float, float]  # normalised x0, y0, x1, y1 of the stored frame
    head: str
    mirrored: bool
    truth_repetitions: int  # complete repetitions in the ground truth
    generator_version: int
    bench_clip_version: int = BENCH_CLIP_VERSION

    def body_frame(self):
        return BodyFrame.from_box(self.tummy_box, self.head, self.mirrored, self.size)

    def meta(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = self.path.name
        return d


def _clip_name(stroke: str, duration_s: float) -> str:
    return f"bench-{stroke}-{duration_s:g}s"


def _cached_clip(video: Path, meta_path: Path, expected: dict[str, Any]) -> BenchClip | None:
    """The clip described by ``meta_path`` if it is complete and matches ``expected``."""
    from coach.vision.video import VideoError, read_info  # deferred: PyAV

    try:
        meta = json.loads(meta_path.read_text())
        if any(meta.get(k) != v for k, v in expected.items()):
            return None
        clip = BenchClip(
            path=video,
            stroke=meta["stroke"],
            duration_s=float(meta["duration_s"]),
            frames=int(meta["frames"]),
            fps=float(meta["fps"]),
            size=(int(meta["size"][0]), int(meta["size"][1])),
            tummy_box=tuple(float(c) for c in meta["tummy_box"]),  # type: ignore[arg-type]
            head=meta["head"],
            mirrored=bool(meta["mirrored"]),
            truth_repetitions=int(meta["truth_repetitions"]),
            generator_version=int(meta["generator_version"]),
            bench_clip_version=int(meta["bench_clip_version"]),
        )
        info = read_info(video)
    except (OSError, ValueError, KeyError, TypeError, VideoError):
        return None
    if abs(info.frames - clip.frames) > 1:
        return None
    return clip


def ensure_clip(
    out_dir: Path,
    duration_s: float,
    *,
    stroke: str = STROKE_ID,
    size: tuple[int, int] = CLIP_SIZE,
    fps: float = CLIP_FPS,
    log: Log = _stderr,
) -> BenchClip:
    """Render (or reuse) a correct practice clip of ``duration_s`` seconds in ``out_dir``.

    The video is ``bench-<stroke>-<duration>s.mp4`` (ground truth in ``.truth.json``, by
    :func:`coach.synth.render_sample`) next to a ``.json`` with the clip's parameters,
    written last: a clip is reused only when complete and made by the current generator.
    """
    from coach.samples import synth  # deferred: PyAV, OpenCV

    out_dir.mkdir(parents=True, exist_ok=True)
    name = _clip_name(stroke, duration_s)
    video, meta_path = out_dir / f"{name}.mp4", out_dir / f"{name}.json"
    expected = {
        "stroke": stroke,
        "duration_s": float(duration_s),
        "fps": float(fps),
        "size": list(size),
        "generator_version": synth.GENERATOR_VERSION,
        "bench_clip_version": BENCH_CLIP_VERSION,
    }
    cached = _cached_clip(video, meta_path, expected)
    if cached is not None:
        log(f"bench: reusing {video}")
        return cached

    frames = int(math.floor(duration_s * fps + 1e-6))
    log(
        f"bench: rendering {video} ({frames} frames, {duration_s:g} s of video; "
        f"about {frames / 100:.0f} s at ~100 frames/s)"
    )
    meta_path.unlink(missing_ok=True)
    started = time.monotonic()
    truth = synth.render_sample(
        stroke, video, fault="none", size=size, fps=fps, duration_s=duration_s, seed=0
    )
    clip = BenchClip(
        path=video,
        stroke=stroke,
        duration_s=float(duration_s),
        frames=int(truth.frames),
        fps=float(fps),
        size=(int(size[0]), int(size[1])),
        tummy_box=tuple(float(c) for c in truth.tummy_box),  # type: ignore[arg-type]
        head=truth.head,
        mirrored=truth.mirrored,
        truth_repetitions=len(truth.repetitions),
        generator_version=synth.GENERATOR_VERSION,
    )
    meta_path.write_text(json.dumps(clip.meta(), indent=2) + "\n")
    log(f"bench: rendered in {time.monotonic() - started:.0f} s")
    return clip


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
    """Times ``Coach.update`` and, inside it, ``HandTracker.update``, per frame.

    Installs instance-level wrappers on one :class:`coach.pipeline.Coach`; the time
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


# =================================================================================================
# The two passes
# =================================================================================================


class _Pass:
    """One pass over the clip with its own decoder; advanced a chunk at a time."""

    name = "?"

    def __init__(self, clip: BenchClip, landmarker) -> None:
        from coach.vision.observations import iter_observations  # deferred: PyAV
        from coach.vision.video import open_video  # deferred: PyAV

        self.clip = clip
        self.reader = open_video(clip.path)
        self._frames: Iterator[tuple[Frame, HandObservation | None]] = iter_observations(
            self.reader, landmarker
        )
        self.frame_s = _Series(clip.frames + 64)
        self.busy_s = 0.0  # everything this pass did, timed (wall clock)
        self.cpu_s = 0.0  # process CPU time (all threads) during this pass's timed work
        self.done = False
        self.last_t_s = 0.0
        self.chunks: list[tuple[int, float]] = []  # (frames, busy seconds) per chunk

    def step(self, frame: Frame, hands: HandObservation | None) -> None:
        raise NotImplementedError

    def end(self) -> None:
        """Work after the last frame (timed)."""

    def after_frame(self, frame: Frame) -> None:
        """Untimed bookkeeping after a frame."""

    def run_chunk(self, n_frames: int) -> int:
        """Process up to ``n_frames`` frames (decode and hand landmarker included in the
        time)."""
        clock, cpu = time.perf_counter, time.process_time
        done, busy_before = 0, self.busy_s
        while done < n_frames and not self.done:
            t0, c0 = clock(), cpu()
            item = next(self._frames, None)
            if item is None:
                self.end()
                self.busy_s += clock() - t0
                self.cpu_s += cpu() - c0
                self.done = True
                break
            frame, hands = item
            self.step(frame, hands)
            dt = clock() - t0
            self.cpu_s += cpu() - c0
            self.busy_s += dt
            self.frame_s.append(dt)
            self.last_t_s = frame.timestamp_s
            self.after_frame(frame)
            done += 1
        self.chunks.append((done, self.busy_s - busy_before))
        return done

    @property
    def frames(self) -> int:
        return self.frame_s.n

    def fps(self) -> float:
        return self.frames / self.busy_s if self.busy_s > 0 else math.nan

    def cpu_ms_per_frame(self) -> float:
        return self.cpu_s / self.frames * 1e3 if self.frames else math.nan

    def close(self) -> None:
        self.reader.close()


class DetectPass(_Pass):
    """MediaPipe alone: decode + detect."""

    name = "mediapipe"

    def __init__(self, clip: BenchClip, landmarker) -> None:
        super().__init__(clip, landmarker)
        self.hands = 0

    def step(self, frame: Frame, hands: HandObservation | None) -> None:
        if hands is not None:
            self.hands += 1


class FullPass(_Pass):
    """What ``coach score`` does: decode + landmarker + ``Coach.update``; ``finish`` +
    report at the end."""

    name = "full"

    def __init__(self, clip: BenchClip, landmarker, stroke) -> None:
        from coach.core.pipeline import Coach  # deferred: numba
        from coach.vision.video import read_info  # deferred: PyAV

        super().__init__(clip, landmarker)
        self.coach = Coach(stroke, clip.body_frame(), landmarker)
        self.timer = StageTimer(self.coach, clip.frames + 64)
        self.log = ObservationLog(clip.frames + 64)
        self.info = read_info(clip.path)
        self._last_obs: HandObservation | None = None
        self.session = None
        self.report: dict[str, Any] | None = None
        self.end_s = math.nan
        self.rss_t_s: list[float] = []
        self.rss_mb: list[float] = []

    def step(self, frame: Frame, hands: HandObservation | None) -> None:
        self._last_obs = self.coach.update(hands, frame.timestamp_s).observation

    def after_frame(self, frame: Frame) -> None:
        self.log.add(frame.timestamp_s, self._last_obs)
        if self.frames % SAMPLE_EVERY_FRAMES == 1:
            self.rss_t_s.append(frame.timestamp_s)
            self.rss_mb.append(rss_mb())

    def end(self) -> None:
        t0 = time.perf_counter()
        self.session = self.coach.finish()
        self.report = build_report(self.session, self.info, str(self.clip.path))
        self.end_s = time.perf_counter() - t0


def _interleave(a: _Pass, b: _Pass, chunk_frames: int, on_chunk: Callable[[], None]) -> None:
    """Run both passes to the end in chunks, alternating the order: AB, BA, AB, ..."""
    k = 0
    while not (a.done and b.done):
        order = (a, b) if k % 2 == 0 else (b, a)
        for p in order:
            p.run_chunk(chunk_frames)
        on_chunk()
        k += 1


def paired_ratio(a_chunks: list[tuple[int, float]], b_chunks: list[tuple[int, float]]) -> float:
    """Median over chunk pairs of (frames/s of B) / (frames/s of A): robust to load bursts."""
    ratios = [
        (nb / tb) / (na / ta)
        for (na, ta), (nb, tb) in zip(a_chunks, b_chunks, strict=False)
        if na and nb and ta > 0 and tb > 0
    ]
    return float(np.median(ratios)) if ratios else math.nan


def replay(
    log: ObservationLog,
    clip: BenchClip,
    stroke,
    *,
    trace_memory: bool,
    sample_every: int = SAMPLE_EVERY_FRAMES,
) -> dict[str, Any]:
    """Run the pipeline (no MediaPipe) over recorded detections.

    Without ``trace_memory``: per-frame stage times free of MediaPipe's noise. With
    it: the pipeline's Python heap (tracemalloc), peak and sampled along the clip.
    """
    from coach.core.pipeline import Coach  # deferred: numba
    from coach.vision.video import read_info  # deferred: PyAV

    info = read_info(clip.path)
    heap_t: list[float] = []
    heap_mb: list[float] = []
    if trace_memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    try:
        coach = Coach(stroke, clip.body_frame(), None)
        timer = None if trace_memory else StageTimer(coach, len(log))
        for i in range(len(log)):
            obs = log.observation(i)
            t = float(log.t_s[i])
            coach.update(obs, t)
            if trace_memory and i % sample_every == 0:
                heap_t.append(t)
                heap_mb.append(tracemalloc.get_traced_memory()[0] / 2**20)
        session = coach.finish()
        build_report(session, info, str(clip.path))
        out: dict[str, Any] = {"score": session.score, "repetitions": len(session.repetitions)}
        if trace_memory:
            out["heap_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            out["heap"] = window_growth(heap_t, heap_mb, clip.duration_s)
        else:
            assert timer is not None
            out.update(timer.summary())
        return out
    finally:
        if trace_memory:
            tracemalloc.stop()


def measure_clip(
    clip: BenchClip, *, chunk_frames: int = CHUNK_FRAMES, log: Log = _stderr
) -> dict[str, Any]:
    """Benchmark one clip: passes A and B interleaved, then the replays. Returns the numbers."""
    from coach.vision.hand_tracker import offline_landmarker  # deferred: LiteRT, OpenCV, MediaPipe

    stroke = load_stroke(clip.stroke)
    hands = HANDS_LOOKED_FOR  # as `coach score` runs it
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        lm_a = stack.enter_context(offline_landmarker(stroke.hands))  # as `coach score`
        lm_b = stack.enter_context(offline_landmarker(stroke.hands))
        a = DetectPass(clip, lm_a)
        stack.callback(a.close)
        b = FullPass(clip, lm_b, stroke)
        stack.callback(b.close)
        peak_reset = reset_peak_rss()
        started = last_note = time.monotonic()

        def on_chunk() -> None:
            nonlocal last_note
            now = time.monotonic()
            if now - last_note >= 15.0:
                last_note = now
                done = min(a.frames, b.frames)
                left = (now - started) * (clip.frames - done) / max(done, 1)
                log(
                    f"bench:   {clip.path.name}: {done}/{clip.frames} frames, "
                    f"mediapipe {a.fps():.1f} fps, full {b.fps():.1f} fps, ~{left:.0f} s left"
                )

        log(f"bench: measuring {clip.path.name} ({clip.frames} frames, passes interleaved)")
        _interleave(a, b, chunk_frames, on_chunk)
        wall_s = time.monotonic() - started
        peak = peak_rss_mb() if peak_reset else None
    load_after = os.getloadavg()

    log(f"bench: replaying {len(b.log)} recorded detections (stage timing, then tracemalloc)")
    clean = replay(b.log, clip, stroke, trace_memory=False)
    heap = replay(b.log, clip, stroke, trace_memory=True)
    session = b.session
    stages = b.timer.summary()
    return {
        "clip": clip.meta(),
        "num_hands": hands,
        "frames": {"mediapipe": a.frames, "full": b.frames},
        "fps": {"mediapipe": a.fps(), "full": b.fps()},
        "ratio": b.fps() / a.fps() if a.fps() > 0 else math.nan,
        "ratio_chunk_median": paired_ratio(a.chunks, b.chunks),
        "cpu_ms_per_frame": {"mediapipe": a.cpu_ms_per_frame(), "full": b.cpu_ms_per_frame()},
        "ratio_cpu": a.cpu_ms_per_frame() / b.cpu_ms_per_frame() if b.cpu_s > 0 else math.nan,
        "frame_ms": {
            "mediapipe": percentiles_ms(a.frame_s.values()),
            "full": percentiles_ms(b.frame_s.values()),
        },
        "stages_ms": stages["stages_ms"],
        "stages_cpu_ms": stages["stages_cpu_ms"],
        "tracker_ms": stages["tracker_ms"],
        "stages_replay_ms": clean["stages_ms"],
        "stages_cpu_replay_ms": clean["stages_cpu_ms"],
        "tracker_replay_ms": clean["tracker_ms"],
        "finish_report_ms": b.end_s * 1e3,
        "detection_rate": {
            "mediapipe": a.hands / max(a.frames, 1),
            "full": session.detection_rate if session else math.nan,
        },
        "repetitions": {
            "scored": len(session.repetitions) if session else 0,
            "truth": clip.truth_repetitions,
        },
        "score": session.score if session else None,
        "replay_matches": bool(
            session
            and clean["score"] == session.score
            and clean["repetitions"] == len(session.repetitions)
        ),
        "memory": {
            "peak_rss_mb": peak,
            "max_rss_mb": max_rss_mb(),
            "rss": window_growth(b.rss_t_s, b.rss_mb, clip.duration_s),
            "heap_peak_mb": heap["heap_peak_mb"],
            "heap": heap["heap"],
        },
        "wall_s": wall_s,
        "load_avg": {"before": list(load_before), "after": list(load_after)},
        "chunk_frames": chunk_frames,
    }


# =================================================================================================
# Report
# =================================================================================================


def machine_info() -> dict[str, Any]:
    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "?"

    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "mediapipe": version("mediapipe"),
        "av": version("av"),
        "numpy": version("numpy"),
        "platform": platform.platform(),
    }


def _f(x: float | None, fmt: str) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def verdicts(r: dict[str, Any]) -> dict[str, bool]:
    """Each target met or not, for one clip's results."""
    mem = r["memory"]
    return {
        "ratio": bool(r["ratio"] >= TARGET_RATIO),
        "stages_p99": bool(r["stages_ms"]["p99"] < TARGET_STAGE_P99_MS),
        "memory_flat": bool(
            mem["rss"]["growth"] <= FLAT_RSS_MB and mem["heap"]["growth"] <= FLAT_HEAP_MB
        ),
    }


def format_table(results: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    """The human-readable benchmark table, one column per clip."""
    heads = [f"{r['clip']['duration_s']:g} s clip" for r in results]

    def row(label: str, cells: list[str]) -> str:
        return f"{label:<44}" + "".join(f"{c:>24}" for c in cells)

    def col(get: Callable[[dict[str, Any]], float | None], fmt: str) -> list[str]:
        return [_f(get(r), fmt) for r in results]

    def pct(key: str, sub: str | None = None) -> list[str]:
        out = []
        for r in results:
            d = r[key][sub] if sub else r[key]
            out.append(f"{_f(d['p50'], '.3f')} / {_f(d['p99'], '.3f')}")
        return out

    def mem(key: str) -> list[str]:
        out = []
        for r in results:
            g = r["memory"][key]
            out.append(f"{_f(g['first'], '.1f')} -> {_f(g['last'], '.1f')} ({g['growth']:+.2f})")
        return out

    loads = [r["load_avg"][k][0] for r in results for k in ("before", "after")]
    c0 = results[0]["clip"]
    lines = [
        f"Stroke Coach benchmark: {c0['stroke']} (correct), {c0['size'][0]}x{c0['size'][1]} "
        f"at {c0['fps']:g} fps; hand landmarker for {results[0].get('num_hands', '?')} hand(s), "
        "as `coach score` runs it",
        f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
        f"python {machine['python']}, mediapipe {machine['mediapipe']}",
        f"load average (1 min) during the runs: {min(loads):.2f} .. {max(loads):.2f}; "
        f"passes interleaved in chunks of {results[0]['chunk_frames']} frames (ABBA order)",
        "",
        row("", heads),
        row("frames", [str(r["frames"]["full"]) for r in results]),
        row(
            "MediaPipe alone (decode + detect), frames/s",
            col(lambda r: r["fps"]["mediapipe"], ".1f"),
        ),
        row("full coach score pipeline, frames/s", col(lambda r: r["fps"]["full"], ".1f")),
        row(
            f"ratio full / MediaPipe (target >= {TARGET_RATIO})",
            [f"{_f(r['ratio'], '.3f')} {_yes(verdicts(r)['ratio'])}" for r in results],
        ),
        row("  median of the chunk pairs' ratios", col(lambda r: r["ratio_chunk_median"], ".3f")),
        row("  by process CPU time (less load-sensitive)", col(lambda r: r["ratio_cpu"], ".3f")),
        row(
            "CPU per frame, MediaPipe / full (ms)",
            [
                f"{_f(r['cpu_ms_per_frame']['mediapipe'], '.2f')} / "
                f"{_f(r['cpu_ms_per_frame']['full'], '.2f')}"
                for r in results
            ],
        ),
        row("per frame, MediaPipe alone p50 / p99 (ms)", pct("frame_ms", "mediapipe")),
        row("per frame, full pipeline p50 / p99 (ms)", pct("frame_ms", "full")),
        row(f"matcher+scoring+hints p50 / p99 (ms, <{TARGET_STAGE_P99_MS:g})", pct("stages_ms")),
        row("  target p99 met", [_yes(verdicts(r)["stages_p99"]) for r in results]),
        row("  max (ms)", col(lambda r: r["stages_ms"]["max"], ".3f")),
        row("  same, thread CPU time p50 / p99 (ms)", pct("stages_cpu_ms")),
        row("  replayed without MediaPipe, wall", pct("stages_replay_ms")),
        row("  replayed without MediaPipe, thread CPU", pct("stages_cpu_replay_ms")),
        row("tracker (contact + One Euro) p50 / p99 (ms)", pct("tracker_ms")),
        row("finish + report, once (ms)", col(lambda r: r["finish_report_ms"], ".2f")),
        row("hand detected in frames", [f"{r['detection_rate']['full']:.1%}" for r in results]),
        row(
            "repetitions scored / in truth",
            [f"{r['repetitions']['scored']} / {r['repetitions']['truth']}" for r in results],
        ),
        row("peak RSS during the run (MB)", col(lambda r: r["memory"]["peak_rss_mb"], ".1f")),
        row("RSS first -> last window (MB)", mem("rss")),
        row("Python heap of pipeline, peak MB", col(lambda r: r["memory"]["heap_peak_mb"], ".3f")),
        row("Python heap first -> last window (MB)", mem("heap")),
        row(
            "trend over 2nd half: RSS MB/min, heap KB/min",
            [
                f"{_f(r['memory']['rss']['slope_per_min'], '+.3f')}, "
                f"{_f(r['memory']['heap']['slope_per_min'] * 1024, '+.1f')}"
                for r in results
            ],
        ),
        row(
            f"memory flat (RSS +{FLAT_RSS_MB:g} MB, heap +{FLAT_HEAP_MB:g} MB)",
            [_yes(verdicts(r)["memory_flat"]) for r in results],
        ),
        row("wall time of the interleaved passes (s)", [f"{r['wall_s']:.0f}" for r in results]),
        "",
        "windows: first and last "
        + ", ".join(f"{r['memory']['rss']['window_s']:g} s" for r in results)
        + f" of each clip (medians of samples every {SAMPLE_EVERY_FRAMES} frames);",
        "Python heap from a tracemalloc replay of the recorded detections "
        "(tracemalloc is off while timing).",
        f"process max RSS (getrusage): {max(r['memory']['max_rss_mb'] for r in results):.1f} MB; "
        "replay reproduces the session: " + ", ".join(_yes(r["replay_matches"]) for r in results),
    ]
    return "\n".join(lines)


# =================================================================================================
# Entry points
# =================================================================================================


def run_bench(
    long_s: float = 600.0,
    short_s: float = 30.0,
    out_dir: str | os.PathLike | None = None,
    *,
    json_path: str | os.PathLike | None = None,
    chunk_frames: int = CHUNK_FRAMES,
    **_ignored: Any,
) -> int:
    """``coach bench``: render (or reuse) the clips, measure, print the table; exit status.

    A duration of 0 skips that clip. Returns 0 when measured (targets missed or not),
    2 for bad arguments, 1 when the model or a clip cannot be used.
    """
    from coach.vision.video import VideoError  # deferred: PyAV

    durations = [d for d in (short_s, long_s) if d]
    bad = [d for d in (short_s, long_s) if not (math.isfinite(d) and d >= 0)]
    if bad or not durations or chunk_frames < 1:
        _stderr(
            f"coach: bench: expected durations >= 0 s (at least one > 0) and chunk_frames >= 1, "
            f"found short {short_s}, long {long_s}, chunk {chunk_frames}"
        )
        return 2
    out = Path(out_dir) if out_dir is not None else default_out_dir()
    machine = machine_info()
    try:
        clips = [ensure_clip(out, d) for d in durations]
        results = [measure_clip(c, chunk_frames=chunk_frames) for c in clips]
    except (ModelError, VideoError) as exc:
        _stderr(f"coach: {exc}")
        return 1
    print(format_table(results, machine))
    if json_path is not None:
        data = {
            "schema": "coach.bench/1",
            "machine": machine,
            "clips": results,
            "verdicts": [verdicts(r) for r in results],
        }
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_json_safe(data), indent=2, allow_nan=False) + "\n")
        print(f"\nJSON written to {path}")
    return 0


def _json_safe(x: Any) -> Any:
    """NaN and infinities become null; tuples become lists; numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return finite_or_none(x)
    if isinstance(x, np.integer):
        return int(x)
    return x
