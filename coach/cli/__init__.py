"""Command line: ``coach app | models fetch | strokes list | score | samples make | bench``.

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

from coach.services.progress_bar import add_progress_option, fraction_bar
from coach.storage.atomic import write_json_atomic

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
    parser = _Parser(
        prog="coach",
        description="Stroke Coach: infant massage practice coach.",
        epilog="example: coach app  (opens the page on http://127.0.0.1:8501)",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version()}", help="show the version"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    app = sub.add_parser("app", help="start the page (Streamlit) in this computer's browser")
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1: this computer only; 0.0.0.0 lets "
        "other machines in, each visitor then signs in: docs/privacy.md)",
    )
    app.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")

    models = sub.add_parser("models", help="hand model")
    msub = models.add_subparsers(dest="action", required=True, parser_class=_Parser)
    fetch = msub.add_parser(
        "fetch",
        help="make sure the hand models (full, and lite for the live page) are present; "
        "print the full model's path (in models/ of a checkout, else the user's data folder)",
    )
    add_progress_option(fetch)

    strokes = sub.add_parser("strokes", help="stroke library")
    ssub = strokes.add_subparsers(dest="action", required=True, parser_class=_Parser)
    ssub.add_parser("list", help="stroke ids and names, one a line")

    from coach.references.reference import (
        add_reference_arguments,
        add_references_arguments,
        add_references_dir_option,
    )
    from coach.services.batch import add_batch_arguments

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

    reference = sub.add_parser("reference", help="record a new reference from a demonstration")
    add_reference_arguments(reference)

    references = sub.add_parser("references", help="saved references: list, export, import")
    add_references_arguments(references)

    samples = sub.add_parser("samples", help="synthetic practice clips with ground truth")
    xsub = samples.add_subparsers(dest="action", required=True, parser_class=_Parser)
    make = xsub.add_parser("make", help="render sample clips (one path a line)")
    from coach.samples.synth import add_samples_arguments

    add_samples_arguments(make)
    add_progress_option(make)

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
            sp.add_argument("--profile", default=None, help="only this profile's sessions")
            sp.add_argument(
                "--limit", type=int, default=20, help="at most this many sessions (default 20)"
            )
        else:
            sp.add_argument(
                "session_id", type=int, help="session number (see `coach sessions list`)"
            )
            sp.add_argument("dest", help="HTML file (or folder) to write")
            sp.add_argument(
                "--overwrite", action="store_true", help="replace the file if it exists"
            )
            add_references_dir_option(sp)

    accounts = sub.add_parser(
        "accounts", help="sign-in accounts for a server other machines can reach: add, list"
    )
    asub = accounts.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, helptext in (
        ("add", "a new account (the password is asked for, or read from stdin)"),
        ("passwd", "set an account's password"),
        ("list", "the accounts and their roles"),
    ):
        ap = asub.add_parser(name, help=helptext)
        ap.add_argument(
            "--database",
            metavar="URL|PATH",
            default=None,
            help="session store (default: coach.db in the data folder, or $COACH_DATABASE_URL)",
        )
        if name != "list":
            ap.add_argument("name", help="account name (letters, digits, space, - and _)")
            ap.add_argument(
                "--password-stdin",
                action="store_true",
                help="read the password from the first line of standard input",
            )
        if name == "add":
            ap.add_argument(
                "--instructor",
                action="store_true",
                help="an instructor account: sees the sessions trainees share with it",
            )

    bench = sub.add_parser("bench", help="performance benchmark (see README)")
    from coach.bench.bench import add_arguments as add_bench_arguments

    add_bench_arguments(bench)
    from coach.relay.cli import add_arguments as add_relay_arguments

    add_relay_arguments(sub.add_parser("relay", help="class relay: run one (see docs/relay.md)"))

    from coach.evaluation.suite import add_arguments as add_eval_arguments

    add_eval_arguments(sub.add_parser("eval", help="evaluation suite: verdicts on field clips"))
    add_examples(parser)
    return parser


#: An example per command, shown at the end of its --help.
EXAMPLES = {
    "app": "coach app            # then open http://127.0.0.1:8501\n"
    "  coach app --host 0.0.0.0 --port 8502",
    "models": "coach models fetch",
    "models fetch": "coach models fetch",
    "strokes": "coach strokes list",
    "strokes list": "coach strokes list",
    "score": "coach score practice.mp4 --stroke i-love-you --tummy 0.3,0.3,0.7,0.7 --json -\n"
    "  coach score videos/ --stroke sun --json summary.json",
    "reference": 'coach reference demo.mp4 --name "Anna\'s slow sun" --stroke sun',
    "references": "coach references list",
    "references list": "coach references list",
    "references export": "coach references export annas-slow-sun annas-slow-sun.json",
    "references import": "coach references import annas-slow-sun.json",
    "samples": "coach samples make --stroke sun",
    "samples make": "coach samples make --stroke sun --fault reversed --progress",
    "sessions": "coach sessions list",
    "sessions list": "coach sessions list --profile Anna --limit 5",
    "sessions export": "coach sessions export 12 session-12.html",
    "accounts": "coach accounts add Anna --instructor",
    "accounts add": "coach accounts add Anna --instructor",
    "accounts passwd": "coach accounts passwd Anna",
    "accounts list": "coach accounts list",
    "bench": "coach bench",
    "relay": "coach relay --host 127.0.0.1 --port 8765",
    "relay bench": "coach relay bench",
    "eval": "coach eval --subset fast",
}


def subparsers(parser: argparse.ArgumentParser, path: str = ""):
    """``(command path, parser)`` of every sub-command, depth first ("models fetch")."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                full = f"{path} {name}".strip()
                yield full, child
                yield from subparsers(child, full)


