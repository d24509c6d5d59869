"""Class state in Redis, so that several relay processes share classes and a relay can
restart without ending one. Uses the ``redis`` client library (asyncio); no broker of
our own.

Keys (prefix ``coach:relay:``), each with an expiry so an abandoned class cleans up
after itself:

- ``class:{code}`` hash: the :class:`~coach.relay.state.ClassRecord` (key as digest);
- ``rows:{code}`` hash: seat id -> board row (JSON); ``ctr:{code}`` hash: counters;
- ``ended:{code}``: why it ended (kept ``remember_s``);
- ``classes`` and ``owner:{owner}``: sorted sets of codes scored by expiry time;
- ``rl:{key}:{window}``: rate-limit counters.

Live messages go through pub/sub on ``coach:relay:ev:{code}``. One pub/sub connection
per process; when Redis goes away it is opened again (with backoff) and every channel
subscribed again: the relay keeps running and answers ``busy`` meanwhile. Every Redis
failure reaches the relay as :class:`~coach.relay.state.StateUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from coach.relay.state import ClassRecord, ClassState, EventHandler, StateUnavailable

log = logging.getLogger("coach.relay")
PREFIX = "coach:relay:"


def safe_url(url: str) -> str:
    """The URL without user or password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def _unavailable(fn):
    @functools.wraps(fn)
    async def wrapper(self, *args, **kwargs):
        try:
            return await fn(self, *args, **kwargs)
        except (RedisError, OSError) as exc:
            raise StateUnavailable(f"Redis at {safe_url(self.url)}: {type(exc).__name__}") from None

    return wrapper


