"""Silence native libraries' start-up chatter on the process's stderr.

MediaPipe (glog) and LiteRT (TFLite's logger) write straight to file descriptor 2
when a model is loaded or first run ("Created TensorFlow Lite XNNPACK delegate
for CPU", ...), which Python's logging cannot catch.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (native glog/TFLite chatter)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
