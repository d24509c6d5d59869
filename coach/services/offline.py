"""Scoring a recorded video: :func:`score_video`, the one scoring loop shared by ``coach
score``, batch review and the page's upload mode; for the page, :func:`score_file` (with
the per-frame traces the charts need and upload limits) and the built-in sample clip."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.pipeline import Coach
from coach.core.strokes import StrokeDefinition
from coach.core.types import FrameStatus
from coach.render.report import build_report
from coach.samples import synth
from coach.storage.atomic import atomic_path
from coach.vision import hand_tracker
from coach.vision.observations import iter_observations
from coach.vision.video import VideoWriter, open_video, read_info

#: Rendered samples are cached under ``<data dir>/samples``.
SAMPLES_DIR = "samples"
#: Uploaded videos are copied under ``<data dir>/uploads-tmp`` while they are scored.
UPLOADS_TMP_DIR = "uploads-tmp"


class UploadRefused(ValueError):
    """An uploaded video is over a limit; the message says which and what is allowed."""


@dataclass(frozen=True)
class UploadLimits:
    """What the page accepts as an uploaded video (configurable: :meth:`from_env`).

    The byte limit is checked before the upload is written anywhere; frame size and
    duration from the container header before any frame is decoded, and again while
    scoring (a header can lie)."""

    max_mb: float = 200.0  # file size, MB (10^6 bytes)
    max_side_px: int = 1920  # longer side of a frame, pixels
    max_pixels: int = 1920 * 1080  # width x height of a frame
    max_duration_s: float = 600.0  # ten minutes of practice

    ENV = {
        "max_mb": "COACH_UPLOAD_MAX_MB",
        "max_side_px": "COACH_UPLOAD_MAX_SIDE_PX",
        "max_pixels": "COACH_UPLOAD_MAX_PIXELS",
        "max_duration_s": "COACH_UPLOAD_MAX_DURATION_S",
    }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> UploadLimits:
        """The defaults, with any of :attr:`ENV`'s variables set in ``env`` (positive
        numbers; raises ValueError naming the variable otherwise)."""
        values: dict[str, float | int] = {}
        for field_name, var in cls.ENV.items():
            text = env.get(var)
            if text is None or not text.strip():
                continue
            kind = int if field_name in ("max_side_px", "max_pixels") else float
            try:
                value = kind(text)
            except ValueError:
                value = -1
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{var}: expected a positive number, found {text!r}")
            values[field_name] = value
        return cls(**values)

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1_000_000)

    def check_size(self, size_bytes: int) -> None:
        if size_bytes > self.max_bytes:
            raise UploadRefused(
                f"the video is {size_bytes / 1e6:.0f} MB; videos of up to {self.max_mb:g} MB "
                "are accepted here (trim it or record at a lower quality)"
            )

    def check_frame(self, width: int, height: int) -> None:
        if max(width, height) > self.max_side_px or width * height > self.max_pixels:
            raise UploadRefused(
                f"the video's frames are {width}x{height} pixels; up to {self.max_side_px} "
                f"pixels on the longer side ({self.max_pixels / 1e6:.1f} megapixels) are "
                "accepted here (record at 1080p or lower)"
            )

    def check_duration(self, duration_s: float) -> None:
        if math.isfinite(duration_s) and duration_s > self.max_duration_s:
            raise UploadRefused(
                f"the video is {duration_s / 60:.1f} minutes long; up to "
                f"{self.max_duration_s / 60:g} minutes are accepted here (trim it)"
            )

    def check_info(self, info) -> None:
        """Frame size and duration from the header (:class:`coach.vision.video.VideoInfo`)."""
        self.check_frame(info.width, info.height)
        duration = info.duration_s
        if not math.isfinite(duration) and info.fps > 0:
            duration = info.frames / info.fps
        self.check_duration(duration)


# -- temporary copies of uploads ----------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_upload_leftovers(folder: str | Path) -> list[Path]:
    """Remove temporary upload copies left by a server that died (killed, crashed): every
    entry of ``folder`` named ``<pid>-...`` whose process is gone. Entries of running
    processes (another server on the same data folder) are kept. Returns what was removed."""
    removed: list[Path] = []
    root = Path(folder)
    if not root.is_dir():
        return removed
    for entry in root.iterdir():
        pid_text = entry.name.split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


@contextlib.contextmanager
def temporary_upload(folder: str | Path, data: bytes | memoryview, suffix: str) -> Iterator[Path]:
    """``data`` written to a private file in ``folder`` (0600, named after this process so
    that :func:`clean_upload_leftovers` can remove it if the process dies), removed when
    the block ends."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    clean_suffix = suffix if suffix.isascii() and suffix[1:].isalnum() and len(suffix) <= 6 else ""
    path = root / f"{os.getpid()}-{secrets.token_hex(8)}{clean_suffix.lower() or '.mp4'}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path
    finally:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Traces:
    """Per processed frame, aligned arrays: time, contact point in the body frame
    (nan when no hand), speed ratio (nan when unknown), whether the hand was on a
    segment (not lifted between letters) and status."""

    t_s: np.ndarray  # (n,)
    uv: np.ndarray  # (n, 2)
    speed_ratio: np.ndarray  # (n,)
    status: tuple[FrameStatus, ...]
    in_segment: np.ndarray | None = None  # (n,) bool


