"""``coach strokes list``: the stroke library."""

from __future__ import annotations

import argparse

from coach.cli.common import EXIT_OK, Parser
from coach.core.strokes import list_strokes


def add_parser(sub: argparse._SubParsersAction) -> None:
    strokes = sub.add_parser("strokes", help="stroke library")
    ssub = strokes.add_subparsers(dest="action", required=True, parser_class=Parser)
    ssub.add_parser("list", help="stroke ids and names, one a line")


def run(args: argparse.Namespace) -> int:
    for s in list_strokes():
        print(f"{s.id}\t{s.name}")
    return EXIT_OK