def add_examples(parser: argparse.ArgumentParser) -> None:
    for path, child in subparsers(parser):
        if path in EXAMPLES and not child.epilog:
            child.epilog = "example:\n  " + EXAMPLES[path]
            child.formatter_class = argparse.RawDescriptionHelpFormatter


def version() -> str:
    """The installed version (written once, in pyproject.toml)."""
    from coach import __version__

    return __version__


def cmd_app(args: argparse.Namespace) -> int:
    """Run the page with Streamlit, with the server options of the checkout's
    .streamlit/config.toml on the command line (an installed copy has no such folder)."""
    import subprocess

    from coach.ui.pages import APP_SCRIPT
    from coach.vision.models import model_file

    command = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), *server_options(args)]
    if not model_file().is_file():
        print(
            f"coach: no hand model in {model_file().parent} yet; run `coach models fetch` "
            "once (the page cannot follow a hand without it)",
            file=sys.stderr,
        )
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return EXIT_OK


def server_options(args: argparse.Namespace) -> list[str]:
    """The same server options as `make run` and .streamlit/config.toml."""
    if not 0 < args.port < 65536:
        raise CliError(f"--port: expected 1..65535, found {args.port}", EXIT_USAGE)
    return [
        "--server.headless", "true",
        "--server.address", args.host,
        "--server.port", str(args.port),
        "--server.maxUploadSize", "200",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def _load_stroke(name: str, refs_dir=None):
    """A built-in stroke, a definition/reference file, or a reference saved in ``refs_dir``."""
    from coach.core.strokes import StrokeError
    from coach.references.reference import resolve_stroke

    try:
        return resolve_stroke(name, refs_dir)
    except StrokeError as exc:
        raise CliError(str(exc)) from None


def tummy_box(args: argparse.Namespace) -> tuple[float, float, float, float]:
    """The ``--tummy`` box (the middle of the frame, with a note, when not given)."""
    from coach.core.bodyframe import parse_box

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
    from coach.core.bodyframe import BodyFrame

    return BodyFrame.from_box(tummy_box(args), args.head, args.mirrored, size)


def check_output_file(path: str | os.PathLike, what: str, overwrite: bool = True) -> Path:
    """Check, before any work, that ``path`` can be written as a file: not a folder, not
    something else than a regular file, not existing unless ``overwrite``, and in a
    folder that exists (or can be made) and can be written (tried with a temporary
    file). Raises :class:`CliError` with exit status 2 (usage)."""
    p = Path(path)
    if p.is_dir():
        raise CliError(f"{what} {p}: is a folder, expected a file name", EXIT_USAGE)
    if p.exists() or p.is_symlink():
        if not p.is_file():
            raise CliError(f"{what} {p}: expected a regular file, found something else", EXIT_USAGE)
        if not overwrite:
            raise CliError(
                f"{what} {p}: already exists; pass --overwrite to replace it", EXIT_USAGE
            )
    folder = p.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise CliError(f"{what} {p}: {folder} is not a folder", EXIT_USAGE)
    try:
        fd, probe = tempfile.mkstemp(prefix=".coach-write-check.", dir=folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CliError(f"{what} {p}: cannot write in {folder} ({reason})", EXIT_USAGE) from None
    os.close(fd)
    os.unlink(probe)
    return p


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
    from coach.core.pipeline import Coach
    from coach.render.report import build_report
    from coach.vision.hand_tracker import offline_landmarker
    from coach.vision.video import open_video

    owns = landmarker is None
    with open_video(video_path) as reader:
        info = reader.info
        lm = landmarker or offline_landmarker(stroke.hands)
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
    from coach.references.reference import references_dir
    from coach.render.report import summary_table
    from coach.services.batch import cmd_score_batch, is_batch
    from coach.vision.models import ModelError
    from coach.vision.video import VideoError, read_info

    # usage first: arguments and output paths are checked before any video is opened
    if args.tummy is not None:
        tummy_box(args)
    if args.json and args.json != "-":
        check_output_file(args.json, "--json")
    stroke = _load_stroke(args.stroke, references_dir(args))
    if is_batch(args):
        return cmd_score_batch(args, stroke)
    video = args.video[0]
    try:
        read_info(video)  # fail fast, before loading the model
        with fraction_bar(f"scoring {Path(video).name}", args.progress) as on_progress:
            report, _ = score_video(
                video, stroke, lambda size: _body_frame(args, size), on_progress=on_progress
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


def cmd_models(args: argparse.Namespace) -> int:
    from coach.vision.models import ModelError, fetch_models

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        with fraction_bar("hand models", args.progress) as on_progress:
            paths = fetch_models(log=log, on_progress=on_progress)
    except ModelError as exc:
        raise CliError(str(exc)) from None
    log(f"lite hand model (live page): {paths['lite']}")
    print(paths["full"])  # the contract: stdout is the hand model's path
    return EXIT_OK


def cmd_strokes(args: argparse.Namespace) -> int:
    from coach.core.strokes import list_strokes

    for s in list_strokes():
        print(f"{s.id}\t{s.name}")
    return EXIT_OK


def cmd_samples(args: argparse.Namespace) -> int:
    from coach.samples import synth

    try:
        with fraction_bar("rendering samples", args.progress) as on_progress:
            paths = synth.make_samples_from_args(args, on_progress)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    for p in paths:
        print(p)
    return EXIT_OK


def _store(args: argparse.Namespace, read_only: bool = True):
    """The session store for a ``sessions`` command, opened read-only: it is never created,
    upgraded or changed, and a file that is not a Stroke Coach store is refused untouched.
    None when the default store does not exist yet (nothing saved)."""
    from coach.storage import paths
    from coach.storage.store import Store, StoreError, default_database_url, display_url

    explicit = args.database or os.environ.get("COACH_DATABASE_URL")
    url = explicit or default_database_url(paths.data_dir())
    if not explicit and not Path(paths.data_dir() / "coach.db").exists():
        return None
    try:
        return Store.open(url, read_only=read_only)
    except (StoreError, ValueError) as exc:
        message = display_url(exc)
        if display_url(url) not in message:
            message = f"session store {display_url(url)}: {message}"
        raise CliError(message) from None


def cmd_sessions(args: argparse.Namespace) -> int:
    from coach.storage.store import StoreError, validate_profile_name

    # usage first: arguments and the output path, before the store is opened
    if args.action == "list":
        if args.profile is not None:
            try:
                validate_profile_name(args.profile)
            except ValueError as exc:
                raise CliError(f"--profile: {exc}", EXIT_USAGE) from None
        if args.limit < 1:
            raise CliError(f"--limit: expected a positive number, found {args.limit}", EXIT_USAGE)
    else:
        dest = Path(args.dest)
        if not dest.is_dir():
            check_output_file(dest, "destination", overwrite=args.overwrite)
    store = _store(args)
    if store is None:
        if args.action == "list":
            print("no saved sessions yet", file=sys.stderr)
            return EXIT_OK
        raise CliError(f"cannot export session {args.session_id}: no sessions saved yet")
    with store:
        if args.action == "list":
            try:
                rows = store.sessions(profile=args.profile, limit=args.limit)
            except (StoreError, ValueError) as exc:
                raise CliError(str(exc)) from None
            if not rows:
                print("no saved sessions yet", file=sys.stderr)
            for r in rows:
                score = "-" if r.score is None else r.score
                print(
                    f"{r.id}\t{r.started_at:%Y-%m-%d %H:%M}\t{r.profile}\t{r.stroke_id}\t"
                    f"{r.source}\t{r.repetition_count} reps\tscore {score}"
                )
            return EXIT_OK
        from coach.core.strokes import StrokeError
        from coach.references.reference import references_dir
        from coach.render.html_report import export_session_html

        try:
            path = export_session_html(
                store,
                args.session_id,
                args.dest,
                refs_dir=references_dir(args),
                overwrite=args.overwrite,
            )
        except FileExistsError:
            raise CliError(
                f"cannot export session {args.session_id}: the destination already exists; "
                "pass --overwrite to replace it",
                EXIT_USAGE,
            ) from None
        except OSError as exc:
            raise CliError(
                f"cannot export session {args.session_id}: {exc.strerror or exc}"
            ) from None
        except (StoreError, StrokeError, ValueError, KeyError) as exc:
            raise CliError(f"cannot export session {args.session_id}: {exc}") from None
    print(path)
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise CliError("the two passwords differ; nothing was changed", EXIT_USAGE)
    return first


def cmd_accounts(args: argparse.Namespace) -> int:
    from coach.storage import accounts, paths
    from coach.storage.store import (
        Store,
        StoreError,
        default_database_url,
        display_url,
        validate_profile_name,
    )

    if args.action != "list":
        try:
            validate_profile_name(args.name)
            password = accounts.check_password_rules(_read_password(args)) if args.action else ""
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    url = (
        args.database
        or os.environ.get("COACH_DATABASE_URL")
        or default_database_url(paths.data_dir())
    )
    try:
        store = Store.open(url, read_only=args.action == "list")
    except (StoreError, ValueError) as exc:
        raise CliError(display_url(exc)) from None
    with store:
        try:
            if args.action == "list":
                for a in accounts.list_accounts(store):
                    print(f"{a.name}\t{a.role}")
            elif args.action == "add":
                role = "instructor" if args.instructor else "trainee"
                made = accounts.create_account(store, args.name, password, role)
                print(f"account {made.name!r} ({made.role}) added", file=sys.stderr)
            else:
                accounts.set_password(store, args.name, password)
                print(f"password of {args.name!r} changed", file=sys.stderr)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        except StoreError as exc:
            raise CliError(display_url(exc)) from None
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from coach.bench.bench import run_from_args

    return run_from_args(args)


def cmd_eval(args: argparse.Namespace) -> int:
    from coach.evaluation.suite import run_from_args

    return run_from_args(args)


def cmd_reference(args: argparse.Namespace) -> int:
    from coach.references.reference import cmd_reference as run

    return run(args)


def cmd_references(args: argparse.Namespace) -> int:
    from coach.references.reference import cmd_references as run

    return run(args)


def cmd_relay(args: argparse.Namespace) -> int:
    from coach.relay.cli import run

    return run(args)


COMMANDS = {
    "app": cmd_app,
    "score": cmd_score,
    "reference": cmd_reference,
    "references": cmd_references,
    "models": cmd_models,
    "strokes": cmd_strokes,
    "samples": cmd_samples,
    "bench": cmd_bench,
    "sessions": cmd_sessions,
    "accounts": cmd_accounts,
    "relay": cmd_relay,
    "eval": cmd_eval,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        from coach.core.safetext import one_line

        print(f"coach: {one_line(exc)}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("coach: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
