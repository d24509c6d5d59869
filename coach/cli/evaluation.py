"""``coach eval``: the evaluation suite (:mod:`coach.evaluation`)."""

from __future__ import annotations

import argparse

from coach.evaluation.suite import add_arguments, run_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    add_arguments(sub.add_parser("eval", help="evaluation suite: verdicts on field clips"))


def run(args: argparse.Namespace) -> int:
    return run_from_args(args)
