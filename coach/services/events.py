"""What the live coach tells the page: typed events (:class:`LiveEvent`), the bounded
queue they go through (:class:`EventQueue`: ``put_nowait``, and when it is full the
oldest event is dropped, so a page that stops polling never blocks the video), the
statistics, and what the page shows rebuilt from them (:class:`LiveView`, pure)."""

from __future__ import annotations

import contextlib
import queue
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.types import Hint, LiveStatus, RepetitionScore
from coach.services.calibration import CalibrationState

# =================================================================================================
# Events and statistics
# =================================================================================================


#: What a live event says (see :class:`LiveEvent` for each payload).
EventKind = Literal[
    "hint", "repetition", "status", "calibration", "calibrated", "stats", "session"
]  # fmt: skip


@dataclass(frozen=True)
class LiveEvent:
    """One message for the page.

    ``kind``: ``"hint"`` (payload :class:`coach.core.types.Hint`), ``"repetition"``
    (:class:`coach.core.types.RepetitionScore`), ``"status"``
    (:data:`coach.core.types.LiveStatus`), ``"calibration"`` (:class:`CalibrationState`),
    ``"calibrated"`` (:class:`BodyFrame`), ``"stats"`` (:class:`LiveStats`),
    ``"session"`` (a new session started: stream restarted), ``"error"`` (str: a frame
    the coach could not process, said in plain words; sent once per kind of failure).
    """

    kind: EventKind
    t_s: float
    payload: EventPayload = None


@dataclass(frozen=True)
class LiveStats:
    frames_in: int  # frames offered to process()
    frames_processed: int  # frames that went through the pipeline
    frames_dropped: int  # frames answered with the last annotated frame (worker busy)
    fps: float  # processed frames per second over the last ~2 s (wall clock)
    processing_ms_p50: float
    processing_ms_p95: float
    processing_ms_last: float


#: What a live event carries (after :class:`LiveStats`, which is one).
EventPayload = Hint | RepetitionScore | str | CalibrationState | BodyFrame | LiveStats | None


class EventQueue:
    """A bounded queue that never blocks the producer: when full, the oldest event goes."""

    def __init__(self, maxsize: int = 64):
        if maxsize < 1:
            raise ValueError(f"EventQueue: expected maxsize >= 1, found {maxsize}")
        self._q: queue.Queue[LiveEvent] = queue.Queue(maxsize=maxsize)
        self.dropped = 0

    def put(self, event: LiveEvent) -> None:
        while True:
            try:
                self._q.put_nowait(event)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._q.get_nowait()
                    self.dropped += 1

    def drain(self, timeout_s: float = 0.0) -> list[LiveEvent]:
        """Every event waiting now; waits up to ``timeout_s`` for the first one."""
        out: list[LiveEvent] = []
        try:
            out.append(self._q.get(timeout=timeout_s) if timeout_s > 0 else self._q.get_nowait())
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out

    def qsize(self) -> int:
        return self._q.qsize()


def percentile(values, q: float) -> float:
    """``q``-th percentile (0..100) of ``values``; nan when empty."""
    arr = np.asarray(list(values), dtype=np.float64)
    return float(np.percentile(arr, q)) if arr.size else float("nan")


# =================================================================================================
# What the page shows, rebuilt from events (pure)
# =================================================================================================


@dataclass(frozen=True)
class LiveView:
    """The page's picture of a live session, folded from :class:`LiveEvent` s."""

    hint: Any = None  # coach.core.types.Hint currently shown
    hint_serial: int = 0  # bumps with every new hint (the page speaks each one once)
    repetitions: tuple = ()  # RepetitionScore, oldest first
    status: LiveStatus | Literal[""] = ""  # "" before the first status
    stats: LiveStats | None = None
    calibration: CalibrationState | None = None
    calibrated: BodyFrame | None = None  # set when hand-on-tummy calibration finished
    session: int = 0
    error: str = ""  # the coach failed on a frame: what to tell the user ("" when fine)


def apply_events(view: LiveView, events: list[LiveEvent]) -> LiveView:
    """Fold events into the view; returns the same object when nothing changed."""
    if not events:
        return view
    changes: dict[str, Any] = {}
    reps = list(view.repetitions)
    serial = view.hint_serial
    for e in events:
        if e.kind == "hint":
            serial += 1
            changes.update(hint=e.payload, hint_serial=serial)
        elif e.kind == "repetition":
            reps.append(e.payload)
        elif e.kind == "status":
            changes["status"] = e.payload
        elif e.kind == "stats":
            changes["stats"] = e.payload
        elif e.kind == "calibration":
            changes["calibration"] = e.payload
        elif e.kind == "calibrated":
            changes.update(calibrated=e.payload, calibration=None)
        elif e.kind == "session":
            reps = []
            changes.update(session=e.payload, hint=None, error="")
        elif e.kind == "error":
            changes["error"] = e.payload
    changes["repetitions"] = tuple(reps)
    return replace(view, **changes)
