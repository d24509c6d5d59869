"""The relay's rules, apart from any transport: who may say what, and who hears it.

:class:`Relay` takes a :class:`coach.relay.state.ClassState` and handles each
connected client as a :class:`Session` (the server in :mod:`coach.relay.server`
makes one per WebSocket and writes out what :meth:`Session.take` gives). Rules:

- an instructor opens a class and gets its code and a secret key (in a message,
  never an address); coming back needs the key, compared by digest in constant time;
- a parent joins with the code and a name and gets a new seat with a secret token,
  always (never matched by name); a second "Ann" is shown as "Ann (2)"; coming back
  needs the token;
- joins and other hellos are rate-limited per client address and per class; one
  client address runs at most ``max_classes_per_client`` classes, the relay at most
  ``max_classes``;
- every message is checked by :func:`coach.relay.protocol.parse`; a connection sends
  at most ``messages_per_s``, an instructor at most ``path_points_per_s`` points a
  second: what does not fit is dropped;
- a parent hears the instructor's path, the stroke, and its own row only; the
  instructor hears every row (the board).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from coach.relay import protocol as p
from coach.relay.state import ClassRecord, ClassState, StateUnavailable, digest, new_row

log = logging.getLogger("coach.relay")

CLOSE = None  # what Session.take returns when the connection should be closed
BATCH_MAX_BYTES = 16_384  # a batch of waiting messages sent as one frame


@dataclass(frozen=True)
class RelayConfig:
    class_ttl_s: float = 7200.0  # a class with no sign of its instructor this long ends
    ended_remember_s: float = 3600.0  # an ended code answers "ended" this long, never reused
    away_after_s: float = 15.0  # a seat not heard from this long shows as away
    status_stale_s: float = 4.0  # no status report this long (video stopped): "camera_off"
    max_classes: int = 1000
    max_classes_per_client: int = 3
    max_seats: int = 1000
    opens_per_client: tuple[int, float] = (5, 600.0)  # (count, window seconds)
    joins_per_client: tuple[int, float] = (10, 60.0)
    joins_per_class: tuple[int, float] = (60, 60.0)
    hellos_per_client: tuple[int, float] = (60, 60.0)  # every hello, resumes included
    path_points_per_s: float = 60.0
    messages_per_s: float = 60.0
    message_burst: int = 120
    queue_limit: int = 512  # messages waiting for one slow client; more are dropped
    bad_messages_before_close: int = 50
    seen_write_every_s: float = 3.0  # a ping refreshes the seat's "seen" at most this often


class Bucket:
    """Token bucket: ``rate`` a second, at most ``burst`` saved."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self.tokens, self._at = float(burst), clock()

    def take(self, n: int) -> int:
        """Take up to ``n``; returns how many were granted."""
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now
        k = max(0, min(n, int(self.tokens)))
        self.tokens -= k
        return k


class Session:
    """One connected client. The transport puts raw frames into :meth:`Relay.handle` and
    sends what :meth:`take` returns (text), closing on :data:`CLOSE`."""

    _ids = itertools.count(1)

    def __init__(self, relay: Relay, address: str) -> None:
        self.id = next(self._ids)
        self.client = digest("client:" + address)[:32]
        self.role: str | None = None
        self.code: str | None = None
        self.seat_id: str | None = None
        self.number: int | None = None
        self.closed = False
        self.dropped = 0  # outgoing messages dropped for a full queue
        self.bad = 0
        self.points_dropped = 0
        self._queue: asyncio.Queue = asyncio.Queue(relay.config.queue_limit)
        cfg, clock = relay.config, relay.clock
        self._messages = Bucket(cfg.messages_per_s, cfg.message_burst, clock)
        self._points = Bucket(cfg.path_points_per_s, cfg.path_points_per_s, clock)
        self._warned_at = -1e18
        self._seen_at = -1e18

    def push(self, text: str | None) -> None:
        if self.closed:
            return
        if text is CLOSE:
            self.closed = True
            while self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(CLOSE)
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped += 1

    def send(self, message: dict) -> None:
        self.push(p.dumps(message))

    async def take(self) -> str | None:
        return await self._queue.get()

    async def take_batch(self, max_bytes: int = BATCH_MAX_BYTES) -> str | None:
        """The next frame to send: one message, or, when several are waiting (a slow
        client, a busy relay), up to ``max_bytes`` of them as one ``batch`` message, so a
        backlog costs fewer frames. :data:`CLOSE` when the connection should close."""
        first = await self._queue.get()
        if first is CLOSE or self._queue.empty():
            return first
        batch, size = [first], len(first)
        while not self._queue.empty():
            nxt = self._queue._queue[0]  # peek: a CLOSE or a big message waits for next time
            if nxt is CLOSE or size + len(nxt) + 1 > max_bytes:
                break
            batch.append(self._queue.get_nowait())
            size += len(nxt) + 1
        if len(batch) == 1:
            return first
        return '{"type":"batch","messages":[' + ",".join(batch) + "]}"

    def pending(self) -> list[str | None]:
        """Everything queued now, without waiting (tests)."""
        out = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out