class RedisState(ClassState):
    def __init__(
        self, url: str, clock: Callable[[], float] = time.time, max_connections: int = 32
    ) -> None:
        self.url = url
        self._clock = clock
        # A bounded pool that waits for a free connection (a burst of joins queues up
        # instead of opening hundreds of connections and timing out).
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10.0, decode_responses=True,
            socket_timeout=5.0, socket_connect_timeout=5.0, health_check_interval=10,
        )  # fmt: skip
        self.r = aioredis.Redis(connection_pool=pool)
        self._ttl_s = 7200.0
        self._handlers: dict[str, EventHandler] = {}
        self._pubsub = None
        self._listener: asyncio.Task | None = None
        self._subscribed: set[str] = set()

    @staticmethod
    def _k(kind: str, code: str) -> str:
        return f"{PREFIX}{kind}:{code}"

    # -- classes ---------------------------------------------------------------------------------

    @_unavailable
    async def create_class(self, record: ClassRecord, ttl_s: float) -> bool:
        self._ttl_s = ttl_s
        code = record.code
        if await self.r.exists(self._k("ended", code)):
            return False
        if not await self.r.hsetnx(self._k("class", code), "code", code):
            return False
        expires = self._clock() + ttl_s
        fields = {k: str(v) for k, v in record.__dict__.items()}
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("class", code), mapping=fields)
            pipe.expire(self._k("class", code), int(ttl_s))
            pipe.zadd(PREFIX + "classes", {code: expires})
            pipe.zadd(self._k("owner", record.owner), {code: expires})
            pipe.expire(self._k("owner", record.owner), int(ttl_s))
            await pipe.execute()
        return True

    @_unavailable
    async def get_class(self, code: str) -> ClassRecord | None:
        h = await self.r.hgetall(self._k("class", code))
        if not h or "key_digest" not in h:
            return None
        return ClassRecord(h["code"], h["instructor"], h["stroke_id"], h["key_digest"],
                           h["owner"], float(h["opened_at"]))  # fmt: skip

    @_unavailable
    async def set_stroke(self, code: str, stroke_id: str) -> None:
        if await self.r.exists(self._k("class", code)):
            await self.r.hset(self._k("class", code), "stroke_id", stroke_id)

    @_unavailable
    async def touch_class(self, code: str, ttl_s: float) -> None:
        owner = await self.r.hget(self._k("class", code), "owner")
        if owner is None:
            return
        expires = self._clock() + ttl_s
        async with self.r.pipeline(transaction=False) as pipe:
            for kind in ("class", "rows", "ctr"):
                pipe.expire(self._k(kind, code), int(ttl_s))
            pipe.zadd(PREFIX + "classes", {code: expires})
            pipe.zadd(self._k("owner", owner), {code: expires})
            pipe.expire(self._k("owner", owner), int(ttl_s))
            await pipe.execute()

    @_unavailable
    async def end_class(self, code: str, why: str, remember_s: float) -> None:
        owner = await self.r.hget(self._k("class", code), "owner")
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("class", code), self._k("rows", code), self._k("ctr", code))
            pipe.set(self._k("ended", code), why, ex=max(1, int(remember_s)))
            pipe.zrem(PREFIX + "classes", code)
            if owner:
                pipe.zrem(self._k("owner", owner), code)
            await pipe.execute()

    @_unavailable
    async def ended_why(self, code: str) -> str | None:
        why = await self.r.get(self._k("ended", code))
        if why is None and await self._expired(code):
            return "no sign of the instructor for a long time"
        return why

    async def _expired(self, code: str) -> bool:
        """A code still listed with a past expiry: its keys expired (Redis dropped them)."""
        score = await self.r.zscore(PREFIX + "classes", code)
        return score is not None and score <= self._clock()

    @_unavailable
    async def classes_of(self, owner: str) -> int:
        key = self._k("owner", owner)
        await self.r.zremrangebyscore(key, "-inf", self._clock())
        return int(await self.r.zcard(key))

    @_unavailable
    async def class_count(self) -> int:
        key = PREFIX + "classes"
        await self.r.zremrangebyscore(key, "-inf", self._clock() - 3600.0)
        return int(await self.r.zcount(key, self._clock(), "+inf"))

    @_unavailable
    async def incr(self, code: str, counter: str) -> int:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._k("ctr", code), counter, 1)
            pipe.expire(self._k("ctr", code), int(self._ttl_s))
            n, _ = await pipe.execute()
        return int(n)

    # -- rows ------------------------------------------------------------------------------------

    @_unavailable
    async def put_row(self, code: str, seat_id: str, row: dict) -> None:
        if not await self.r.exists(self._k("class", code)):
            return
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("rows", code), seat_id, json.dumps(row))
            pipe.expire(self._k("rows", code), int(self._ttl_s))
            await pipe.execute()

    @_unavailable
    async def get_row(self, code: str, seat_id: str) -> dict | None:
        raw = await self.r.hget(self._k("rows", code), seat_id)
        return None if raw is None else json.loads(raw)

    @_unavailable
    async def rows(self, code: str) -> dict[str, dict]:
        h = await self.r.hgetall(self._k("rows", code))
        return {k: json.loads(v) for k, v in h.items()}

    @_unavailable
    async def remove_row(self, code: str, seat_id: str) -> bool:
        return bool(await self.r.hdel(self._k("rows", code), seat_id))

    @_unavailable
    async def row_count(self, code: str) -> int:
        return int(await self.r.hlen(self._k("rows", code)))

    @_unavailable
    async def hit(self, key: str, limit: int, window_s: float) -> bool:
        window = int(self._clock() // window_s)
        k = f"{PREFIX}rl:{key}:{window}"
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            pipe.expire(k, int(window_s) + 1)
            n, _ = await pipe.execute()
        return int(n) <= limit

    # -- live messages ---------------------------------------------------------------------------

    @_unavailable
    async def publish(self, code: str, event: dict) -> None:
        await self.r.publish(self._k("ev", code), json.dumps(event, separators=(",", ":")))

    async def subscribe(self, code: str, handler: EventHandler) -> None:
        self._handlers[code] = handler
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen())
        if self._pubsub is not None:
            try:
                await self._pubsub.subscribe(self._k("ev", code))
                self._subscribed.add(code)
            except (RedisError, OSError):
                pass  # the listener subscribes every channel again once Redis is back

    async def unsubscribe(self, code: str) -> None:
        self._handlers.pop(code, None)
        if self._pubsub is not None and code in self._subscribed:
            self._subscribed.discard(code)
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(self._k("ev", code))

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                self._pubsub = self.r.pubsub(ignore_subscribe_messages=True)
                channels = [self._k("ev", c) for c in self._handlers]
                self._subscribed = set(self._handlers)
                if channels:
                    await self._pubsub.subscribe(*channels)
                else:
                    await self._pubsub.subscribe(PREFIX + "idle")
                delay = 0.1
                while True:
                    msg = await self._pubsub.get_message(timeout=1.0)
                    if msg is None or msg.get("type") != "message":
                        continue
                    code = msg["channel"].rsplit(":", 1)[-1]
                    handler = self._handlers.get(code)
                    if handler is None:
                        continue
                    try:
                        await handler(code, json.loads(msg["data"]))
                    except Exception:  # noqa: BLE001 - one bad event never stops the listener
                        log.exception("class relay: an event could not be delivered")
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                ps, self._pubsub = self._pubsub, None
                if ps is not None:
                    with contextlib.suppress(Exception):
                        await ps.aclose()
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(BaseException):
                await self._listener
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self.r.aclose()
