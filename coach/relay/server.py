"""The class relay as an ASGI app (Starlette) served by uvicorn: no video, no vision.

- ``/class``: the WebSocket every participant connects to (messages in
  :mod:`coach.relay.protocol`; secrets travel in messages, never in the address);
- ``/health``: ``{"ok": true, "backend": ..., "connections": n}`` (no codes, no names).

:func:`serve` runs it in the foreground (``coach relay``); :class:`EmbeddedRelay`
runs it on a background thread of another program (the Stroke Coach page uses one
on loopback when no relay address is set). Access logs are off: addresses carry no
secret, and the relay logs no message content either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from coach.relay.hub import CLOSE, Relay, RelayConfig
from coach.relay.protocol import MAX_MESSAGE_BYTES
from coach.relay.state import ClassState, MemoryState

log = logging.getLogger("coach.relay")
WS_PATH = "/class"


def make_state(redis_url: str | None) -> ClassState:
    """The in-memory backend, or Redis at ``redis_url``."""
    if not redis_url:
        return MemoryState()
    from coach.relay.redis_state import RedisState  # deferred: redis

    return RedisState(redis_url)


def create_app(state: ClassState, config: RelayConfig | None = None) -> Starlette:
    relay = Relay(state, config)
    connections = {"n": 0}

    async def writer(ws: WebSocket, s) -> None:
        while True:
            text = await s.take_batch()
            if text is CLOSE:
                with contextlib.suppress(Exception):
                    await ws.close(1000)
                return
            await ws.send_text(text)

    async def class_socket(ws: WebSocket) -> None:
        await ws.accept()
        address = ws.client.host if ws.client else "unknown"
        s = relay.connect(address)
        connections["n"] += 1
        out = asyncio.create_task(writer(ws, s))
        try:
            while not s.closed and not out.done():
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                data = msg.get("text")
                await relay.handle(s, data if data is not None else msg.get("bytes"))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            connections["n"] -= 1
            closing = s.closed
            await relay.disconnect(s)
            if closing:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(out, 2.0)
            out.cancel()
            with contextlib.suppress(BaseException):
                await out

    async def health(_: Request) -> JSONResponse:
        return JSONResponse(
            {
                "ok": True,
                "backend": type(state).__name__,
                "connections": connections["n"],
                **relay.stats,
            }  # fmt: skip
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await state.close()

    app = Starlette(
        routes=[WebSocketRoute(WS_PATH, class_socket), Route("/health", health)],
        lifespan=lifespan,
    )
    app.state.relay = relay
    return app


def uvicorn_config(app, host: str, port: int, certfile=None, keyfile=None, **extra):
    import uvicorn  # deferred: uvicorn

    return uvicorn.Config(
        app, host=host, port=port, ws="websockets-sansio", ws_max_size=2 * MAX_MESSAGE_BYTES,
        ws_ping_interval=10.0, ws_ping_timeout=20.0, access_log=False, log_level="warning",
        ssl_certfile=certfile, ssl_keyfile=keyfile, lifespan="on", **extra,
    )  # fmt: skip


def serve(
    host: str = "127.0.0.1", port: int = 8765, redis_url: str | None = None,
    certfile: str | None = None, keyfile: str | None = None,
    forwarded_allow_ips: str | None = None, config: RelayConfig | None = None,
) -> None:  # fmt: skip
    """Run the relay in the foreground until interrupted."""
    import uvicorn  # deferred: uvicorn

    extra = {}
    if forwarded_allow_ips:
        extra = {"proxy_headers": True, "forwarded_allow_ips": forwarded_allow_ips}
    app = create_app(make_state(redis_url), config)
    uvicorn.Server(uvicorn_config(app, host, port, certfile, keyfile, **extra)).run()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class EmbeddedRelay:
    """A relay on a background thread of this process (in-memory backend, loopback)."""

    host: str = "127.0.0.1"
    port: int = 0
    config: RelayConfig | None = None

    def start(self, timeout_s: float = 10.0) -> EmbeddedRelay:
        import uvicorn  # deferred: uvicorn

        if not self.port:
            self.port = free_port(self.host)
        self.app = create_app(MemoryState(), self.config)
        # log_config=None: the host program's logging is left as it is (uvicorn's own
        # loggers are set to warnings only).
        config = uvicorn_config(self.app, self.host, self.port, log_config=None)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # not the main thread
        self._thread = threading.Thread(target=self._server.run, name="class-relay", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"class relay: could not listen on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5.0)
