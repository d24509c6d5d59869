"""``coach bench``: the performance benchmark (:mod:`coach.bench.bench`)."""

from __future__ import annotations

import argparse

from coach.bench.bench import run_bench
from coach.bench.measure import CHUNK_FRAMES


def add_parser(sub: argparse._SubParsersAction) -> None:
    add_arguments(sub.add_parser("bench", help="performance benchmark (see README)"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``coach bench`` options."""
    parser.add_argument(
        "--long-s", type=float, default=600.0, help="length of the long clip (s; 0 skips it)"
    )
    parser.add_argument(
        "--short-s", type=float, default=30.0, help="length of the short clip (s; 0 skips it)"
    )
    parser.add_argument(
        "--out", default=None, help="folder for the generated clips (default samples/bench)"
    )
    parser.add_argument(
        "--json",
        dest="json_path",
        metavar="PATH",
        default=None,
        help="also write the numbers as JSON here",
    )
    parser.add_argument(
        "--chunk-frames",
        type=int,
        default=CHUNK_FRAMES,
        help=f"frames per interleaved chunk (default {CHUNK_FRAMES})",
    )


def run(args: argparse.Namespace) -> int:
    return run_bench(
        long_s=args.long_s,
        short_s=args.short_s,
        out_dir=args.out,
        json_path=getattr(args, "json_path", None),
        chunk_frames=getattr(args, "chunk_frames", CHUNK_FRAMES),
    )
