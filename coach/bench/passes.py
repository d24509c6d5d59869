"""The benchmark's two passes over the same clip, each with its own decoder and
landmarker: MediaPipe alone (A) and the full pipeline as ``coach score`` runs it (B),
interleaved in chunks (A B, B A, A B, ...) so that a change in machine load hits both
equally; then a replay of the recorded detections for the pipeline's Python heap."""

from __future__ import annotations

import contextlib
import math
import os
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from coach.bench.clips import BenchClip, Log, to_stderr
from coach.bench.measure import (
    CHUNK_FRAMES,
    SAMPLE_EVERY_FRAMES,
    ObservationLog,
    StageTimer,
    _Series,
    max_rss_mb,
    peak_rss_mb,
    percentiles_ms,
    reset_peak_rss,
    rss_mb,
    window_growth,
)
from coach.core.strokes import load_stroke
from coach.core.types import HANDS_LOOKED_FOR, Frame, HandObservation
from coach.render.report import build_report

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
    clip: BenchClip, *, chunk_frames: int = CHUNK_FRAMES, log: Log = to_stderr
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
