"""``coach accounts add | passwd | list``: sign-in accounts for a shared server."""

from __future__ import annotations

import argparse
import getpass
import sys

from coach.cli.common import EXIT_OK, EXIT_USAGE, CliError, Parser


def add_parser(sub: argparse._SubParsersAction) -> None:
    accounts = sub.add_parser(
        "accounts", help="sign-in accounts for a server other machines can reach: add, list"
    )
    asub = accounts.add_subparsers(dest="action", required=True, parser_class=Parser)
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


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise CliError("the two passwords differ; nothing was changed", EXIT_USAGE)
    return first


def run(args: argparse.Namespace) -> int:
    # deferred: the store pulls SQLAlchemy; `coach --help` stays fast
    from coach.storage import accounts
    from coach.storage.store import (
        Store,
        StoreError,
        database_url,
        display_url,
        validate_profile_name,
    )

    if args.action != "list":
        try:
            validate_profile_name(args.name)
            password = accounts.check_password_rules(_read_password(args)) if args.action else ""
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    url = args.database or database_url()
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
