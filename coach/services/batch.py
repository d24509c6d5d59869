"""Batch review: score several practice videos (or a folder of them) in parallel.

``coach score A.mp4 B.mp4 FOLDER/ --stroke ID [calibration] [--out-dir DIR] [--jobs N]``
(options: :mod:`coach.cli.score`) scores every video with the shared path
:func:`coach.services.offline.score_video` in worker processes (one
:class:`~coach.vision.mediapipe_landmarker.HandLandmarker` each, ``jobs`` defaults to the
number of cores), shows a progress bar on stderr (tqdm, on a terminal), writes one
``coach.report/1`` report per video to ``<out_dir>/<video stem>.report.json``
(atomically; a clash of stems gets ``-2``, ``-3`` ...) and prints a summary table
(video, repetitions, score, flags) on stdout. A video that cannot be scored is reported
in the table and on stderr and skipped; the others are still scored.

Exit status: 0 when every video was scored, 1 when at least one could not be (the
reports of the others are written all the same), 2 for bad usage. Every video gets
the same stroke and calibration (``--tummy``/``--head``/``--mirrored``).

Folders are expanded to the video files directly inside them (suffixes of
:data:`coach.vision.video.SUPPORTED_SUFFIXES`, hidden files skipped, sorted by name).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import os
import queue as queue_mod
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import StrokeDefinition
from coach.services.offline import score_video
from coach.services.progress_bar import wanted
from coach.storage.atomic import write_json_atomic
from coach.vision import hand_tracker
from coach.vision.models import ModelError
from coach.vision.video import SUPPORTED_SUFFIXES, VideoError, read_info

BATCH_SCHEMA = "coach.batch/1"
REPORT_SUFFIX = ".report.json"


@dataclass(frozen=True)
class Calibration:
    """Where the tummy is, the same for every video of a batch (picklable)."""

    box: tuple[float, float, float, float]  # normalised x0, y0, x1, y1 of the frame as stored
    head: str = "up"
    mirrored: bool = False

    def body_frame(self, size: tuple[int, int]) -> BodyFrame:
        return BodyFrame.from_box(self.box, self.head, self.mirrored, size)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BatchItem:
    """The outcome for one video: scored (``error == ""``) or not."""

    video: str
    report_path: str  # where the report was (or would have been) written
    error: str = ""
    repetitions: int = 0
    score: int | None = None
    flags: dict[str, int] = field(default_factory=dict)  # codes seen at least once

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class BatchResult:
    items: tuple[BatchItem, ...]
    out_dir: str

    @property
    def scored(self) -> int:
        return sum(1 for i in self.items if i.ok)

    @property
    def failed(self) -> int:
        return len(self.items) - self.scored

    @property
    def exit_status(self) -> int:
        """0 when every video was scored, else 1."""
        return 0 if self.failed == 0 else 1


# =================================================================================================
# Inputs and outputs
# =================================================================================================


def collect_videos(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """Files as given (even missing or odd ones: they fail on their own) and the video
    files directly inside each folder. Raises ValueError when nothing is left."""
    out: list[Path] = []
    empty: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(
                c
                for c in p.iterdir()
                if c.is_file()
                and not c.name.startswith(".")
                and c.suffix.lower() in SUPPORTED_SUFFIXES
            )
            if not found:
                empty.append(str(p))
            out.extend(found)
        else:
            out.append(p)
    if not out:
        raise ValueError(
            f"no video files ({', '.join(SUPPORTED_SUFFIXES)}) found in {', '.join(empty)}"
        )
    return out


def report_paths(videos: Sequence[Path], out_dir: str | os.PathLike) -> list[Path]:
    """``<out_dir>/<stem>.report.json`` per video; equal stems get ``-2``, ``-3``, ..."""
    taken: set[str] = set()
    out = []
    for v in videos:
        stem = v.name[: -len(v.suffix)] if v.suffix else v.name
        name, k = stem, 1
        while name.lower() in taken:
            k += 1
            name = f"{stem}-{k}"
        taken.add(name.lower())
        out.append(Path(out_dir) / f"{name}{REPORT_SUFFIX}")
    return out


# =================================================================================================
# Scoring one video (in a worker process or in this one)
# =================================================================================================

_worker: dict[str, Any] = {}


def _init_worker(progress_queue: Any, landmarker_factory: Callable[[], Any] | None) -> None:
    """Worker start-up: remember the progress queue; the landmarker is made on first use."""
    _worker.clear()
    _worker["queue"] = progress_queue
    _worker["factory"] = landmarker_factory


def _landmarker(num_hands: int) -> Any:
    """This process's landmarker for strokes of ``num_hands`` hands (made once, as
    score_video would make it)."""
    key = f"landmarker-{num_hands}"
    lm = _worker.get(key)
    if lm is None:
        factory = _worker.get("factory")
        lm = hand_tracker.offline_landmarker(num_hands) if factory is None else factory()
        _worker[key] = lm
    return lm


def _flags_seen(report: dict) -> dict[str, int]:
    return {k: int(n) for k, n in report["summary"]["flags"].items() if n}


def score_one(
    index: int,
    video: str,
    report_path: str,
    stroke: StrokeDefinition,
    calibration: Calibration,
    on_progress: Callable[[int, float], None] | None = None,
) -> BatchItem:
    """Score one video and write its report; every failure becomes ``BatchItem.error``."""

    def progress(fraction: float) -> None:
        if on_progress is not None:
            on_progress(index, fraction)

    try:
        read_info(video)  # fail fast, before the model
        report, _ = score_video(
            video,
            stroke,
            calibration.body_frame,
            landmarker=_landmarker(stroke.hands),
            on_progress=progress,
        )
        write_json_atomic(Path(report_path), report)
    except (VideoError, ModelError) as exc:
        return BatchItem(video, report_path, error=_one_line(str(exc)))
    except OSError as exc:
        return BatchItem(video, report_path, error=_one_line(f"cannot write the report: {exc}"))
    except Exception as exc:  # one bad file must not stop the batch
        return BatchItem(
            video, report_path, error=_one_line(f"internal error: {type(exc).__name__}: {exc}")
        )
    summary = report["summary"]
    return BatchItem(
        video,
        report_path,
        repetitions=int(summary["repetitions"]),
        score=int(summary["score"]),
        flags=_flags_seen(report),
    )


def _worker_task(
    index: int, video: str, report_path: str, stroke: StrokeDefinition, calibration: Calibration
) -> BatchItem:
    q = _worker.get("queue")

    def send(i: int, fraction: float) -> None:
        if q is not None:
            q.put((i, fraction))

    return score_one(index, video, report_path, stroke, calibration, send)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# =================================================================================================
# Progress bar
# =================================================================================================


class ProgressBar:
    """The batch's progress on stderr: on a terminal a tqdm bar (the one progress-bar
    library, coach/progress_bar.py) over the videos, fractions of a video included;
    elsewhere no bar. Finished videos are always written as their own line
    (``[2/4] clip.mp4: 3 repetitions, score 85`` or ``... FAILED: why``).
    """

    def __init__(self, total: int, stream: TextIO | None, width: int = 24) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.width = width
        self.fractions = [0.0] * total
        self.done = 0
        self._tqdm = (
            tqdm(total=self.total, file=stream, leave=False, unit="video",
                 bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} videos [{elapsed}<{remaining}]")
            if stream is not None and wanted(False, stream)
            else None
        )  # fmt: skip

    def progress(self, index: int, fraction: float) -> None:
        if 0 <= index < len(self.fractions) and math.isfinite(fraction):
            self.fractions[index] = max(self.fractions[index], min(1.0, fraction))
        self._draw()

    def finished(self, index: int, item: BatchItem) -> None:
        self.done += 1
        if 0 <= index < len(self.fractions):
            self.fractions[index] = 1.0
        name = Path(item.video).name
        if item.ok:
            what = f"{item.repetitions} repetitions, score {item.score}"
        else:
            what = f"FAILED: {item.error}"
        self._line(f"[{self.done}/{self.total}] {name}: {what}")
        self._draw()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()

    def bar(self) -> str:
        """The progress as text: ``[##########..........]  50%  2/4 videos``."""
        frac = sum(self.fractions) / self.total
        filled = int(frac * self.width)
        return (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * frac:3.0f}%  "
            f"{self.done}/{self.total} videos"
        )

    def _line(self, text: str) -> None:
        if self.stream is None:
            return
        if self._tqdm is not None:
            self._tqdm.write(text, file=self.stream)
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()

    def _draw(self) -> None:
        if self._tqdm is not None:
            self._tqdm.n = round(sum(self.fractions), 3)
            self._tqdm.refresh()


