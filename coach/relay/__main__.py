"""``python -m coach.relay``: the same as ``coach relay`` without loading the rest of the
coach (a lighter process for a relay-only server)."""

import argparse
import sys

from coach.relay.cli import add_arguments, run


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        print(f"coach relay: error: {message}", file=sys.stderr)
        raise SystemExit(2)


parser = _Parser(prog="coach relay", description="Run a class relay (docs/relay.md).")
add_arguments(parser)
raise SystemExit(run(parser.parse_args()))
