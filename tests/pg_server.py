"""A private, throwaway PostgreSQL server for the store tests.

``initdb`` into a fresh temporary directory, then ``postgres`` listening only on
127.0.0.1 at a free port (and a unix socket inside that directory), trust
authentication for the ``coach`` superuser, no fsync (it is thrown away). PostgreSQL
refuses to run as root, so when the tests run as root (CI) the server runs as the
``postgres`` system user (``runuser``), which Debian's package creates.

Used by ``tests/test_store.py`` (a session-scoped fixture) and by hand::

    .venv/bin/python tests/pg_server.py      # prints the URL, Ctrl-C stops and removes it
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUPERUSER = "coach"
RUN_AS_WHEN_ROOT = "postgres"
_db_counter = itertools.count(1)


class PgUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why and how to fix it."""


def find_bindir() -> Path | None:
    """The directory with ``initdb``, ``pg_ctl`` and ``postgres``: PATH first, then the
    Debian layout ``/usr/lib/postgresql/<major>/bin`` (newest major first)."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).parent] if on_path else []

    def major(p: str) -> int:
        part = Path(p).parent.parent.name
        return int(part) if part.isdigit() else -1

    for pattern in ("/usr/lib/postgresql/*/bin/initdb", "/usr/local/pgsql/bin/initdb"):
        candidates += [Path(p).parent for p in sorted(glob.glob(pattern), key=major, reverse=True)]
    for d in candidates:
        if all((d / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One private server; :meth:`start` it, :meth:`create_database` per test, :meth:`stop`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = 0
        self.root: Path | None = None
        self._run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._run_as = pwd.getpwnam(RUN_AS_WHEN_ROOT)
            except KeyError:
                raise PgUnavailable(
                    f"running as root and there is no {RUN_AS_WHEN_ROOT!r} user to run "
                    f"PostgreSQL as (it refuses to run as root); install Debian's postgresql "
                    f"package (make postgres-deps) or run the tests as a normal user"
                ) from None

    # -- running the server's tools -------------------------------------------------------

    def _cmd(self, tool: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / tool), *args]
        if self._run_as is not None:
            cmd = ["runuser", "-u", self._run_as.pw_name, "--", *cmd]
        return cmd

    def _run(self, tool: str, *args: str) -> None:
        proc = subprocess.run(self._cmd(tool, *args), capture_output=True, text=True, cwd="/")
        if proc.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{self._log()}"
            )

    def _log(self) -> str:
        log = self.root / "server.log" if self.root else None
        if log is None or not log.is_file():
            return ""
        tail = log.read_text(errors="replace").splitlines()[-20:]
        return "server log (tail):\n" + "\n".join(tail)

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    # -- life cycle -----------------------------------------------------------------------

    def start(self, attempts: int = 3) -> PgServer:
        """initdb and start the server; retries on another port if one was taken meanwhile."""
        self.root = Path(tempfile.mkdtemp(prefix="coach-pg-"))
        if self._run_as is not None:
            os.chown(self.root, self._run_as.pw_uid, self._run_as.pw_gid)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
            "--no-locale", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        for attempt in range(attempts):
            self.port = _free_port()
            options = (
                f"-h 127.0.0.1 -p {self.port} -k {self.root} "
                f"-c fsync=off -c full_page_writes=off -c max_connections=50"
            )
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"),
                    "-w", "-t", "60", "-o", options, "start",
                )  # fmt: skip
                return self
            except RuntimeError:
                if attempt == attempts - 1:
                    self.stop()
                    raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        if self.root is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                self._cmd("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"),
                capture_output=True,
                cwd="/",
            )
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases ------------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        return create_database(self.url(), name)


def create_database(admin_url: str, name: str | None = None) -> str:
    """``CREATE DATABASE`` through ``admin_url`` (a SQLAlchemy or libpq URL); returns the new
    database's ``postgresql+psycopg://`` URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = name or f"coach_test_{os.getpid()}_{next(_db_counter)}"
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def empty_database(url: str) -> None:
    """Drop everything in the database's ``public`` schema (ending any other connections to it
    first, e.g. a killed writer's backend that has not noticed yet)."""
    import psycopg
    from sqlalchemy.engine import make_url

    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def start_server() -> PgServer:
    """A started private server, or :class:`PgUnavailable` saying why there cannot be one."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PgUnavailable(
            "psycopg 3 is not installed (pip install 'psycopg[binary]>=3')"
        ) from None
    bindir = find_bindir()
    if bindir is None:
        raise PgUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
            "/usr/lib/postgresql/*/bin; install them with `make postgres-deps` "
            "(as root: apt-get install postgresql)"
        )
    return PgServer(bindir).start()


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> int:
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
    signal.signal(signal.SIGTERM, _interrupt)
    server = start_server()
    print(f"PostgreSQL {server.bindir} on 127.0.0.1:{server.port} (data in {server.root})")
    print(f"  admin URL: {server.url()}")
    print(f"  a database for coach: {server.create_database('coach')}")
    print("Ctrl-C stops the server and removes its data.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
