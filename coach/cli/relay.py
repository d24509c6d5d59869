"""``coach relay [bench]``: run a class relay, or measure one (:mod:`coach.relay.cli`)."""

from __future__ import annotations

import argparse

from coach.relay import cli as relay_cli


def add_parser(sub: argparse._SubParsersAction) -> None:
    relay = sub.add_parser("relay", help="class relay: run one (see docs/relay.md)")
    relay_cli.add_arguments(relay)


def run(args: argparse.Namespace) -> int:
    return relay_cli.run(args)
