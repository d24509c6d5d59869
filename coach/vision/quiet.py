"""Silence native libraries' start-up chatter on the process's stderr.

MediaPipe (glog) and LiteRT (TFLite's logger) write straight to file descriptor 2
when a model is loaded or first run ("Created TensorFlow Lite XNNPACK delegate
for CPU", ...), which Python's logging cannot catch.

File descriptor 2 belongs to the whole process, so the silencing is shared: a lock
and a count of the threads inside :func:`quiet_native_stderr`. The first one in saves
the real stderr and points fd 2 at /dev/null; the last one out puts the real stderr
back. Two live sessions starting together can therefore never leave the server's
error output silenced (each one restoring what the other had silenced).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0  # threads inside quiet_native_stderr
_saved_fd: int | None = None  # the real stderr while _depth > 0


def _enter() -> None:
    global _depth, _saved_fd
    with _lock:
        if _depth == 0:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            try:
                saved = os.dup(2)
            except OSError:  # no usable stderr: nothing to silence
                saved = None
            if saved is not None:
                try:
                    with open(os.devnull, "wb") as devnull:
                        os.dup2(devnull.fileno(), 2)
                except OSError:
                    os.close(saved)
                    saved = None
            _saved_fd = saved
        _depth += 1


def _leave() -> None:
    global _depth, _saved_fd
    with _lock:
        _depth -= 1
        if _depth == 0 and _saved_fd is not None:
            os.dup2(_saved_fd, 2)
            os.close(_saved_fd)
            _saved_fd = None


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while any thread is inside this block
    (native glog/TFLite chatter); thread-safe, the real stderr comes back when the
    last thread leaves."""
    _enter()
    try:
        yield
    finally:
        _leave()
