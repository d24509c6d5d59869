"""``coach score``: one video (a table, or the ``coach.report/1`` JSON), or several videos
and folders scored in parallel (batch review, :mod:`coach.services.batch`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from coach.cli.common import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_calibration_options,
    add_references_dir_option,
    body_frame,
    check_output_file,
    load_stroke,
    references_dir,
    tummy_box,
)
from coach.core.strokes import StrokeDefinition
from coach.render.report import summary_table
from coach.services.progress_bar import add_progress_option, fraction_bar
from coach.storage.atomic import write_json_atomic
from coach.vision.models import ModelError


def add_parser(sub: argparse._SubParsersAction) -> None:
    score = sub.add_parser("score", help="score recorded practice videos")
    score.add_argument(
        "video",
        nargs="+",
        help="video file (mp4, mov, webm, avi, mkv); several files or a folder: batch review",
    )
    score.add_argument(
        "--stroke",
        required=True,
        help="stroke id (see `coach strokes list`), a .json file or a saved reference name",
    )
    add_calibration_options(score)
    score.add_argument(
        "--json",
        metavar="PATH|-",
        help="write the coach.report/1 JSON here ('-' = stdout); batch: the coach.batch/1 summary",
    )
    add_batch_arguments(score)
    add_references_dir_option(score)
    add_progress_option(score)


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """``--out-dir`` and ``--jobs`` for ``coach score`` (whose ``video`` takes several)."""
    parser.add_argument(
        "--out-dir",
        metavar="DIR",
        default=None,
        help="batch mode: write <DIR>/<video>.report.json per video (default ./reports)",
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        type=int,
        default=None,
        help="batch mode: videos scored at once (default: the number of cores, "
        f"{max(1, os.cpu_count() or 1)})",
    )


def is_batch(args: argparse.Namespace) -> bool:
    """Several videos, a folder, or ``--out-dir``/``--jobs`` given: batch mode."""
    videos = args.video if isinstance(args.video, list) else [args.video]
    return (
        len(videos) > 1
        or any(Path(v).is_dir() for v in videos)
        or getattr(args, "out_dir", None) is not None
        or getattr(args, "jobs", None) is not None
    )


def run(args: argparse.Namespace) -> int:
    # deferred: scoring pulls numba, cv2, PyAV and MediaPipe; `coach --help` stays fast
    from coach.services.offline import score_video
    from coach.vision.video import VideoError, read_info

    # usage first: arguments and output paths are checked before any video is opened
    if args.tummy is not None:
        tummy_box(args)
    if args.json and args.json != "-":
        check_output_file(args.json, "--json")
    stroke = load_stroke(args.stroke, references_dir(args))
    if is_batch(args):
        return run_batch(args, stroke)
    video = args.video[0]
    try:
        read_info(video)  # fail fast, before loading the model
        with fraction_bar(f"scoring {Path(video).name}", args.progress) as on_progress:
            report, _ = score_video(
                video, stroke, lambda size: body_frame(args, size), on_progress=on_progress
            )
    except VideoError as exc:
        raise CliError(str(exc)) from None
    except ModelError as exc:
        raise CliError(str(exc)) from None
    if args.json == "-":
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.json:
        try:
            write_json_atomic(Path(args.json), report)
        except OSError as exc:
            raise CliError(f"--json {args.json}: cannot write it ({exc.strerror or exc})") from None
        print(summary_table(report))
        print(f"\nReport written to {args.json}")
    else:
        print(summary_table(report))
    return EXIT_OK


def run_batch(args: argparse.Namespace, stroke: StrokeDefinition) -> int:
    """``coach score`` with several videos: table on stdout (or the ``coach.batch/1``
    summary with ``--json -``; ``--json PATH`` writes it there too). Exit 0 / 1 / 2."""
    # deferred: the batch runner pulls numba, cv2, PyAV and MediaPipe
    from coach.services import batch

    videos = args.video if isinstance(args.video, list) else [args.video]
    try:
        paths = batch.collect_videos(videos)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_INPUT) from None
    if args.jobs is not None and args.jobs < 1:
        raise CliError(f"--jobs: expected at least 1, found {args.jobs}", EXIT_USAGE)
    calibration = batch.Calibration(
        tuple(float(c) for c in tummy_box(args)),  # type: ignore[arg-type]
        args.head,
        bool(args.mirrored),
    )
    out_dir = Path(args.out_dir) if args.out_dir else Path("reports")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--out-dir {out_dir}: cannot create it ({exc.strerror or exc})") from None
    result = batch.run_batch(paths, stroke, calibration, out_dir, args.jobs)
    summary = batch.batch_summary(result, stroke)
    json_arg = getattr(args, "json", None)
    if json_arg == "-":
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        if json_arg:
            write_json_atomic(Path(json_arg), summary)
        print(batch.summary_table(result))
    return EXIT_INPUT if result.failed else EXIT_OK
