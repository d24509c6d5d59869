"""Class state for the relay, behind one interface, with an in-memory backend.

What is kept (never video, never a raw secret: keys and tokens are kept as their
SHA-256, see :func:`digest`):

- a class: code, instructor's name, stroke, the digest of the instructor's key,
  its owner (the digest of the client address that opened it), when it expires;
- its seats: seat id (digest of the seat's token) -> board row (a dict of small
  numbers and words, see :func:`new_row`);
- counters (seat numbers, same-name ordinals) and rate-limit windows;
- recently ended codes with the reason, for a clear message.

Live messages go through :meth:`ClassState.publish` / :meth:`ClassState.subscribe`:
every relay process subscribed to a class gets every event published for it.
:class:`MemoryState` does this in one process; :class:`coach.relay.redis_state.RedisState`
through Redis so that several relay processes share classes.

Times are wall-clock seconds (``clock``, injectable), because several processes
compare them.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

EventHandler = Callable[[str, dict], Awaitable[None]]


def digest(secret: str) -> str:
    """What is stored instead of a key or token (hex SHA-256)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ClassRecord:
    code: str
    instructor: str
    stroke_id: str
    key_digest: str
    owner: str  # digest of the client address that opened it
    opened_at: float


def new_row(number: int, name: str, stroke_id: str, now: float) -> dict:
    """A fresh board row (what the instructor sees for one seat)."""
    return {
        "number": number,
        "name": name,
        "status": "joined",
        "stroke_id": stroke_id,
        "position": "",
        "last_score": None,
        "flags": [],
        "repetitions": 0,
        "seen_at": now,
        "status_at": now,
        "online": True,
        "rejoins": 0,
    }


class StateUnavailable(RuntimeError):
    """The backend cannot be reached right now (e.g. Redis restarting)."""


class ClassState(ABC):
    """The one interface both backends implement. All methods are coroutines."""

    @abstractmethod
    async def create_class(self, record: ClassRecord, ttl_s: float) -> bool:
        """Store a new class; False if the code is taken (open or recently ended)."""

    @abstractmethod
    async def get_class(self, code: str) -> ClassRecord | None: ...

    @abstractmethod
    async def set_stroke(self, code: str, stroke_id: str) -> None: ...

    @abstractmethod
    async def touch_class(self, code: str, ttl_s: float) -> None:
        """Push the class's expiry (and its seats') ``ttl_s`` into the future."""

    @abstractmethod
    async def end_class(self, code: str, why: str, remember_s: float) -> None: ...

    @abstractmethod
    async def ended_why(self, code: str) -> str | None: ...

    @abstractmethod
    async def classes_of(self, owner: str) -> int:
        """How many open classes ``owner`` has."""

    @abstractmethod
    async def class_count(self) -> int: ...

    @abstractmethod
    async def incr(self, code: str, counter: str) -> int:
        """Atomically add one to a per-class counter; returns the new value (first: 1)."""

    @abstractmethod
    async def put_row(self, code: str, seat_id: str, row: dict) -> None: ...

    @abstractmethod
    async def get_row(self, code: str, seat_id: str) -> dict | None: ...

    @abstractmethod
    async def rows(self, code: str) -> dict[str, dict]:
        """Every seat of the class: seat id -> row."""

    @abstractmethod
    async def remove_row(self, code: str, seat_id: str) -> bool: ...

    @abstractmethod
    async def row_count(self, code: str) -> int: ...

    @abstractmethod
    async def hit(self, key: str, limit: int, window_s: float) -> bool:
        """Count one event under ``key``; False once more than ``limit`` fall in the current
        fixed window of ``window_s`` seconds (a rate limit shared by every relay)."""

    @abstractmethod
    async def publish(self, code: str, event: dict) -> None:
        """Send ``event`` to every relay process subscribed to ``code``."""

    @abstractmethod
    async def subscribe(self, code: str, handler: EventHandler) -> None:
        """Call ``handler(code, event)`` for every event published for ``code`` from now on."""

    @abstractmethod
    async def unsubscribe(self, code: str) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""


