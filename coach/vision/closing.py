"""One way to release what a vision object holds: ``close()``, also called by ``with``."""

from __future__ import annotations

import contextlib


class Closing(contextlib.AbstractContextManager):
    """Base of objects that hold a decoder, an encoder or MediaPipe tasks.

    A subclass defines :meth:`close` (safe to call twice); ``with obj:`` returns
    ``obj`` and calls ``close()`` on the way out, whether or not an error is raised.
    """

    def close(self) -> None:
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        self.close()
