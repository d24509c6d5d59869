"""Scoring a whole video for the page (upload mode, the built-in sample), with the
per-frame traces the charts need. Same pipeline as ``coach score``
(:class:`coach.pipeline.Coach`); no streamlit here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.bodyframe import BodyFrame
from coach.strokes import StrokeDefinition

#: Rendered samples are cached under ``<data dir>/samples``.
SAMPLES_DIR = "samples"


@dataclass(frozen=True)
class Traces:
    """Per processed frame, aligned arrays: time, contact point in the body frame
    (nan when no hand), speed ratio (nan when unknown), whether the hand was on a
    segment (not lifted between letters) and status."""

    t_s: np.ndarray  # (n,)
    uv: np.ndarray  # (n, 2)
    speed_ratio: np.ndarray  # (n,)
    status: tuple[str, ...]
    in_segment: np.ndarray | None = None  # (n,) bool


@dataclass(frozen=True)
class OfflineResult:
    report: dict
    session: object  # coach.pipeline.SessionResult
    traces: Traces
    size: tuple[int, int]  # (width, height) of the frames


class TraceRecorder:
    """Collects :class:`Traces` from a stream of FrameResults."""

    def __init__(self) -> None:
        self._t: list[float] = []
        self._uv: list[tuple[float, float]] = []
        self._speed: list[float] = []
        self._status: list[str] = []
        self._in_segment: list[bool] = []

    def add(self, result) -> None:
        self._t.append(float(result.timestamp_s))
        uv = result.track.uv if result.track is not None else (np.nan, np.nan)
        self._uv.append((float(uv[0]), float(uv[1])))
        p = result.progress
        ok = p is not None and p.segment is not None and result.track is not None
        self._speed.append(float(p.speed_ratio) if ok else np.nan)
        self._status.append(result.status)
        self._in_segment.append(bool(ok))

    def traces(self) -> Traces:
        return Traces(
            np.array(self._t, dtype=np.float64),
            np.array(self._uv, dtype=np.float64).reshape(-1, 2),
            np.array(self._speed, dtype=np.float64),
            tuple(self._status),
            np.array(self._in_segment, dtype=bool),
        )


def score_file(
    path: str | Path,
    stroke: StrokeDefinition,
    body_frame_for: Callable[[tuple[int, int]], BodyFrame],
    *,
    on_progress: Callable[[float], None] | None = None,
    landmarker=None,
) -> OfflineResult:
    """Score a video file frame by frame; ``body_frame_for((width, height))`` calibrates.

    Raises :class:`coach.video.VideoError` for unreadable input.
    """
    from coach.cli import score_video
    from coach.video import read_info

    rec = TraceRecorder()
    info = read_info(path)
    report, session = score_video(
        str(path),
        stroke,
        body_frame_for,
        landmarker=landmarker,
        on_progress=on_progress,
        on_result=rec.add,
        report_path=Path(path).name,
    )
    return OfflineResult(report, session, rec.traces(), (info.width, info.height))


def sample_video(
    data_dir: str | Path,
    stroke_id: str = "i-love-you",
    *,
    repetitions: int = 2,
    fault: str = "none",
    suffix: str = ".mp4",
    on_progress: Callable[[float], None] | None = None,
):
    """The built-in sample clip (rendered once, then cached): returns (path, SampleTruth)."""
    from coach import synth
    from coach.video import VideoWriter

    folder = Path(data_dir) / SAMPLES_DIR
    name = f"{stroke_id}-{fault}-{repetitions}rep-g{synth.GENERATOR_VERSION}"
    path = folder / f"{name}{suffix}"
    truth_file = folder / f"{name}.truth.json"
    if path.exists() and truth_file.exists():
        return path, synth.SampleTruth.load(truth_file)
    folder.mkdir(parents=True, exist_ok=True)
    sample = synth.Sample(stroke_id, fault=fault, repetitions=repetitions)
    tmp = path.with_name(f".{path.stem}.partial{suffix}")
    with VideoWriter(tmp, sample.fps, sample.size) as writer:
        for i, (image, _t) in enumerate(sample.frames()):
            writer.write(image)
            if on_progress is not None and i % 15 == 0:
                on_progress(min(1.0, (i + 1) / sample.n_frames))
    tmp.replace(path)
    sample.truth.save(truth_file)
    return path, sample.truth
