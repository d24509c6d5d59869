"""What every command shares: exit codes, the one-line error, the parser class, the
calibration and references-folder options, and checks made before any work."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from coach.core.bodyframe import DEFAULT_TUMMY_BOX, BodyFrame, parse_box
from coach.core.strokes import StrokeDefinition, StrokeError
from coach.references.library import default_references_dir, resolve_stroke

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A user-facing failure: ``str(exc)`` is the one-line message, ``status`` the exit code."""

    def __init__(self, message: str, status: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like argparse but shorter
        self.print_usage(sys.stderr)
        print(f"coach: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def add_calibration_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tummy",
        metavar="X0,Y0,X1,Y1",
        help="tummy box, normalised coordinates of the frame as stored (0..1, x right, y down)",
    )
    p.add_argument(
        "--head",
        choices=("up", "down", "left", "right"),
        default="up",
        help="where the baby's head is in the image (default up)",
    )
    p.add_argument("--mirrored", action="store_true", help="the video is mirrored (selfie preview)")


def tummy_box(args: argparse.Namespace) -> tuple[float, float, float, float]:
    """The ``--tummy`` box (the middle of the frame, with a note, when not given)."""
    if args.tummy is None:
        print(
            f"coach: no --tummy given; assuming the tummy fills the middle of the frame "
            f"({','.join(map(str, DEFAULT_TUMMY_BOX))})",
            file=sys.stderr,
        )
        return DEFAULT_TUMMY_BOX
    try:
        return parse_box(args.tummy)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def body_frame(args: argparse.Namespace, size: tuple[int, int]) -> BodyFrame:
    """The body frame of ``--tummy/--head/--mirrored`` for a video of ``size`` pixels."""
    return BodyFrame.from_box(tummy_box(args), args.head, args.mirrored, size)


def add_references_dir_option(parser: argparse.ArgumentParser) -> None:
    """``--references-dir DIR`` (for ``score``, ``reference``, ``references``, ``sessions``)."""
    parser.add_argument(
        "--references-dir",
        metavar="DIR",
        default=None,
        help="folder of saved references (default: references/ in the data folder, "
        "COACH_DATA_DIR or the platform's user data folder)",
    )


def references_dir(args: argparse.Namespace) -> Path:
    chosen = getattr(args, "references_dir", None)
    return Path(chosen).expanduser() if chosen else default_references_dir()


def load_stroke(name: str, refs_dir=None) -> StrokeDefinition:
    """A built-in stroke, a definition/reference file, or a reference saved in ``refs_dir``."""
    try:
        return resolve_stroke(name, refs_dir)
    except StrokeError as exc:
        raise CliError(str(exc)) from None


def check_output_file(path: str | os.PathLike, what: str, overwrite: bool = True) -> Path:
    """Check, before any work, that ``path`` can be written as a file: not a folder, not
    something else than a regular file, not existing unless ``overwrite``, and in a
    folder that exists (or can be made) and can be written (tried with a temporary
    file). Raises :class:`CliError` with exit status 2 (usage)."""
    p = Path(path)
    if p.is_dir():
        raise CliError(f"{what} {p}: is a folder, expected a file name", EXIT_USAGE)
    if p.exists() or p.is_symlink():
        if not p.is_file():
            raise CliError(f"{what} {p}: expected a regular file, found something else", EXIT_USAGE)
        if not overwrite:
            raise CliError(
                f"{what} {p}: already exists; pass --overwrite to replace it", EXIT_USAGE
            )
    folder = p.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise CliError(f"{what} {p}: {folder} is not a folder", EXIT_USAGE)
    try:
        fd, probe = tempfile.mkstemp(prefix=".coach-write-check.", dir=folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CliError(f"{what} {p}: cannot write in {folder} ({reason})", EXIT_USAGE) from None
    os.close(fd)
    os.unlink(probe)
    return p
