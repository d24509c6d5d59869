"""Command line: ``coach models fetch | strokes list | score | samples make | bench``.

Exit status (contract.md): 0 scored (even with no hand), 2 bad usage, 1 input that
cannot be read, with a one-line message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2
DEFAULT_TUMMY = (0.3, 0.3, 0.7, 0.7)


class CliError(Exception):
    """A user-facing failure: ``str(exc)`` is the one-line message, ``status`` the exit code."""

    def __init__(self, message: str, status: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like argparse but shorter
        self.print_usage(sys.stderr)
        print(f"coach: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def add_calibration_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tummy",
        metavar="X0,Y0,X1,Y1",
        help="tummy box, normalised coordinates of the frame as stored (0..1, x right, y down)",
    )
    p.add_argument(
        "--head",
        choices=("up", "down", "left", "right"),
        default="up",
        help="where the baby's head is in the image (default up)",
    )
    p.add_argument("--mirrored", action="store_true", help="the video is mirrored (selfie preview)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="coach", description="Stroke Coach: infant massage practice coach.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    models = sub.add_parser("models", help="hand model")
    msub = models.add_subparsers(dest="action", required=True, parser_class=_Parser)
    msub.add_parser(
        "fetch",
        help="make sure the hand models (full, and lite for the live page) are present; "
        "print the full model's path",
    )

    strokes = sub.add_parser("strokes", help="stroke library")
    ssub = strokes.add_subparsers(dest="action", required=True, parser_class=_Parser)
    ssub.add_parser("list", help="stroke ids and names, one a line")

    from coach.batch import add_batch_arguments
    from coach.reference import (
        add_reference_arguments,
        add_references_arguments,
        add_references_dir_option,
    )

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

    reference = sub.add_parser("reference", help="record a new reference from a demonstration")
    add_reference_arguments(reference)

    references = sub.add_parser("references", help="saved references: list, export, import")
    add_references_arguments(references)

    samples = sub.add_parser("samples", help="synthetic practice clips with ground truth")
    xsub = samples.add_subparsers(dest="action", required=True, parser_class=_Parser)
    make = xsub.add_parser("make", help="render sample clips (one path a line)")
    from coach.synth import add_samples_arguments

    add_samples_arguments(make)

    sessions = sub.add_parser("sessions", help="saved practice sessions: list, export")
    sesub = sessions.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, helptext in (
        ("list", "the last saved sessions"),
        ("export", "a session as one HTML file"),
    ):
        sp = sesub.add_parser(name, help=helptext)
        sp.add_argument(
            "--database",
            metavar="URL|PATH",
            default=None,
            help="session store (default: coach.db in the data folder, or $COACH_DATABASE_URL)",
        )
        if name == "list":
            sp.add_argument("--profile", default=None)
            sp.add_argument("--limit", type=int, default=20)
        else:
            sp.add_argument(
                "session_id", type=int, help="session number (see `coach sessions list`)"
            )
            sp.add_argument("dest", help="HTML file (or folder) to write")

    bench = sub.add_parser("bench", help="performance benchmark (see README)")
    from coach.bench import add_arguments as add_bench_arguments

    add_bench_arguments(bench)

    from coach.evaluation.suite import add_arguments as add_eval_arguments

    add_eval_arguments(sub.add_parser("eval", help="evaluation suite: verdicts on field clips"))
    return parser


def _load_stroke(name: str, refs_dir=None):
    """A built-in stroke, a definition/reference file, or a reference saved in ``refs_dir``."""
    from coach.reference import resolve_stroke
    from coach.strokes import StrokeError

    try:
        return resolve_stroke(name, refs_dir)
    except StrokeError as exc:
        raise CliError(str(exc)) from None


def tummy_box(args: argparse.Namespace) -> tuple[float, float, float, float]:
    """The ``--tummy`` box (the middle of the frame, with a note, when not given)."""
    from coach.bodyframe import parse_box

    if args.tummy is None:
        print(
            f"coach: no --tummy given; assuming the tummy fills the middle of the frame "
            f"({','.join(map(str, DEFAULT_TUMMY))})",
            file=sys.stderr,
        )
        return DEFAULT_TUMMY
    try:
        return parse_box(args.tummy)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _body_frame(args: argparse.Namespace, size: tuple[int, int]):
    from coach.bodyframe import BodyFrame

    return BodyFrame.from_box(tummy_box(args), args.head, args.mirrored, size)


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON next to ``path`` and rename over it: never a half-written report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    Raises :class:`coach.video.VideoError` for unreadable input.
    """
    from coach.landmarks import HandLandmarker
    from coach.pipeline import Coach
    from coach.report import build_report
    from coach.video import open_video

    owns = landmarker is None
    with open_video(video_path) as reader:
        info = reader.info
        lm = landmarker or HandLandmarker(num_hands=max(1, stroke.hands))
        try:
            coach = Coach(stroke, body_frame_for((info.width, info.height)), lm)
            total = max(info.frames, 1)
            for frame in reader:
                result = coach.process(frame)
                if on_result is not None:
                    on_result(result)
                if on_progress is not None and frame.index % 10 == 0:
                    on_progress(min(1.0, (frame.index + 1) / total))
            session = coach.finish()
        finally:
            if owns:
                lm.close()
    if on_progress is not None:
        on_progress(1.0)
    return build_report(session, info, report_path or str(video_path)), session