@dataclass(frozen=True)
class OfflineResult:
    report: dict
    session: object  # coach.core.pipeline.SessionResult
    traces: Traces
    size: tuple[int, int]  # (width, height) of the frames


class TraceRecorder:
    """Collects :class:`Traces` from a stream of FrameResults."""

    def __init__(self) -> None:
        self._t: list[float] = []
        self._uv: list[tuple[float, float]] = []
        self._speed: list[float] = []
        self._status: list[FrameStatus] = []
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


def score_video(
    video_path: str,
    stroke,
    body_frame_for,
    landmarker=None,
    on_progress=None,
    on_result=None,
    report_path: str | None = None,
):
    """Score one video file: returns (report dict, SessionResult). The one scoring loop,
    shared by the CLI, batch review and the page's upload mode.

    ``body_frame_for((width, height))`` builds the body frame once the frame size is known.
    ``on_progress(fraction)`` is called now and then (for a progress bar);
    ``on_result(FrameResult)`` for every frame (for per-frame charts).
    Raises :class:`coach.vision.video.VideoError` for unreadable input.
    """
    owns = landmarker is None
    with open_video(video_path) as reader:
        info = reader.info
        lm = landmarker or hand_tracker.offline_landmarker(stroke.hands)
        try:
            coach = Coach(stroke, body_frame_for((info.width, info.height)), lm)
            for frame, hands in iter_observations(reader, lm, on_progress):
                result = coach.update(hands, frame.timestamp_s)
                if on_result is not None:
                    on_result(result)
            session = coach.finish()
        finally:
            if owns:
                lm.close()
    return build_report(session, info, report_path or str(video_path)), session


def score_file(
    path: str | Path,
    stroke: StrokeDefinition,
    body_frame_for: Callable[[tuple[int, int]], BodyFrame],
    *,
    on_progress: Callable[[float], None] | None = None,
    landmarker=None,
    limits: UploadLimits | None = None,
) -> OfflineResult:
    """Score a video file frame by frame; ``body_frame_for((width, height))`` calibrates.

    With ``limits``, a video over them is refused (:class:`UploadRefused`) before any
    frame is decoded, or as soon as a frame goes past them.
    Raises :class:`coach.vision.video.VideoError` for unreadable input.
    """
    rec = TraceRecorder()
    info = read_info(path)
    if limits is not None:
        limits.check_info(info)

    def on_result(result) -> None:
        if limits is not None:
            limits.check_duration(float(result.timestamp_s))
        rec.add(result)

    def body_frame_checked(size: tuple[int, int]) -> BodyFrame:
        if limits is not None:
            limits.check_frame(*size)
        return body_frame_for(size)

    report, session = score_video(
        str(path),
        stroke,
        body_frame_checked,
        landmarker=landmarker,
        on_progress=on_progress,
        on_result=on_result,
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
    folder = Path(data_dir) / SAMPLES_DIR
    name = f"{stroke_id}-{fault}-{repetitions}rep-g{synth.GENERATOR_VERSION}"
    path = folder / f"{name}{suffix}"
    truth_file = folder / f"{name}.truth.json"
    if path.exists() and truth_file.exists():
        return path, synth.SampleTruth.load(truth_file)
    sample = synth.Sample(stroke_id, fault=fault, repetitions=repetitions)
    with (
        atomic_path(path, suffix=f".partial{suffix}") as tmp,
        VideoWriter(tmp, sample.fps, sample.size) as writer,
    ):
        for i, (image, _t) in enumerate(sample.frames()):
            writer.write(image)
            if on_progress is not None and i % 15 == 0:
                on_progress(min(1.0, (i + 1) / sample.n_frames))
    sample.truth.save(truth_file)
    return path, sample.truth
