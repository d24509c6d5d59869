"""A class participant's connection to the relay: reconnects with backoff, resumes by token.

:class:`RelayClient` holds one WebSocket to the relay (``ws://`` or ``wss://``) and
what it has heard: the instructor's recent path (parents), the board (instructor),
the own seat's row (parents), the connection state. It runs on its own asyncio loop
on a daemon thread (:meth:`start`), so the page's video worker threads can call
:meth:`send_path` and :meth:`report` and read :meth:`snapshot` without waiting.

After a lost connection it tries again after 0.25 s, 0.5 s, 1 s, ... up to
``backoff_max_s`` (with jitter), and comes back as who it was: the instructor with
the class key, a parent with the seat token (a seat that the relay no longer has:
joins again with the same name and says so). After coming back it sends its last
board row again, so no row is lost to a relay restart. Keys and tokens are kept in
this object only: never logged, never put in an address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from coach.relay.protocol import MAX_MESSAGE_BYTES, MAX_POINTS_PER_MESSAGE

#: Connection states shown on the page.
CONNECTING, CONNECTED, RECONNECTING, ENDED, FAILED = (
    "connecting", "connected", "reconnecting", "ended", "failed",
)  # fmt: skip
FINAL_ERRORS = ("no_class", "ended", "not_allowed", "full", "bad_message")
#: A row the relay could not store ("busy": its Redis is away) is sent again after this long.
BUSY_RESEND_S = 1.0


@dataclass(frozen=True)
class Snapshot:
    """What the client knows now (a copy; safe to keep)."""

    state: str
    role: str
    code: str
    instructor: str
    stroke_id: str
    seat: dict | None  # a parent's own row
    board: tuple[dict, ...]  # the instructor's rows by seat number
    points: tuple[tuple[float, float | None, float | None], ...]  # instructor path, oldest first
    segment: int | None
    label: str
    repetition: int
    path_idle_s: float  # seconds since the last path message (inf: none yet)
    relayed: int  # instructor points received since the start
    connects: int  # successful hellos (1 + reconnects)
    last_error: str
    error: str  # the relay's word for the last error (e.g. "no_class"), or ""
    ended_why: str


@dataclass
class _Known:
    role: str = ""
    code: str = ""
    instructor: str = ""
    stroke_id: str = ""
    seat: dict | None = None
    board: dict = field(default_factory=dict)
    segment: int | None = None
    label: str = ""
    repetition: int = 0
    path_at: float = -float("inf")
    relayed: int = 0
    connects: int = 0
    last_error: str = ""
    error: str = ""
    ended_why: str = ""


class RelayClient:
    def __init__(
        self,
        url: str,
        hello: dict,
        *,
        ping_every_s: float = 5.0,
        backoff_min_s: float = 0.25,
        backoff_max_s: float = 8.0,
        keep_points: int = 240,  # 8 s at 30 points a second: more than the overlay shows
        ssl=None,
        on_message: Callable[[dict], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
    ) -> None:
        if hello.get("type") not in ("open", "instructor", "join", "seat"):
            raise ValueError(f"hello: expected open, instructor, join or seat, found {hello!r}")
        self.url = url
        self._hello = dict(hello)
        self._name = hello.get("name", name)  # a parent's name: to join again if the seat is lost
        self.ping_every_s = ping_every_s
        self.backoff_min_s, self.backoff_max_s = backoff_min_s, backoff_max_s
        self._ssl = ssl
        self._on_message = on_message
        self._clock = clock
        self._lock = threading.Lock()
        self._k = _Known(role="instructor" if hello["type"] in ("open", "instructor") else "parent")
        self._k.code = hello.get("code", "")
        self._points: deque = deque(maxlen=keep_points)
        self._state = CONNECTING
        self._last_report: dict = {}
        self.key: str | None = hello.get("key")  # the instructor's class key
        self.token: str | None = hello.get("token")  # a parent's seat token
        self._loop: asyncio.AbstractEventLoop | None = None
        self._out: asyncio.Queue | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ws = None
        self._pending_path: list = []
        self._welcomed = threading.Event()

    # -- from any thread -------------------------------------------------------------------------

    def start(self) -> RelayClient:
        """Run on a daemon thread with its own event loop."""
        self._thread = threading.Thread(target=self._thread_main, name="relay-client", daemon=True)
        self._thread.start()
        return self

    def wait_connected(self, timeout_s: float) -> bool:
        return self._welcomed.wait(timeout_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def drop_connection(self) -> None:
        """Cut the current connection as a network loss would (no closing handshake)."""
        loop, ws = self._loop, self._ws
        if loop is not None and ws is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ws.transport.abort)

    def send(self, message: dict) -> bool:
        """Queue a message for the relay; False (dropped) while not connected."""
        loop, out = self._loop, self._out
        if self._state != CONNECTED or loop is None or out is None:
            return False
        text = json.dumps(message, separators=(",", ":"), allow_nan=False)
        if len(text.encode()) > MAX_MESSAGE_BYTES:
            return False
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_put_or_drop, out, text)
            return True
        return False

    def send_path(self, t_s: float, uv, *, segment=None, label: str = "", repetition: int = 0):
        """One instructor frame: ``uv`` in the body frame, or None when the hand is not seen."""
        point = [float(t_s), None, None] if uv is None else [float(t_s), float(uv[0]), float(uv[1])]
        msg = {"type": "path", "points": [point], "segment": segment, "label": label[:24],
               "repetition": int(repetition)}  # fmt: skip
        return self.send(msg)

    def report(self, **row) -> bool:
        """A parent's board row (fields as in :func:`coach.relay.protocol.report`); kept and
        sent again after a reconnect."""
        self._last_report.update({k: v for k, v in row.items() if v is not None})
        return self.send({"type": "report", "row": row})

    def set_stroke(self, stroke_id: str) -> bool:
        with self._lock:
            self._k.stroke_id = stroke_id
        return self.send({"type": "stroke", "stroke_id": stroke_id})

    def close_class(self) -> bool:
        return self.send({"type": "close"})

    def leave(self) -> bool:
        return self.send({"type": "leave"})

    @property
    def state(self) -> str:
        return self._state

    def snapshot(self) -> Snapshot:
        with self._lock:
            k = self._k
            return Snapshot(
                self._state, k.role, k.code, k.instructor, k.stroke_id,
                None if k.seat is None else dict(k.seat),
                tuple(dict(r) for _, r in sorted(k.board.items())),
                tuple(self._points), k.segment, k.label, k.repetition,
                self._clock() - k.path_at, k.relayed, k.connects, k.last_error, k.error,
                k.ended_why,
            )  # fmt: skip

    # -- the loop --------------------------------------------------------------------------------

    def _thread_main(self) -> None:
        asyncio.run(self.run())

    async def run(self) -> None:
        """Connect, and connect again after every loss, until stopped or the class ends."""
        from websockets.asyncio.client import connect  # deferred: websockets
        from websockets.exceptions import WebSocketException  # deferred: websockets

        self._loop = asyncio.get_running_loop()
        self._out = asyncio.Queue(256)
        self._stop = asyncio.Event()
        delay = self.backoff_min_s
        while not self._stop.is_set() and self._state not in (ENDED, FAILED):
            welcomed_before = self._k.connects
            try:
                async with connect(
                    self.url, max_size=4 * MAX_MESSAGE_BYTES, open_timeout=5, ping_interval=10,
                    ping_timeout=20, ssl=self._ssl, close_timeout=2,
                ) as ws:  # fmt: skip
                    self._ws = ws
                    await self._session(ws)
            except (TimeoutError, OSError, WebSocketException, ConnectionError) as exc:
                with self._lock:
                    self._k.last_error = f"relay unreachable: {type(exc).__name__}"
            finally:
                self._ws = None
            if self._stop.is_set() or self._state in (ENDED, FAILED):
                break
            self._state = RECONNECTING
            if self._k.connects > welcomed_before:
                delay = self.backoff_min_s  # it had worked: start again from the shortest wait
            wait = delay * random.uniform(0.8, 1.2)
            delay = min(self.backoff_max_s, delay * 2)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
        if self._state not in (ENDED, FAILED):
            self._state = ENDED

    async def _session(self, ws) -> None:
        while not self._out.empty():  # nothing from before the loss goes out late
            self._out.get_nowait()
        await ws.send(json.dumps(self._hello))
        tasks = {
            asyncio.create_task(self._receiver(ws)),
            asyncio.create_task(self._sender(ws)),
        }
        stopper = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait(tasks | {stopper}, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks | {stopper}:
            t.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        if stopper in done:  # stopped: what was queued (e.g. "leave") goes out first
            with contextlib.suppress(Exception):
                while not self._out.empty():
                    await ws.send(self._out.get_nowait())
                await ws.close()
            return
        for t in done:
            if not t.cancelled() and t.exception() is not None:
                raise t.exception()

    async def _receiver(self, ws) -> None:
        async for raw in ws:
            m = json.loads(raw)
            for one in m.get("messages", []) if m.get("type") == "batch" else [m]:
                self._handle(one)
                if self._state != CONNECTED and one.get("type") != "opened":
                    return  # ended, failed, or a hello to try again (seat gone, busy, limited)
            if self._state == CONNECTED and self._resend:
                self._resend = False
                if self._last_report:
                    await ws.send(json.dumps({"type": "report", "row": self._last_report}))

    async def _sender(self, ws) -> None:
        last_ping = self._clock()
        while True:
            try:
                wait_s = self.ping_every_s if self._resend_at is None else BUSY_RESEND_S
                text = await asyncio.wait_for(self._out.get(), timeout=wait_s)
            except TimeoutError:
                text = None
            now = self._clock()
            if text is not None:
                await ws.send(text)
            if self._resend_at is not None and now >= self._resend_at:
                self._resend_at = None
                if self._state == CONNECTED and self._last_report:
                    await ws.send(json.dumps({"type": "report", "row": self._last_report}))
            if now - last_ping >= self.ping_every_s and self._state == CONNECTED:
                last_ping = now
                await ws.send('{"type":"ping"}')

    _resend = False
    _resend_at: float | None = None  # when to send the row again after a 'busy' relay

    def _handle(self, m: dict) -> None:
        kind = m.get("type")
        with self._lock:
            k = self._k
            if kind == "opened":
                self.key = m["key"]
                k.code = m["code"]
                self._hello = {"type": "instructor", "code": m["code"], "key": m["key"]}
            elif kind == "welcome":
                k.code, k.instructor, k.stroke_id = m["code"], m["instructor"], m["stroke_id"]
                k.connects += 1
                if "token" in m:
                    self.token = m["token"]
                    self._hello = {"type": "seat", "code": m["code"], "token": m["token"]}
                if "seat" in m:
                    k.seat = m["seat"]
                if "board" in m:
                    k.board = {r["number"]: r for r in m["board"]}
                self._state = CONNECTED
                self._resend = k.role == "parent" and bool(self._last_report)
                k.last_error = k.error = ""
            elif kind == "path":
                pts = [tuple(p) for p in m.get("points", [])]
                self._points.extend(pts)
                k.relayed += sum(1 for p in pts if p[1] is not None)
                k.segment, k.label = m.get("segment"), m.get("label", "")
                k.repetition = m.get("repetition", 0)
                k.path_at = self._clock()
            elif kind == "row":
                row = m["row"]
                if k.role == "instructor":
                    k.board[row["number"]] = row
                else:
                    k.seat = row
            elif kind == "board":
                k.board = {r["number"]: r for r in m["rows"]}
            elif kind == "gone":
                k.board.pop(m.get("number"), None)
            elif kind == "stroke":
                k.stroke_id = m["stroke_id"]
                self._points.clear()
            elif kind == "ended":
                k.ended_why = m.get("why", "")
                self._state = ENDED
            elif kind == "error":
                self._error(m.get("error", ""), m.get("message", ""))
        if kind == "welcome":
            self._welcomed.set()
        if self._on_message is not None:
            self._on_message(m)

    def _error(self, word: str, message: str) -> None:
        """An error from the relay (lock held)."""
        self._k.last_error, self._k.error = message, word
        if self._state == CONNECTED and word == "busy" and self._last_report:
            # The relay could not store the row (its Redis is restarting): send it again
            # soon, so that no board row is lost.
            self._resend_at = self._clock() + BUSY_RESEND_S
        if self._state == CONNECTED and word != "seat_gone":
            return  # e.g. a dropped message: the connection goes on
        if word == "seat_gone" and self._name and self._k.code:
            # The relay lost the seat (e.g. it restarted without Redis): sit down again.
            self._hello = {"type": "join", "code": self._k.code, "name": self._name}
            self._state = RECONNECTING
        elif word in FINAL_ERRORS:
            self._k.ended_why = message
            self._state = ENDED if word in ("ended", "no_class") else FAILED


def _put_or_drop(queue: asyncio.Queue, text: str) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(text)


def batch_points(points: list, size: int = MAX_POINTS_PER_MESSAGE) -> list[list]:
    """Split a list of points into messages' worth."""
    return [points[i : i + size] for i in range(0, len(points), size)]
