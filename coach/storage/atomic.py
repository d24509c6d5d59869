"""Atomic file writes, written once: a temporary file in the destination's folder, renamed
over the destination only when it is complete, so that a reader never sees half a file
and a failure leaves the destination as it was."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(
    dest: str | os.PathLike,
    *,
    overwrite: bool = True,
    mode: int | None = None,
    suffix: str = ".tmp",
) -> Iterator[Path]:
    """A temporary path beside ``dest`` to write to; on leaving the block without an
    exception it becomes ``dest`` (its permissions set to ``mode`` first when given:
    the temporary file is private, 0600), otherwise it is removed and ``dest`` is left as
    it was. The folder is made when missing. Without ``overwrite`` an existing ``dest`` is
    never replaced (``FileExistsError``): the file is hard-linked to the name, which fails
    if the name exists (where links are missing: a check, then the rename)."""
    out = Path(dest)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, out)
        else:
            try:
                os.link(tmp, out)
            except FileExistsError:
                raise
            except OSError:  # no hard links here: check, then rename
                if out.exists():
                    raise FileExistsError(out) from None
                os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(
    text: str, dest: str | os.PathLike, overwrite: bool = True, mode: int | None = None
) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``dest`` atomically, flushed to disk
    before the rename (see :func:`atomic_path` for ``overwrite`` and ``mode``)."""
    with (
        atomic_path(dest, overwrite=overwrite, mode=mode) as tmp,
        open(tmp, "w", encoding="utf-8", newline="\n") as fh,
    ):
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(dest)


def write_json_atomic(
    path: str | os.PathLike, data: object, mode: int | None = 0o644, newline: bool = True
) -> Path:
    """Write ``data`` as indented JSON atomically. Readable by others by default
    (``mode`` 0644: a report is meant to be shared); ``newline`` ends the file with one."""
    text = json.dumps(data, indent=2) + ("\n" if newline else "")
    return write_text_atomic(text, path, mode=mode)