# =================================================================================================
# The batch
# =================================================================================================


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


def run_batch(
    videos: Sequence[str | os.PathLike],
    stroke: StrokeDefinition,
    calibration: Calibration,
    out_dir: str | os.PathLike,
    jobs: int | None = None,
    *,
    progress: TextIO | None = sys.stderr,
    landmarker_factory: Callable[[], Any] | None = None,
) -> BatchResult:
    """Score ``videos`` with ``stroke``; one report per video in ``out_dir``.

    ``jobs`` worker processes (default: the number of cores; 1 scores in this process).
    ``landmarker_factory`` (a picklable module-level callable) replaces the hand
    landmarker, for tests. Per-video failures end up in the result, never raised.
    """
    if jobs is None:
        jobs = default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: expected a whole number of at least 1, found {jobs!r}")
    paths = [Path(v) for v in videos]
    if not paths:
        raise ValueError("videos: expected at least one video, found none")
    reports = report_paths(paths, out_dir)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    bar = ProgressBar(len(paths), progress)
    try:
        if jobs == 1 or len(paths) == 1:
            items = _run_here(paths, reports, stroke, calibration, bar, landmarker_factory)
        else:
            items = _run_pool(
                paths, reports, stroke, calibration, min(jobs, len(paths)), bar, landmarker_factory
            )
    finally:
        bar.close()
    return BatchResult(tuple(items), str(out_dir))


