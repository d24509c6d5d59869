"""``coach models fetch``: the hand models (full, and lite for the live page)."""

from __future__ import annotations

import argparse
import sys

from coach.cli.common import EXIT_OK, CliError, Parser
from coach.services.progress_bar import add_progress_option, fraction_bar
from coach.vision.models import ModelError, fetch_models


def add_parser(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="hand model")
    msub = models.add_subparsers(dest="action", required=True, parser_class=Parser)
    fetch = msub.add_parser(
        "fetch",
        help="make sure the hand models (full, and lite for the live page) are present; "
        "print the full model's path (in models/ of a checkout, else the user's data folder)",
    )
    add_progress_option(fetch)


def run(args: argparse.Namespace) -> int:
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
