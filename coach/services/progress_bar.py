"""Progress bars of the long commands (`coach score` of one video, `coach samples make`):
one library (tqdm), on stderr only, shown when stderr is a terminal or when asked with
``--progress``. Stdout keeps its contract (contract.md) either way."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm


def wanted(asked: bool, stream: TextIO | None = None) -> bool:
    """Show a bar? When asked, or when ``stream`` (default stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(asked or (isatty is not None and isatty()))


@contextmanager
def fraction_bar(
    description: str, asked: bool = False, stream: TextIO | None = None
) -> Iterator[Callable[[float], None] | None]:
    """A bar from 0 to 100 %: yields ``on_progress(fraction)``, or ``None`` when no bar
    is wanted (:func:`wanted`)."""
    stream = sys.stderr if stream is None else stream
    if not wanted(asked, stream):
        yield None
        return
    with tqdm(total=100, desc=description, unit="%", file=stream, leave=False) as bar:

        def on_progress(fraction: float) -> None:
            done = round(100 * min(max(fraction, 0.0), 1.0))
            if done > bar.n:
                bar.update(done - bar.n)

        yield on_progress


def add_progress_option(parser) -> None:
    """``--progress``: a bar on stderr even when it is not a terminal."""
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show a progress bar on stderr even when it is not a terminal "
        "(shown anyway when it is)",
    )
