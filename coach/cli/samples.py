"""``coach samples make``: synthetic practice clips with ground truth
(:mod:`coach.samples.synth`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from coach.cli.common import EXIT_OK, EXIT_USAGE, CliError, Parser
from coach.core.bodyframe import HEAD_DIRECTIONS
from coach.core.strokes import builtin_ids
from coach.samples.scene import SKIN_TONES
from coach.samples.synth import default_cache_dir, make_samples
from coach.samples.truth import FAULTS
from coach.services.progress_bar import add_progress_option, fraction_bar


def add_parser(sub: argparse._SubParsersAction) -> None:
    samples = sub.add_parser("samples", help="synthetic practice clips with ground truth")
    xsub = samples.add_subparsers(dest="action", required=True, parser_class=Parser)
    make = xsub.add_parser("make", help="render sample clips (one path a line)")
    add_samples_arguments(make)
    add_progress_option(make)


def run(args: argparse.Namespace) -> int:
    try:
        with fraction_bar("rendering samples", args.progress) as on_progress:
            paths = make_samples_from_args(args, on_progress)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    for p in paths:
        print(p)
    return EXIT_OK


def _size_arg(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, e.g. 640x480, found {text!r}"
        ) from None
    return w, h


def add_samples_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``coach samples make``."""
    parser.add_argument(
        "--out",
        default=str(default_cache_dir()),
        help="output folder (default: samples/ in a checkout, else the user's cache folder)",
    )
    parser.add_argument(
        "--stroke", nargs="+", default=["i-love-you"], help="stroke ids ('all' for every one)"
    )
    parser.add_argument(
        "--fault", nargs="+", default=["none"], help=f"faults ('all'): {', '.join(FAULTS)}"
    )
    parser.add_argument(
        "--head", nargs="+", default=["up"], choices=list(HEAD_DIRECTIONS),
        help="where the baby's head is in the picture (default up)",
    )  # fmt: skip
    parser.add_argument("--mirrored", action="store_true", help="also render mirrored clips")
    parser.add_argument(
        "--size", nargs="+", type=_size_arg, default=[(640, 480)], help="WIDTHxHEIGHT"
    )
    parser.add_argument(
        "--fps", nargs="+", type=float, default=[30.0], help="frame rates (default 30)"
    )
    parser.add_argument(
        "--skin", nargs="+", default=["light"], choices=list(SKIN_TONES),
        help="skin tones of the drawn hand (default light)",
    )  # fmt: skip
    parser.add_argument(
        "--repetitions", type=int, default=2, help="repetitions of the stroke per clip (default 2)"
    )
    parser.add_argument("--duration", type=float, default=None, help="seconds; loops repetitions")
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed of the human-like variation (default 0)"
    )
    parser.add_argument(
        "--format", default="mp4", choices=["mp4", "webm", "avi", "mov", "mkv", "y4m"],
        help="container of the clips (default mp4)",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="render even when cached")


def make_samples_from_args(
    args: argparse.Namespace, on_progress: Callable[[float], None] | None = None
) -> list[Path]:
    """Run :func:`make_samples` for parsed :func:`add_samples_arguments` options."""
    strokes = builtin_ids() if "all" in args.stroke else list(args.stroke)
    faults = list(FAULTS) if "all" in args.fault else list(args.fault)
    for fault in faults:
        if fault not in FAULTS:
            raise ValueError(
                f"--fault: expected one of {', '.join(FAULTS)} or all, found {fault!r}"
            )
    return make_samples(
        args.out,
        strokes,
        faults,
        heads=args.head,
        mirrored=(False, True) if args.mirrored else (False,),
        sizes=args.size,
        fps=args.fps,
        skins=args.skin,
        repetitions=args.repetitions,
        seed=args.seed,
        duration_s=args.duration,
        suffix="." + args.format,
        force=args.force,
        on_progress=on_progress,
    )


def main_samples(argv: Sequence[str] | None = None) -> int:
    """``coach samples make ...`` as a stand-alone entry point: prints one path a line."""
    parser = argparse.ArgumentParser(
        prog="coach samples make", description="Render synthetic practice clips with ground truth."
    )
    add_samples_arguments(parser)
    args = parser.parse_args(argv)
    try:
        paths = make_samples_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    for p in paths:
        print(p)
    return 0