def new_code() -> str:
    return "".join(secrets.choice(p.CODE_ALPHABET) for _ in range(p.CODE_LENGTH))


def public_row(row: dict, now: float, away_after_s: float, status_stale_s: float) -> dict:
    """The row as shown, without times: offline or silent seats are "away", a seat whose
    video reports stopped is "camera_off"."""
    out = {k: v for k, v in row.items() if k not in ("seen_at", "status_at")}
    online = bool(row.get("online")) and now - float(row.get("seen_at", 0)) <= away_after_s
    out["online"] = online
    if not online:
        out["status"] = "away"
    elif out.get("status") != "joined" and now - float(row.get("status_at", 0)) > status_stale_s:
        out["status"] = "camera_off"
    return out


class Relay:
    def __init__(
        self, state: ClassState, config: RelayConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.state = state
        self.config = config or RelayConfig()
        self.clock = clock
        self._local: dict[str, set[Session]] = {}
        self.id = uuid.uuid4().hex[:12]  # tells this relay's connections from another's
        self.stats = {"messages_in": 0, "messages_out": 0, "dropped": 0, "errors": 0,
                      "bytes_in": 0, "largest_in_bytes": 0, "binary_in": 0}  # fmt: skip

    # -- connection life -------------------------------------------------------------------------

    def connect(self, address: str) -> Session:
        return Session(self, address)

    async def disconnect(self, s: Session) -> None:
        code, role, seat_id = s.code, s.role, s.seat_id
        s.closed = True
        await self._detach(s)
        if role == "parent" and code and seat_id:
            try:
                row = await self.state.get_row(code, seat_id)
                if row is not None:
                    row["online"] = False
                    await self.state.put_row(code, seat_id, row)
                    await self._publish_row(code, seat_id, row)
            except StateUnavailable:
                pass

    async def handle(self, s: Session, raw: object) -> None:
        """One frame from the client; never raises for anything the client sends."""
        st = self.stats
        st["messages_in"] += 1
        if isinstance(raw, str | bytes | bytearray):
            size = len(raw)
            st["bytes_in"] += size
            st["largest_in_bytes"] = max(st["largest_in_bytes"], size)
            st["binary_in"] += not isinstance(raw, str)
        if s.closed:
            return
        if self._messages_exceeded(s):
            return
        try:
            msg = p.parse(raw)
        except p.ProtocolError as exc:
            s.bad += 1
            self._error(s, "bad_message", str(exc))
            if s.bad >= self.config.bad_messages_before_close:
                s.push(CLOSE)
            return
        try:
            await self._dispatch(s, msg)
        except StateUnavailable:
            self._error(s, "busy", "The class store is not reachable right now; try again soon")

    def _messages_exceeded(self, s: Session) -> bool:
        if s._messages.take(1) == 1:
            return False
        self.stats["dropped"] += 1
        now = self.clock()
        if now - s._warned_at >= 1.0:
            s._warned_at = now
            self._error(s, "rate_limited", "Too many messages: some were dropped")
        return True

    def _error(self, s: Session, word: str, message: str) -> None:
        self.stats["errors"] += 1
        s.send({"type": "error", "error": word, "message": message})

    # -- dispatch --------------------------------------------------------------------------------

    async def _dispatch(self, s: Session, msg: p.Message) -> None:
        if isinstance(msg, p.Simple) and msg.type == "ping":
            await self._ping(s)
            return
        if isinstance(msg, p.Open | p.Instructor | p.Join | p.SeatResume):
            if s.role is not None:
                self._error(s, "bad_message", "hello: this connection is already in a class")
                return
            if isinstance(msg, p.Open):
                await self._open(s, msg)
            elif isinstance(msg, p.Instructor):
                await self._resume_instructor(s, msg)
            elif isinstance(msg, p.Join):
                await self._join(s, msg)
            else:
                await self._resume_seat(s, msg)
            return
        if s.role is None:
            self._error(s, "bad_message", "message: expected open, instructor, join or seat first")
            return
        instructor_only = isinstance(msg, p.Path | p.Stroke) or (
            isinstance(msg, p.Simple) and msg.type == "close"
        )
        if instructor_only != (s.role == "instructor"):
            self._error(s, "not_allowed", f"{type(msg).__name__.lower()}: not for a {s.role}")
            return
        if isinstance(msg, p.Path):
            await self._path(s, msg)
        elif isinstance(msg, p.Stroke):
            await self.state.set_stroke(s.code, msg.stroke_id)
            await self.state.publish(
                s.code, {"to": "all", "msg": {"type": "stroke", "stroke_id": msg.stroke_id}}
            )
        elif isinstance(msg, p.Report):
            await self._report(s, msg)
        elif msg.type == "close":
            await self._end(s.code, "closed by the instructor")
        elif msg.type == "leave":
            await self._leave(s)

    # -- hellos ----------------------------------------------------------------------------------

    async def _limited(self, s: Session, *keys: tuple[str, tuple[int, float]]) -> bool:
        for key, (limit, window) in keys:
            if not await self.state.hit(key, limit, window):
                self._error(s, "rate_limited", "Too many attempts: wait a minute and try again")
                return True
        return False

    async def _class(self, s: Session, code: str) -> ClassRecord | None:
        rec = await self.state.get_class(code)
        if rec is not None:
            return rec
        why = await self.state.ended_why(code)
        if why is not None:
            self._error(s, "ended", f"Class {code} has ended ({why})")
        else:
            self._error(s, "no_class", f"No open class has the code {code}: check it")
        return None

    async def _open(self, s: Session, msg: p.Open) -> None:
        cfg = self.config
        if await self._limited(s, ("open:" + s.client, cfg.opens_per_client)):
            return
        mine = await self.state.classes_of(s.client)
        if mine >= cfg.max_classes_per_client:
            self._error(s, "full", f"You already run {mine} classes, the most one may: close one")
            return
        if await self.state.class_count() >= cfg.max_classes:
            self._error(s, "full", "This relay runs as many classes as it takes; try later")
            return
        key = secrets.token_urlsafe(24)
        for _ in range(50):
            rec = ClassRecord(new_code(), msg.name, msg.stroke_id, digest(key), s.client,
                              self.clock())  # fmt: skip
            if await self.state.create_class(rec, cfg.class_ttl_s):
                break
        else:
            self._error(s, "full", "No free class code; try again")
            return
        s.send({"type": "opened", "code": rec.code, "key": key, "instructor": rec.instructor,
                "stroke_id": rec.stroke_id})  # fmt: skip
        await self._enter_instructor(s, rec, rejoined=False)

    async def _resume_instructor(self, s: Session, msg: p.Instructor) -> None:
        if await self._limited(s, ("hello:" + s.client, self.config.hellos_per_client)):
            return
        rec = await self._class(s, msg.code)
        if rec is None:
            return
        if not hmac.compare_digest(digest(msg.key), rec.key_digest):
            self._error(s, "not_allowed", f"Class {rec.code}: that is not its instructor's key")
            return
        await self.state.touch_class(rec.code, self.config.class_ttl_s)
        await self._enter_instructor(s, rec, rejoined=True)
        await self._take_over(s, "instructor")

    async def _enter_instructor(self, s: Session, rec: ClassRecord, rejoined: bool) -> None:
        s.role, s.code = "instructor", rec.code
        await self._attach(s)
        s.send({"type": "welcome", "role": "instructor", "code": rec.code,
                "instructor": rec.instructor, "stroke_id": rec.stroke_id, "rejoined": rejoined,
                "board": await self._board(rec.code)})  # fmt: skip

    async def _join(self, s: Session, msg: p.Join) -> None:
        cfg = self.config
        if await self._limited(
            s,
            ("join:" + s.client, cfg.joins_per_client),
            ("joinclass:" + msg.code, cfg.joins_per_class),
        ):
            return
        rec = await self._class(s, msg.code)
        if rec is None:
            return
        seats = await self.state.row_count(rec.code)
        if seats >= cfg.max_seats:
            self._error(s, "full", f"Class {rec.code} is full ({seats} parents)")
            return
        number = await self.state.incr(rec.code, "seat")
        ordinal = await self.state.incr(rec.code, "name:" + digest(msg.name.casefold())[:24])
        name = msg.name if ordinal == 1 else f"{msg.name} ({ordinal})"
        token = secrets.token_urlsafe(24)
        seat_id = digest(token)
        row = new_row(number, name, rec.stroke_id, self.clock())
        await self.state.put_row(rec.code, seat_id, row)
        await self._enter_parent(s, rec, seat_id, row, token=token, rejoined=False)

    async def _resume_seat(self, s: Session, msg: p.SeatResume) -> None:
        if await self._limited(s, ("hello:" + s.client, self.config.hellos_per_client)):
            return
        rec = await self._class(s, msg.code)
        if rec is None:
            return
        seat_id = digest(msg.token)
        row = await self.state.get_row(rec.code, seat_id)
        if row is None:
            self._error(
                s, "seat_gone", f"Class {rec.code}: that seat is no longer there; join again"
            )
            return
        row.update(online=True, seen_at=self.clock(), rejoins=int(row.get("rejoins", 0)) + 1)
        await self.state.put_row(rec.code, seat_id, row)
        await self._enter_parent(s, rec, seat_id, row, token=None, rejoined=True)
        await self._take_over(s, seat_id)

    async def _enter_parent(self, s, rec, seat_id, row, token, rejoined) -> None:
        s.role, s.code, s.seat_id, s.number = "parent", rec.code, seat_id, row["number"]
        await self._attach(s)
        welcome = {"type": "welcome", "role": "parent", "code": rec.code,
                   "instructor": rec.instructor, "stroke_id": rec.stroke_id,
                   "rejoined": rejoined, "seat": self._public(row)}  # fmt: skip
        if token is not None:
            welcome["token"] = token
        s.send(welcome)
        await self._publish_row(rec.code, seat_id, row)

    async def _take_over(self, s: Session, who: str) -> None:
        """The same seat (or the instructor's place) opened again, e.g. a reloaded page:
        the older connections end, so a seat has one live connection."""
        event = {"to": "takeover", "who": who, "conn": f"{self.id}:{s.id}",
                 "msg": {"type": "ended", "why": "this class was opened again in another "
                                                 "window; this one has left it"}}  # fmt: skip
        await self.state.publish(s.code, event)

    # -- in class --------------------------------------------------------------------------------

    async def _ping(self, s: Session) -> None:
        if s.role is None:
            s.send({"type": "pong"})
            return
        now = self.clock()
        fresh = now - s._seen_at < self.config.seen_write_every_s
        if s.role == "instructor":
            if not fresh:
                s._seen_at = now
                await self.state.touch_class(s.code, self.config.class_ttl_s)
            s.send({"type": "board", "rows": await self._board(s.code)})
            return
        row = await self.state.get_row(s.code, s.seat_id)
        if row is None:
            self._error(s, "seat_gone", f"Class {s.code}: that seat is no longer there; join again")
            return
        if not fresh or not row.get("online"):
            s._seen_at = now
            row.update(seen_at=now, online=True)
            await self.state.put_row(s.code, s.seat_id, row)
        s.send({"type": "row", "row": self._public(row)})

    async def _path(self, s: Session, msg: p.Path) -> None:
        granted = s._points.take(len(msg.points))
        s.points_dropped += len(msg.points) - granted
        if granted == 0:
            return
        pts = [list(pt) for pt in msg.points[:granted]]
        out = {"type": "path", "points": pts, "segment": msg.segment, "label": msg.label,
               "repetition": msg.repetition}  # fmt: skip
        await self.state.publish(s.code, {"to": "parents", "msg": out})

    async def _report(self, s: Session, msg: p.Report) -> None:
        row = await self.state.get_row(s.code, s.seat_id)
        if row is None:
            self._error(s, "seat_gone", f"Class {s.code}: that seat is no longer there; join again")
            return
        fields = msg.fields()
        if "flags" in fields:
            fields["flags"] = list(fields["flags"])
        row.update(fields)
        row.update(seen_at=self.clock(), online=True)
        if "status" in fields:
            row["status_at"] = row["seen_at"]
        await self.state.put_row(s.code, s.seat_id, row)
        await self._publish_row(s.code, s.seat_id, row)

    async def _leave(self, s: Session) -> None:
        if await self.state.remove_row(s.code, s.seat_id):
            await self.state.publish(
                s.code, {"to": "instructor", "msg": {"type": "gone", "number": s.number}}
            )
        s.send({"type": "ended", "why": "you left the class"})
        await self._detach(s)
        s.role = s.code = s.seat_id = None
        s.push(CLOSE)

    async def _end(self, code: str, why: str) -> None:
        await self.state.end_class(code, why, self.config.ended_remember_s)
        await self.state.publish(code, {"to": "all", "msg": {"type": "ended", "why": why}})

    # -- fan-out ---------------------------------------------------------------------------------

    def _public(self, row: dict) -> dict:
        cfg = self.config
        return public_row(row, self.clock(), cfg.away_after_s, cfg.status_stale_s)

    async def _board(self, code: str) -> list[dict]:
        rows = await self.state.rows(code)
        return sorted((self._public(r) for r in rows.values()), key=lambda r: r["number"])

    async def _publish_row(self, code: str, seat_id: str, row: dict) -> None:
        event = {"to": "row", "seat": seat_id, "msg": {"type": "row", "row": self._public(row)}}
        await self.state.publish(code, event)

    async def _attach(self, s: Session) -> None:
        sessions = self._local.get(s.code)
        if sessions is None:
            sessions = self._local[s.code] = set()
            await self.state.subscribe(s.code, self._deliver)
        sessions.add(s)

    async def _detach(self, s: Session) -> None:
        sessions = self._local.get(s.code) if s.code else None
        if sessions is None:
            return
        sessions.discard(s)
        if not sessions:
            del self._local[s.code]
            with contextlib.suppress(StateUnavailable):
                await self.state.unsubscribe(s.code)

    async def _deliver(self, code: str, event: dict) -> None:
        """An event published for ``code`` (by any relay): to the local sessions it is for."""
        sessions = self._local.get(code)
        if not sessions or not isinstance(event, dict) or not isinstance(event.get("msg"), dict):
            return
        to, msg = event.get("to"), event["msg"]
        text = p.dumps(msg)
        if to == "takeover":
            for s in list(sessions):
                who = "instructor" if s.role == "instructor" else s.seat_id
                if who == event.get("who") and f"{self.id}:{s.id}" != event.get("conn"):
                    s.push(text)
                    s.push(CLOSE)
                    sessions.discard(s)
                    s.role = None  # its disconnect must not mark the seat offline
            return
        ended = msg.get("type") == "ended"
        for s in list(sessions):
            if (
                to == "all"
                or (to == "parents" and s.role == "parent")
                or (to == "instructor" and s.role == "instructor")
                or (to == "row" and (s.role == "instructor" or s.seat_id == event.get("seat")))
            ):
                s.push(text)
                self.stats["messages_out"] += 1
                if ended:
                    s.push(CLOSE)
        if ended:
            self._local.pop(code, None)
            await self.state.unsubscribe(code)

    def local_counts(self) -> dict[str, int]:
        return {code: len(v) for code, v in self._local.items()}
