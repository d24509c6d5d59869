"""The one reader of files other people made (a reference, a stroke definition): a
regular file, at most ``max_bytes``, UTF-8, then the safe JSON parser of
:mod:`coach.core.safetext`. Every problem raises the caller's error class with one line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from coach.core.safetext import parse_json


def read_json_file(
    path: str | os.PathLike, max_bytes: int, error: type[Exception], what: str = "a JSON file"
) -> object:
    """Parse the file ``path`` safely (see the module notes); raises ``error`` (one line)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{p}: expected {what}, found no such file") from None
    except (OSError, ValueError) as exc:
        raise error(f"{p}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        found = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise error(f"{p}: expected {what}, found {found}")
    if st.st_size > max_bytes:
        raise error(f"{p}: expected {what} of at most {max_bytes} bytes, found {st.st_size}")
    try:
        with open(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{p}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise error(f"{p}: expected {what} of at most {max_bytes} bytes, found more")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{p}: expected UTF-8 JSON text, found undecodable bytes at offset {exc.start}"
        ) from None
    return parse_json(text, str(p), error)
