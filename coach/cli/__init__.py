"""Command line: ``coach app | score | reference | references | models | strokes | samples |
sessions | accounts | bench | relay | eval``, one module per command (``add_parser`` and
``run``), and :func:`main`. Nothing in the package imports the CLI; it imports the rest.

Exit status (contract.md): 0 scored (even with no hand), 2 bad usage, 1 input that
cannot be read, with a one-line message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from coach import __version__
from coach.cli import (
    accounts,
    app,
    bench,
    evaluation,
    models,
    references,
    relay,
    samples,
    score,
    sessions,
    strokes,
)
from coach.cli.common import CliError, Parser
from coach.core.safetext import one_line

#: The commands, in the order ``coach --help`` lists them, and what runs each.
COMMANDS = {
    "app": app.run,
    "models": models.run,
    "strokes": strokes.run,
    "score": score.run,
    "reference": references.cmd_reference,
    "references": references.cmd_references,
    "samples": samples.run,
    "sessions": sessions.run,
    "accounts": accounts.run,
    "bench": bench.run,
    "relay": relay.run,
    "eval": evaluation.run,
}
_PARSERS = (
    app, models, strokes, score, references, samples, sessions, accounts, bench, relay, evaluation
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="coach",
        description="Stroke Coach: infant massage practice coach.",
        epilog="example: coach app  (opens the page on http://127.0.0.1:8501)",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version()}", help="show the version"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in _PARSERS:
        command.add_parser(sub)
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
    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"coach: {one_line(exc)}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("coach: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