def cmd_score(args: argparse.Namespace) -> int:
    from coach.batch import cmd_score_batch, is_batch
    from coach.models import ModelError
    from coach.reference import references_dir
    from coach.report import summary_table
    from coach.video import VideoError, read_info

    stroke = _load_stroke(args.stroke, references_dir(args))
    if is_batch(args):
        return cmd_score_batch(args, stroke)
    video = args.video[0]
    try:
        read_info(video)  # fail fast, before loading the model
        report, _ = score_video(video, stroke, lambda size: _body_frame(args, size))
    except VideoError as exc:
        raise CliError(str(exc)) from None
    except ModelError as exc:
        raise CliError(str(exc)) from None
    if args.json == "-":
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.json:
        write_json_atomic(Path(args.json), report)
        print(summary_table(report))
        print(f"\nReport written to {args.json}")
    else:
        print(summary_table(report))
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from coach.models import ModelError, fetch_models

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        paths = fetch_models(log=log)
    except ModelError as exc:
        raise CliError(str(exc)) from None
    log(f"lite hand model (live page): {paths['lite']}")
    print(paths["full"])  # the contract: stdout is the hand model's path
    return EXIT_OK


def cmd_strokes(args: argparse.Namespace) -> int:
    from coach.strokes import list_strokes

    for s in list_strokes():
        print(f"{s.id}\t{s.name}")
    return EXIT_OK


def cmd_samples(args: argparse.Namespace) -> int:
    from coach import synth

    try:
        paths = synth.make_samples_from_args(args)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    for p in paths:
        print(p)
    return EXIT_OK


def _store(args: argparse.Namespace):
    from coach.reference import default_references_dir
    from coach.store import Store, StoreError, default_database_url

    url = args.database or os.environ.get("COACH_DATABASE_URL")
    url = url or default_database_url(default_references_dir().parent)
    try:
        return Store.open(url)
    except (StoreError, ValueError) as exc:
        raise CliError(f"cannot open the session store {url!r}: {exc}") from None


def cmd_sessions(args: argparse.Namespace) -> int:
    from coach.store import StoreError

    with _store(args) as store:
        if args.action == "list":
            rows = store.sessions(profile=args.profile, limit=args.limit)
            if not rows:
                print("no saved sessions yet", file=sys.stderr)
            for r in rows:
                score = "-" if r.score is None else r.score
                print(
                    f"{r.id}\t{r.started_at:%Y-%m-%d %H:%M}\t{r.profile}\t{r.stroke_id}\t"
                    f"{r.source}\t{r.repetition_count} reps\tscore {score}"
                )
            return EXIT_OK
        from coach.html_report import export_session_html
        from coach.strokes import StrokeError

        try:
            path = export_session_html(store, args.session_id, args.dest)
        except (StoreError, StrokeError, ValueError, KeyError, OSError) as exc:
            raise CliError(f"cannot export session {args.session_id}: {exc}") from None
    print(path)
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from coach.bench import run_from_args

    return run_from_args(args)


def cmd_eval(args: argparse.Namespace) -> int:
    from coach.evaluation.suite import run_from_args

    return run_from_args(args)


def cmd_reference(args: argparse.Namespace) -> int:
    from coach.reference import cmd_reference as run

    return run(args)


def cmd_references(args: argparse.Namespace) -> int:
    from coach.reference import cmd_references as run

    return run(args)


COMMANDS = {
    "score": cmd_score,
    "reference": cmd_reference,
    "references": cmd_references,
    "models": cmd_models,
    "strokes": cmd_strokes,
    "samples": cmd_samples,
    "bench": cmd_bench,
    "sessions": cmd_sessions,
    "eval": cmd_eval,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("coach: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