def _run_here(paths, reports, stroke, calibration, bar, factory) -> list[BatchItem]:
    _init_worker(None, factory)
    items = []
    try:
        for i, (video, report) in enumerate(zip(paths, reports, strict=True)):
            item = score_one(i, str(video), str(report), stroke, calibration, bar.progress)
            bar.finished(i, item)
            items.append(item)
    finally:
        for key in [k for k in _worker if k.startswith("landmarker-")]:
            lm = _worker.pop(key)
            if hasattr(lm, "close"):
                lm.close()
    return items


def _run_pool(paths, reports, stroke, calibration, jobs, bar, factory) -> list[BatchItem]:
    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding MediaPipe threads
    q = ctx.Queue()
    results: dict[int, BatchItem] = {}
    pool = cf.ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(q, factory)
    )
    try:
        futures = {
            pool.submit(_worker_task, i, str(v), str(r), stroke, calibration): i
            for i, (v, r) in enumerate(zip(paths, reports, strict=True))
        }
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            _drain(q, bar)
            for fut in done:
                i = futures[fut]
                try:
                    item = fut.result()
                except Exception as exc:  # a worker died (crash, out of memory)
                    item = BatchItem(
                        str(paths[i]),
                        str(reports[i]),
                        error=_one_line(f"worker failed: {type(exc).__name__}: {exc}"),
                    )
                results[i] = item
                bar.finished(i, item)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        q.close()
        q.join_thread()
    return [results[i] for i in range(len(paths))]


def _drain(q: Any, bar: ProgressBar) -> None:
    while True:
        try:
            index, fraction = q.get_nowait()
        except queue_mod.Empty:
            return
        except (OSError, ValueError, EOFError):
            return
        bar.progress(int(index), float(fraction))


# =================================================================================================
# Summary
# =================================================================================================


def summary_table(result: BatchResult) -> str:
    """Video, repetitions, score, flags per video, and a closing line."""
    names = [str(i.video) for i in result.items]
    width = min(max([len("video"), *map(len, names)]), 60)
    lines = [f"{'video':<{width}}  {'reps':>4}  {'score':>5}  flags", "-" * (width + 25)]
    for item, name in zip(result.items, names, strict=True):
        shown = name if len(name) <= width else "..." + name[-(width - 3) :]
        if item.ok:
            flags = ", ".join(f"{k} {n}" for k, n in item.flags.items()) or "none"
            lines.append(f"{shown:<{width}}  {item.repetitions:>4}  {item.score:>5}  {flags}")
        else:
            lines.append(f"{shown:<{width}}  {'-':>4}  {'-':>5}  FAILED: {item.error}")
    lines.append("")
    lines.append(f"{result.scored} scored, {result.failed} failed; reports in {result.out_dir}")
    return "\n".join(lines)


def batch_summary(result: BatchResult, stroke: StrokeDefinition) -> dict:
    """The ``coach.batch/1`` summary: one entry per video, in input order."""
    return {
        "schema": BATCH_SCHEMA,
        "stroke": stroke.id,
        "out_dir": result.out_dir,
        "scored": result.scored,
        "failed": result.failed,
        "videos": [
            {
                "video": i.video,
                "ok": i.ok,
                "report": i.report_path if i.ok else None,
                "repetitions": i.repetitions if i.ok else None,
                "score": i.score,
                "flags": dict(i.flags),
                "error": i.error or None,
            }
            for i in result.items
        ],
    }


# =================================================================================================
# Command line (wired into ``coach score`` by the lead)
# =================================================================================================
