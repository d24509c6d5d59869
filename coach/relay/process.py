"""A relay in its own process on loopback (tests and the bench): start, kill, restart,
and read its CPU time and memory from ``/proc`` (Linux)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from coach.relay.server import free_port


class RelayProcess:
    def __init__(
        self, redis_url: str | None = None, port: int | None = None,
        extra_args: tuple[str, ...] = (), log_path: Path | None = None,
    ) -> None:  # fmt: skip
        self.redis_url = redis_url
        self.port = port or free_port()
        self.extra_args = extra_args
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/class"

    def start(self, timeout_s: float = 20.0) -> RelayProcess:
        cmd = [sys.executable, "-m", "coach.relay", "--port", str(self.port), *self.extra_args]
        env = dict(os.environ)
        env.pop("COACH_RELAY_REDIS_URL", None)
        if self.redis_url:
            cmd += ["--redis-url", self.redis_url]
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=self._log, env=env,
                                     stdin=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"relay exited at start with status {self.proc.returncode}")
            if self.health() is not None:
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"relay did not answer on port {self.port} in {timeout_s:g} s")

    def health(self) -> dict | None:
        try:
            url = f"http://127.0.0.1:{self.port}/health"
            with urllib.request.urlopen(url, timeout=1.0) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL: as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
            self._log = None

    def cpu_s(self) -> float:
        """User + system CPU seconds so far."""
        return proc_cpu_s(self.proc.pid) if self.proc else 0.0

    def rss_mb(self) -> float:
        return proc_rss_mb(self.proc.pid) if self.proc else 0.0

    def __enter__(self) -> RelayProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
