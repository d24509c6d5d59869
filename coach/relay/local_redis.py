"""A private, throwaway Redis server on loopback (tests and ``coach relay bench``).

``redis-server`` (Debian's package, ``make redis-deps``) listening on 127.0.0.1 only,
at a free port, with its files in a fresh temporary folder and append-only persistence
on (so a restart keeps the classes, as a production Redis for the relay should be
configured). :meth:`LocalRedis.restart` stops it cleanly and starts it again on the same
port; :meth:`LocalRedis.stop` ends it and removes the folder.

By hand::

    .venv/bin/python -m coach.relay.local_redis    # prints the URL; Ctrl-C stops it
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class RedisUnavailable(RuntimeError):
    """No Redis server can be started here; the message says why and how to fix it."""


def find_server() -> str | None:
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRedis:
    def __init__(self, port: int | None = None) -> None:
        binary = find_server()
        if binary is None:
            raise RedisUnavailable(
                "redis-server not found (Debian package redis-server; `make redis-deps`)"
            )
        self.binary = binary
        self.port = port or _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="coach-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> LocalRedis:
        cmd = [
            self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--protected-mode", "yes", "--daemonize", "no", "--logfile", str(self.dir / "log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (
                    (self.dir / "log").read_text(errors="replace")[-500:]
                    if (self.dir / "log").exists()
                    else ""
                )
                raise RedisUnavailable(f"redis-server exited at start: {log.strip()}")
            if self._ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer on 127.0.0.1:{self.port}")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def shutdown(self) -> None:
        """Stop the server cleanly (its data stays in the folder for a restart)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis writes its append-only file and exits
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.shutdown()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        self.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    with LocalRedis() as server:
        print(server.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
