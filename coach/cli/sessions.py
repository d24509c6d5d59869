"""``coach sessions list | export``: saved practice sessions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coach.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Parser,
    add_references_dir_option,
    check_output_file,
    references_dir,
)
from coach.core.strokes import StrokeError
from coach.storage import paths


def add_parser(sub: argparse._SubParsersAction) -> None:
    sessions = sub.add_parser("sessions", help="saved practice sessions: list, export")
    sesub = sessions.add_subparsers(dest="action", required=True, parser_class=Parser)
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


def _store(args: argparse.Namespace, read_only: bool = True):
    """The session store for a ``sessions`` command, opened read-only: it is never created,
    upgraded or changed, and a file that is not a Stroke Coach store is refused untouched.
    None when the default store does not exist yet (nothing saved)."""
    # deferred: the store pulls SQLAlchemy; `coach --help` stays fast
    from coach.storage.store import Store, StoreError, default_database_url, display_url

    explicit = args.database or paths.database_url_override()
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


def run(args: argparse.Namespace) -> int:
    # deferred: the store pulls SQLAlchemy; `coach --help` stays fast
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
        # deferred: the HTML report pulls matplotlib
        from coach.services.session_report import export_session_html

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