class MemoryState(ClassState):
    """Everything in this process's memory: one relay process, nothing to install."""

    def __init__(self, clock: Callable[[], float] = time.time, remember_ended: int = 10_000):
        self._clock = clock
        self._classes: dict[str, tuple[ClassRecord, float]] = {}  # code -> (record, expires_at)
        self._rows: dict[str, dict[str, dict]] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._ended: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._remember = remember_ended
        self._windows: dict[str, tuple[float, int]] = {}
        self._handlers: dict[str, EventHandler] = {}
        self._swept_at = -1e18

    def _sweep(self) -> None:
        now = self._clock()
        if now - self._swept_at < 1.0:
            return
        self._swept_at = now
        for code, (_, expires) in list(self._classes.items()):
            if now >= expires:
                self._drop(code)
                self._remember_end(code, "no sign of the instructor for a long time", 3600.0)
        for key, (start, _) in list(self._windows.items()):
            if now - start > 3600.0:
                del self._windows[key]
        for code, (_, until) in list(self._ended.items()):
            if now >= until:
                del self._ended[code]

    def _drop(self, code: str) -> None:
        self._classes.pop(code, None)
        self._rows.pop(code, None)
        for key in [k for k in self._counters if k[0] == code]:
            del self._counters[key]

    def _remember_end(self, code: str, why: str, remember_s: float) -> None:
        self._ended[code] = (why, self._clock() + remember_s)
        while len(self._ended) > self._remember:
            self._ended.popitem(last=False)

    def _live(self, code: str) -> ClassRecord | None:
        self._sweep()
        item = self._classes.get(code)
        if item is None:
            return None
        if self._clock() >= item[1]:
            self._drop(code)
            self._remember_end(code, "no sign of the instructor for a long time", 3600.0)
            return None
        return item[0]

    async def create_class(self, record: ClassRecord, ttl_s: float) -> bool:
        if self._live(record.code) is not None or record.code in self._ended:
            return False
        self._classes[record.code] = (record, self._clock() + ttl_s)
        self._rows[record.code] = {}
        return True

    async def get_class(self, code: str) -> ClassRecord | None:
        return self._live(code)

    async def set_stroke(self, code: str, stroke_id: str) -> None:
        rec = self._live(code)
        if rec is not None:
            new = ClassRecord(**{**asdict(rec), "stroke_id": stroke_id})
            self._classes[code] = (new, self._classes[code][1])

    async def touch_class(self, code: str, ttl_s: float) -> None:
        rec = self._live(code)
        if rec is not None:
            self._classes[code] = (rec, self._clock() + ttl_s)

    async def end_class(self, code: str, why: str, remember_s: float) -> None:
        self._drop(code)
        self._remember_end(code, why, remember_s)

    async def ended_why(self, code: str) -> str | None:
        self._sweep()
        item = self._ended.get(code)
        return None if item is None else item[0]

    async def classes_of(self, owner: str) -> int:
        self._sweep()
        return sum(1 for rec, _ in self._classes.values() if rec.owner == owner)

    async def class_count(self) -> int:
        self._sweep()
        return len(self._classes)

    async def incr(self, code: str, counter: str) -> int:
        key = (code, counter)
        self._counters[key] = self._counters.get(key, 0) + 1
        return self._counters[key]

    async def put_row(self, code: str, seat_id: str, row: dict) -> None:
        if self._live(code) is not None:
            self._rows[code][seat_id] = dict(row)

    async def get_row(self, code: str, seat_id: str) -> dict | None:
        if self._live(code) is None:
            return None
        row = self._rows[code].get(seat_id)
        return None if row is None else dict(row)

    async def rows(self, code: str) -> dict[str, dict]:
        if self._live(code) is None:
            return {}
        return {k: dict(v) for k, v in self._rows[code].items()}

    async def remove_row(self, code: str, seat_id: str) -> bool:
        if self._live(code) is None:
            return False
        return self._rows[code].pop(seat_id, None) is not None

    async def row_count(self, code: str) -> int:
        return 0 if self._live(code) is None else len(self._rows[code])

    async def hit(self, key: str, limit: int, window_s: float) -> bool:
        self._sweep()
        now = self._clock()
        start, n = self._windows.get(key, (now, 0))
        if now - start >= window_s:
            start, n = now, 0
        self._windows[key] = (start, n + 1)
        return n + 1 <= limit

    async def publish(self, code: str, event: dict) -> None:
        handler = self._handlers.get(code)
        if handler is not None:
            await handler(code, event)

    async def subscribe(self, code: str, handler: EventHandler) -> None:
        self._handlers[code] = handler

    async def unsubscribe(self, code: str) -> None:
        self._handlers.pop(code, None)
