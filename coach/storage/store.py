"""The session store: every scored session, its repetitions and hints, per local profile.

SQLAlchemy Core over SQLite by default (one file in the user's data directory, made
on first use) or PostgreSQL for a shared deployment (``postgresql+psycopg://...``);
the same code runs on both. The caller decides where the data lives: core code reads
no environment variables (:func:`default_database_url` builds the usual SQLite URL
from a data directory the app chose, e.g. ``~/.local/share/stroke-coach``).

Conventions:

* Times are timezone-aware UTC ``datetime`` objects (naive ones are refused); they are
  stored as naive UTC and come back with ``tzinfo=UTC``.
* Every write is its own transaction, committed before the method returns. A live
  session is written as it goes (:meth:`Store.start_session`, one
  :meth:`Store.add_repetition` per scored repetition, :meth:`Store.finish_session`),
  so a crash or a killed process loses at most the repetition being written; the
  session then stays ``"open"`` with every repetition committed before the crash.
* Unknown numbers (NaN, inf) are stored as NULL and read back as NaN.
* Schema versions live in ``coach.migrations``. Opening an older database upgrades it
  in one transaction; opening a database newer than this code raises
  :class:`StoreVersionError` and changes nothing.

SQLite runs in WAL mode with foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE``
for writes (writers queue instead of failing on a lock upgrade).
"""

from __future__ import annotations

import copy
import json
import os
import re
import sqlite3
import time
import unicodedata
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from coach.core.numbers import finite_or_none
from coach.core.scoring import session_score
from coach.core.types import FLAG_CODES, Hint, RepetitionScore, SegmentRecord
from coach.render.report import SCHEMA, repetition_dict, session_summary
from coach.storage import migrations, paths

if TYPE_CHECKING:
    from coach.core.pipeline import SessionResult

SCHEMA_VERSION = migrations.LATEST_VERSION
#: A read-only open (the CLI's ``sessions`` commands) reads databases from this schema
#: version on without upgrading them: version 3 only added accounts, which an
#: unscoped (whole-store) reader does not use.
READ_ONLY_FROM_VERSION = 2
DEFAULT_DB_NAME = "coach.db"
#: SQLite waits this long for another writer before giving up (the CLI and batch jobs;
#: the page opens its store with a short timeout, see :meth:`Store.open`).
SQLITE_BUSY_TIMEOUT_MS = 15_000
SOURCES = ("live", "upload")
STATUSES = ("open", "closed")
DIRECTIONS = ("ok", "wrong")
PACES = ("ok", "too_fast", "too_slow")
PROFILE_NAME_MAX = 40
REFERENCE_NAME_MAX = 80
STROKE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
HINT_CODE_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")


class StoreError(Exception):
    """The store cannot do what was asked; the message says what and why."""


class StoreVersionError(StoreError):
    """The database was written by a newer Stroke Coach than this one (nothing was changed)."""


# -- tables (current schema; coach.migrations holds how they came to be) -----------------


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out; stored naive UTC on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return _utc(value, "datetime").replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


_md = sa.MetaData()
profiles_t = sa.Table(
    "profiles",
    _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    # "<account id>:<key>" for an account's profile, "<key>" for the local account's
    sa.Column("name_key", sa.String(80), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("account_id", sa.Integer),  # NULL: the implicit local account
)
accounts_t = sa.Table(
    "accounts",
    _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("name_key", sa.String(40), nullable=False, unique=True),
    sa.Column("role", sa.String(12), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("failed_sign_ins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime),
)
shares_t = sa.Table(
    "session_shares",
    _md,
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("shared_at", UTCDateTime, nullable=False),
)
ACCOUNT_ROLES = ("trainee", "instructor")
sessions_t = sa.Table(
    "sessions",
    _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False),
    sa.Column("stroke_id", sa.String(64), nullable=False),
    sa.Column("reference", sa.String(80), nullable=False),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("video_path", sa.Text),
    sa.Column("summary", sa.JSON),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("detail", sa.JSON),
)
repetitions_t = sa.Table(
    "repetitions",
    _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("rep_index", sa.Integer, nullable=False),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.Column("duration_s", sa.Float),
    sa.Column("nominal_s", sa.Float),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("pace", sa.String(10), nullable=False),
    sa.Column("speed_ratio", sa.Float),
    sa.Column("coverage", sa.Float),
    sa.Column("flags", sa.JSON, nullable=False),
    sa.Column("smoothness", sa.Float),
    sa.Column("mean_distance_box", sa.Float),
    sa.Column("segments", sa.JSON),
)
hints_t = sa.Table(
    "hints",
    _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("t_s", sa.Float, nullable=False),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)


# -- rows handed out ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    """One stored session; ``summary`` is what :meth:`Store.finish_session` saved (None if open)."""

    id: int
    profile: str
    stroke_id: str
    reference: str
    source: str  # "live" | "upload"
    started_at: datetime  # UTC
    ended_at: datetime | None  # UTC; None while open
    status: str  # "open" | "closed"
    video_path: str | None
    summary: dict[str, Any] | None
    repetition_count: int
    owner: str | None = None  # the account's name, for a session shared with an instructor

    @property
    def score(self) -> int | None:
        """The session score from the summary (None while the session is open)."""
        if not self.summary or not isinstance(self.summary.get("score"), int):
            return None
        return int(self.summary["score"])


@dataclass(frozen=True)
class ProgressPoint:
    """One session as a point of the progress charts (means are NaN when unknown)."""

    session_id: int
    started_at: datetime  # UTC
    reference: str
    source: str
    status: str
    repetitions: int
    mean_score: float  # mean of the repetitions' scores, 0..100
    mean_speed_ratio: float  # mean user speed over nominal speed (1 = on pace)
    pace: dict[str, int] = field(default_factory=dict)  # {"ok": n, "too_fast": n, "too_slow": n}
    flags: dict[str, int] = field(default_factory=dict)  # every code in FLAG_CODES, counted


# -- validation ---------------------------------------------------------------------------


def validate_profile_name(name: object) -> str:
    """The profile name, stripped and NFC-normalised; ``ValueError`` if it is not allowed.

    Allowed: 1-40 characters of letters (any script), digits, space, ``-`` and ``_``
    after stripping surrounding spaces. Names are unique ignoring case.
    """
    if not isinstance(name, str):
        raise ValueError(f"profile name: expected a string, found {type(name).__name__}")
    clean = unicodedata.normalize("NFC", name).strip()
    if not 1 <= len(clean) <= PROFILE_NAME_MAX:
        raise ValueError(
            f"profile name: expected 1-{PROFILE_NAME_MAX} characters, found {len(clean)}"
        )
    for ch in clean:
        category = unicodedata.category(ch)
        if not (category.startswith("L") or category == "Nd" or ch in " -_"):
            raise ValueError(
                f"profile name: only letters, digits, space, '-' and '_' are allowed, "
                f"found {ch!r} in {clean!r}"
            )
    return clean


def _profile_key(name: str) -> str:
    return name.casefold()


def _utc(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{what}: expected a datetime, found {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: expected a timezone-aware datetime, found naive {value}")
    return value.astimezone(UTC)


def _check_choice(value: object, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what}: expected one of {list(allowed)}, found {value!r}")
    return str(value)


def _check_stroke_id(stroke_id: object) -> str:
    if not isinstance(stroke_id, str) or not STROKE_ID_PATTERN.match(stroke_id):
        raise ValueError(
            f"stroke id: expected lower-case letters, digits and '-' (up to 64), "
            f"found {stroke_id!r}"
        )
    return stroke_id


def _check_reference(reference: object) -> str:
    if not isinstance(reference, str):
        raise ValueError(f"reference: expected a string, found {type(reference).__name__}")
    if not 1 <= len(reference) <= REFERENCE_NAME_MAX or not reference.isprintable():
        raise ValueError(
            f"reference: expected 1-{REFERENCE_NAME_MAX} printable characters, found {reference!r}"
        )
    return reference


def _check_json(value: object, what: str) -> Any:
    """``value`` if it is plain JSON (no NaN); a deep copy through JSON so nothing aliases."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: expected plain JSON data without NaN, {exc}") from None


def _num(x: object) -> float | None:
    """A finite float, or None (NULL) for NaN, inf and None."""
    return None if x is None else finite_or_none(float(x))  # type: ignore[arg-type]


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _segment_dict(s: SegmentRecord) -> dict[str, Any]:
    return {
        "repetition": int(s.repetition),
        "segment": int(s.segment),
        "reversed": bool(s.reversed),
        "start_s": _num(s.start_s),
        "end_s": _num(s.end_s),
        "duration_s": _num(s.duration_s),
        "coverage": _num(s.coverage),
        "mean_distance_box": _num(s.mean_distance_box),
    }


def _segment_from(d: Mapping[str, Any]) -> SegmentRecord:
    return SegmentRecord(
        repetition=int(d["repetition"]),
        segment=int(d["segment"]),
        reversed=bool(d["reversed"]),
        start_s=_nan(d.get("start_s")),
        end_s=_nan(d.get("end_s")),
        duration_s=_nan(d.get("duration_s")),
        coverage=_nan(d.get("coverage")),
        mean_distance_box=_nan(d.get("mean_distance_box")),
    )


def _repetition_values(rep: RepetitionScore) -> dict[str, Any]:
    """The row for one repetition, validated (a bad verdict is refused, not stored)."""
    if not isinstance(rep, RepetitionScore):
        raise ValueError(f"repetition: expected a RepetitionScore, found {type(rep).__name__}")
    if int(rep.index) != rep.index or rep.index < 0:
        raise ValueError(f"repetition index: expected an integer >= 0, found {rep.index!r}")
    if int(rep.score) != rep.score or not 0 <= rep.score <= 100:
        raise ValueError(f"repetition score: expected an integer 0-100, found {rep.score!r}")
    start, end = _num(rep.start_s), _num(rep.end_s)
    if start is None or end is None or end < start:
        raise ValueError(
            f"repetition times: expected finite start_s <= end_s, found {rep.start_s}, {rep.end_s}"
        )
    for flag in rep.flags:
        _check_choice(flag, FLAG_CODES, "repetition flag")
    return {
        "rep_index": int(rep.index),
        "start_s": start,
        "end_s": end,
        "duration_s": _num(rep.duration_s),
        "nominal_s": _num(rep.nominal_s),
        "score": int(rep.score),
        "direction": _check_choice(rep.direction, DIRECTIONS, "repetition direction"),
        "pace": _check_choice(rep.pace, PACES, "repetition pace"),
        "speed_ratio": _num(rep.speed_ratio),
        "coverage": _num(rep.coverage),
        "flags": [str(f) for f in rep.flags],
        "smoothness": _num(rep.smoothness),
        "mean_distance_box": _num(rep.mean_distance_box),
        "segments": [_segment_dict(s) for s in rep.segments],
    }


def _repetition_from(row: Mapping[str, Any]) -> RepetitionScore:
    return RepetitionScore(
        index=int(row["rep_index"]),
        start_s=float(row["start_s"]),
        end_s=float(row["end_s"]),
        duration_s=_nan(row["duration_s"]),
        nominal_s=_nan(row["nominal_s"]),
        score=int(row["score"]),
        direction=row["direction"],
        pace=row["pace"],
        speed_ratio=_nan(row["speed_ratio"]),
        coverage=_nan(row["coverage"]),
        flags=tuple(row["flags"] or ()),
        smoothness=_nan(row["smoothness"]),
        mean_distance_box=_nan(row["mean_distance_box"]),
        segments=tuple(_segment_from(s) for s in (row["segments"] or ())),
    )


def _hint_values(hint: Hint) -> dict[str, Any]:
    if not isinstance(hint, Hint):
        raise ValueError(f"hint: expected a Hint, found {type(hint).__name__}")
    t = _num(hint.timestamp_s)
    if t is None:
        raise ValueError(f"hint t_s: expected a finite number, found {hint.timestamp_s!r}")
    if not isinstance(hint.code, str) or not HINT_CODE_PATTERN.match(hint.code):
        raise ValueError(f"hint code: expected [a-z0-9_]{{1,40}}, found {hint.code!r}")
    return {"t_s": t, "code": hint.code, "text": str(hint.text)}


def _flag_counts(reps: Sequence[RepetitionScore]) -> dict[str, int]:
    counts = {code: 0 for code in FLAG_CODES}
    for rep in reps:
        for f in rep.flags:
            counts[f] = counts.get(f, 0) + 1
    return counts


def summarize(reps: Sequence[RepetitionScore]) -> dict[str, Any]:
    """The ``summary`` of a session from its repetitions (score, repetitions, flag counts)."""
    return {"score": session_score(reps), "repetitions": len(reps), "flags": _flag_counts(reps)}


# -- where the database lives -------------------------------------------------------------


def session_detail(session: SessionResult) -> dict[str, Any]:
    """What is kept of a session's tracking (frames, hand seen, no-hand stretches)."""
    return {
        "frames": int(session.frames),
        "frames_with_hand": int(session.frames_with_hand),
        "detection_rate": round(float(session.detection_rate), 4),
        "no_hand_stretches": [[_num(a), _num(b)] for a, b in session.no_hand_stretches],
    }


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """``$COACH_DATABASE_URL``, else the SQLite file in the data folder."""
    return paths.database_url_override(environ) or default_database_url(paths.data_dir(environ))


def default_database_url(data_dir: Path | str) -> str:
    """The SQLite URL of ``<data_dir>/coach.db``.

    The app or CLI picks ``data_dir``; the suggested default is ``~/.local/share/stroke-coach``.
    """
    path = Path(data_dir).expanduser().resolve() / DEFAULT_DB_NAME
    return sa.URL.create("sqlite+pysqlite", database=str(path)).render_as_string()


_URL_PASSWORD = re.compile(r"(://[^/@\s:]*:)[^@\s]*@")


def redact_url(text: object) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` in it replaced by
    ``***``, on one line: safe to print or log."""
    return " ".join(_URL_PASSWORD.sub(r"\1***@", str(text)).split())


def display_url(url_or_path: str | Path) -> str:
    """The store's URL or path as it may be shown: never a password."""
    return redact_url(url_or_path)


def _normalise_url(url_or_path: str | Path) -> sa.URL:
    """A SQLAlchemy URL from a URL or a plain file path (a path means SQLite)."""
    if isinstance(url_or_path, Path) or "://" not in str(url_or_path):
        path = Path(url_or_path).expanduser().resolve()
        return sa.URL.create("sqlite+pysqlite", database=str(path))
    try:
        url = sa.make_url(str(url_or_path))
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"database URL: cannot parse {redact_url(url_or_path)!r}: {redact_url(exc)}"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    elif url.drivername == "sqlite":
        url = url.set(drivername="sqlite+pysqlite")
    if url.drivername not in ("sqlite+pysqlite", "postgresql+psycopg"):
        raise StoreError(
            f"database URL: expected sqlite:///PATH or postgresql+psycopg://..., "
            f"found {url.drivername}://"
        )
    if url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:"):
        raise StoreError("database URL: an SQLite store needs a file path, not a memory database")
    return url


def _make_engine(
    url: sa.URL, read_only: bool = False, busy_timeout_s: float | None = None
) -> Engine:
    """The engine for ``url``. ``read_only``: nothing is created (an SQLite file must
    exist; SQLite opens it ``mode=rw`` so no file is made) and every connection refuses
    writes (``PRAGMA query_only``; PostgreSQL ``default_transaction_read_only``)."""
    timeout_ms = (
        round(1000 * busy_timeout_s) if busy_timeout_s is not None else SQLITE_BUSY_TIMEOUT_MS
    )
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        if read_only:
            url = sa.URL.create(
                "sqlite+pysqlite",
                database="file:" + urllib.parse.quote(str(path)),
                query={"mode": "rw", "uri": "true"},
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": timeout_ms / 1000})
        event.listen(engine, "connect", _sqlite_connect_hook(timeout_ms, read_only))
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    connect_args = {"connect_timeout": max(1, round(busy_timeout_s or 10))}
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    try:
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except ImportError as exc:
        raise StoreError(
            "a PostgreSQL store needs the postgres extra: pip install 'stroke-coach[postgres]' "
            f"(found no psycopg 3: {exc})"
        ) from None


def _sqlite_connect_hook(timeout_ms: int, read_only: bool):
    def hook(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_on_connect(dbapi_connection, _record, timeout_ms)
        if read_only:
            dbapi_connection.execute("PRAGMA query_only = ON")

    return hook


def _sqlite_on_connect(
    dbapi_connection: Any, _record: Any, timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> None:
    """Per connection: we emit BEGIN ourselves, foreign keys on, wait for locks."""
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
    cur.execute("PRAGMA synchronous = FULL")
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    """Writers take the write lock up front (they queue on busy_timeout); readers don't."""
    write = conn.get_execution_options().get("coach_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _operational_message(exc: sa.exc.OperationalError) -> str:
    """One line for a database that is locked, read-only or failing."""
    cause = redact_url(getattr(exc, "orig", None) or exc)
    low = cause.lower()
    if "locked" in low or "busy" in low:
        return (
            "the session store is locked by another program (or another Stroke Coach); "
            f"try again in a moment ({cause})"
        )
    if "readonly" in low or "read-only" in low or "read only" in low:
        return f"the session store is read-only; sessions cannot be saved ({cause})"
    return f"the session store failed: {cause}"


def _check_sqlite_file(path: Path, shown: str, read_only: bool) -> None:
    """Up front, before SQLite touches anything: the file exists (read-only) and can be
    written (read-write), so a read-only or missing store answers at once."""
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StoreError(
            f"{shown}: cannot open the session store ({exc.strerror or exc})"
        ) from None
    if read_only:
        if not path.is_file():
            found = "a folder" if path.is_dir() else "no such file"
            raise StoreError(f"{shown}: expected a session store file, found {found}")
        return
    if path.exists():
        if not path.is_file():
            raise StoreError(f"{shown}: expected a session store file, found a folder")
        for p in (path, path.parent):
            if not os.access(p, os.W_OK):
                raise StoreError(
                    f"{shown}: the session store is read-only (no write permission on {p}); "
                    "sessions cannot be saved"
                )


def _refuse_foreign(conn: Connection, shown: str) -> None:
    """Refuse (before changing anything) a database that holds tables but no Stroke
    Coach version table: another program's data."""
    names = set(sa.inspect(conn).get_table_names())
    if names and migrations.VERSION_TABLE not in names:
        others = sorted(names - set(migrations.OWN_TABLES))
        if others:
            listed = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            raise StoreError(
                f"{shown}: not a Stroke Coach database (it holds other tables: {listed}); "
                "nothing was changed"
            )


# -- the store ----------------------------------------------------------------------------


class Store:
    """A session store on one database. Make it with :meth:`Store.open`; close it when done.

    Safe to use from several threads (each call takes its own pooled connection) and
    from several processes at once (SQLite serialises writers; PostgreSQL is a server).
    """

    def __init__(self, engine: Engine) -> None:
        self.read_only = False
        #: A view for one account (:meth:`for_account`) sees only that account's profiles
        #: and sessions (and the sessions shared with it); an unscoped store (the CLI, an
        #: administrator) sees everything.
        self.scoped = False
        self.account_id: int | None = None
        self._owns_engine = True
        self.engine = engine
        self._writer = engine.execution_options(coach_write=True)
        self.backend = engine.dialect.name  # "sqlite" | "postgresql"

    # -- opening ----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url_or_path: str | Path,
        *,
        read_only: bool = False,
        busy_timeout_s: float | None = None,
    ) -> Store:
        """Open (creating and upgrading if needed) the store at a database URL or SQLite path.

        ``read_only``: the database must exist and be a Stroke Coach store at the current
        schema version; nothing is created, upgraded or switched (no WAL), and writes
        are refused. ``busy_timeout_s``: how long to wait for another writer (the page
        uses a short one so that a locked database answers at once).

        Raises :class:`StoreVersionError` for a database newer than this code (unchanged),
        :class:`StoreError` when it cannot be opened, cannot be written (when not
        ``read_only``) or is not a Stroke Coach database (left untouched). Messages are
        one line and never show a password.
        """
        url = _normalise_url(url_or_path)
        shown = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite":
            _check_sqlite_file(Path(url.database), shown, read_only)
        engine = _make_engine(url, read_only, busy_timeout_s)
        try:
            with engine.connect() as conn:
                _refuse_foreign(conn, shown)
                version = migrations.read_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreVersionError(
                    f"{shown}: the database is at schema version {version}, newer than this "
                    f"Stroke Coach knows ({SCHEMA_VERSION}); upgrade Stroke Coach or use "
                    f"another database. Nothing was changed."
                )
            if read_only and version < READ_ONLY_FROM_VERSION:
                what = "empty" if version == 0 else f"at schema version {version}"
                raise StoreError(
                    f"{shown}: the store is {what}; this Stroke Coach reads version "
                    f"{SCHEMA_VERSION} (open it once with the app to upgrade it); "
                    "nothing was changed"
                )
            store = cls(engine)
            store.read_only = read_only
            if store.backend == "sqlite" and not read_only:
                store._sqlite_wal(busy_timeout_s)
            if version < SCHEMA_VERSION and not read_only:
                store._upgrade()
            return store
        except StoreError:
            engine.dispose()
            raise
        except (LookupError, ValueError) as exc:
            engine.dispose()
            raise StoreError(f"{shown}: not a Stroke Coach database ({exc})") from None
        except SQLAlchemyError as exc:
            engine.dispose()
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(
                f"{shown}: cannot open the session store: {redact_url(cause)}"
            ) from None
        except BaseException:
            engine.dispose()
            raise

    def _sqlite_wal(self, busy_timeout_s: float | None = None) -> None:
        """Switch the file to WAL journalling (persistent; must run outside a transaction).

        Another process switching at the same moment can make SQLite answer with the old
        mode; that is retried for up to the busy timeout.
        """
        wait_s = SQLITE_BUSY_TIMEOUT_MS / 1000 if busy_timeout_s is None else busy_timeout_s
        deadline = time.monotonic() + wait_s
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            while True:
                try:
                    mode = str(cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
                except sqlite3.OperationalError as exc:  # locked by another opener
                    mode = f"unchanged: {exc}"
                if mode == "wal":
                    break
                if time.monotonic() > deadline:
                    raise StoreError(f"SQLite refused WAL journalling (journal_mode {mode})")
                time.sleep(0.05)
            cur.close()
        finally:
            raw.close()

    def _upgrade(self) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION` in one transaction, one upgrader at a time."""
        with self._write() as conn:
            if self.backend == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7746582201)")
            version = migrations.read_version(conn)  # another process may have done it
            if version > SCHEMA_VERSION:
                raise StoreVersionError(
                    f"the database went to schema version {version} while opening "
                    f"(this code knows {SCHEMA_VERSION})"
                )
            try:
                migrations.upgrade(conn, version, SCHEMA_VERSION)
            except Exception as exc:
                raise StoreError(
                    f"upgrading the schema from version {version} to {SCHEMA_VERSION} failed "
                    f"and was rolled back (the database is unchanged): {exc}"
                ) from exc

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return migrations.read_version(conn)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    # -- accounts: who sees what -------------------------------------------------------

    def for_account(self, account_id: int | None) -> Store:
        """This store as one account sees it (same database connections; closing the view
        leaves the store open). ``None`` is the implicit local account: the profiles made
        on a server that only this computer can reach, and every profile made before
        accounts existed. A view lists, reads, exports and writes only its account's
        profiles and sessions, and reads the sessions other accounts shared with it."""
        if account_id is not None and (
            isinstance(account_id, bool) or not isinstance(account_id, int)
        ):
            raise ValueError(f"account id: expected an int or None, found {account_id!r}")
        view = copy.copy(self)
        view.scoped = True
        view.account_id = account_id
        view._owns_engine = False
        return view

    def _key(self, name: str) -> str:
        key = _profile_key(validate_profile_name(name))
        return key if not self.scoped or self.account_id is None else f"{self.account_id}:{key}"

    def _mine(self) -> Any:
        """The condition on ``profiles`` for this view's own profiles (None: unscoped)."""
        if not self.scoped:
            return None
        if self.account_id is None:
            return profiles_t.c.account_id.is_(None)
        return profiles_t.c.account_id == self.account_id

    def _visible(self) -> Any:
        """The condition for sessions this view may read: its own, and those shared with it."""
        mine = self._mine()
        if mine is None or self.account_id is None:
            return mine
        shared = sa.select(shares_t.c.session_id).where(shares_t.c.account_id == self.account_id)
        return sa.or_(mine, sessions_t.c.id.in_(shared))

    def _check_session(self, conn: Connection, session_id: int, own: bool) -> None:
        """StoreError "no session with id N" when this view may not see (``own``: write)
        the session: another account's session looks exactly like a missing one."""
        if not isinstance(session_id, int) or isinstance(session_id, bool):
            raise ValueError(f"session id: expected an int, found {type(session_id).__name__}")
        cond = self._mine() if own else self._visible()
        if cond is None:
            return
        found = conn.execute(
            sa.select(sessions_t.c.id)
            .join(profiles_t, profiles_t.c.id == sessions_t.c.profile_id)
            .where(sessions_t.c.id == session_id, cond)
        ).first()
        if found is None:
            raise StoreError(f"no session with id {session_id}")

    # -- accounts: the rows (passwords are hashed by coach.storage.accounts) ------------------

    def add_account(self, name: str, role: str, password_hash: str) -> int:
        """A new account; StoreError when the name (any case) is taken."""
        clean = validate_profile_name(name)
        _check_choice(role, ACCOUNT_ROLES, "role")
        if not isinstance(password_hash, str) or not password_hash.startswith("scrypt$"):
            raise ValueError("password_hash: expected a scrypt hash from coach.accounts")
        try:
            with self._write() as conn:
                result = conn.execute(
                    accounts_t.insert().values(
                        name=clean,
                        name_key=_profile_key(clean),
                        role=role,
                        password_hash=password_hash,
                        created_at=datetime.now(UTC),
                        failed_sign_ins=0,
                    )
                )
                return int(result.inserted_primary_key[0])
        except IntegrityError:
            raise StoreError(f"an account named {clean!r} already exists") from None

    def account_row(self, name: str) -> dict[str, Any] | None:
        """The account called ``name`` (any case) as a dict, or None."""
        try:
            key = _profile_key(validate_profile_name(name))
        except ValueError:
            return None
        with self._read() as conn:
            row = conn.execute(sa.select(accounts_t).where(accounts_t.c.name_key == key)).first()
        return None if row is None else dict(row._mapping)

    def accounts(self, role: str | None = None) -> list[dict[str, Any]]:
        """Every account (id, name, role), sorted by name."""
        q = sa.select(accounts_t.c.id, accounts_t.c.name, accounts_t.c.role)
        if role is not None:
            q = q.where(accounts_t.c.role == _check_choice(role, ACCOUNT_ROLES, "role"))
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(accounts_t.c.name_key))]

    def update_account(self, account_id: int, **values: Any) -> None:
        """Change an account's password hash, role or sign-in counters."""
        allowed = {"password_hash", "role", "failed_sign_ins", "locked_until"}
        if not values or set(values) - allowed:
            raise ValueError(f"update_account: expected some of {sorted(allowed)}")
        with self._write() as conn:
            conn.execute(accounts_t.update().where(accounts_t.c.id == account_id).values(**values))

    # -- sharing with an instructor ----------------------------------------------------

    def share_session(self, session_id: int, instructor: str) -> None:
        """Let the instructor account ``instructor`` see one of this account's sessions."""
        if not self.scoped or self.account_id is None:
            raise StoreError("sessions are shared from a signed-in account")
        target = self.account_row(instructor)
        if target is None or target["role"] != "instructor":
            raise StoreError(f"no instructor account named {instructor!r}")
        with self._write() as conn:
            self._check_session(conn, session_id, own=True)
            exists = conn.execute(
                sa.select(shares_t.c.session_id).where(
                    shares_t.c.session_id == session_id, shares_t.c.account_id == target["id"]
                )
            ).first()
            if exists is None:
                conn.execute(
                    shares_t.insert().values(
                        session_id=session_id, account_id=target["id"], shared_at=datetime.now(UTC)
                    )
                )

    def unshare_session(self, session_id: int, instructor: str) -> None:
        target = self.account_row(instructor)
        if target is None:
            return
        with self._write() as conn:
            self._check_session(conn, session_id, own=True)
            conn.execute(
                shares_t.delete().where(
                    shares_t.c.session_id == session_id, shares_t.c.account_id == target["id"]
                )
            )

    def shared_with(self, session_id: int) -> list[str]:
        """Names of the instructor accounts one of this account's sessions is shared with."""
        with self._read() as conn:
            self._check_session(conn, session_id, own=True)
            rows = conn.execute(
                sa.select(accounts_t.c.name)
                .join(shares_t, shares_t.c.account_id == accounts_t.c.id)
                .where(shares_t.c.session_id == session_id)
                .order_by(accounts_t.c.name_key)
            )
            return [r[0] for r in rows]

    def shared_sessions(self, limit: int | None = 50) -> list[SessionRow]:
        """Sessions other accounts shared with this (instructor) account, newest first;
        ``owner`` names the account that shared each."""
        if not self.scoped or self.account_id is None:
            return []
        shared = sa.select(shares_t.c.session_id).where(shares_t.c.account_id == self.account_id)
        q = (
            self._session_query()
            .add_columns(accounts_t.c.name.label("owner"))
            .join(accounts_t, accounts_t.c.id == profiles_t.c.account_id)
            .where(sessions_t.c.id.in_(shared))
            .order_by(sessions_t.c.started_at.desc(), sessions_t.c.id.desc())
        )
        if limit is not None:
            q = q.limit(int(limit))
        with self._read() as conn:
            return [SessionRow(**row._mapping) for row in conn.execute(q)]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any error. A locked,
        read-only or failing database raises :class:`StoreError` with one line."""
        try:
            with self._writer.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreError(_operational_message(exc)) from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreError(_operational_message(exc)) from None

    # -- profiles ---------------------------------------------------------------------

    def profile(self, name: str) -> int:
        """The id of the profile called ``name`` (any case), created on first use."""
        clean = validate_profile_name(name)
        key = self._key(clean)
        found = self._profile_id(key)
        if found is not None:
            return found
        try:
            with self._write() as conn:
                result = conn.execute(
                    profiles_t.insert().values(
                        name=clean,
                        name_key=key,
                        created_at=datetime.now(UTC),
                        account_id=self.account_id if self.scoped else None,
                    )
                )
                return int(result.inserted_primary_key[0])
        except IntegrityError:  # made by another writer in the meantime
            found = self._profile_id(key)
            if found is None:
                raise
            return found

    def _profile_id(self, key: str) -> int | None:
        with self._read() as conn:
            return conn.execute(
                sa.select(profiles_t.c.id).where(profiles_t.c.name_key == key)
            ).scalar_one_or_none()

    def profiles(self) -> list[str]:
        """Every profile name, sorted ignoring case."""
        q = sa.select(profiles_t.c.name).order_by(profiles_t.c.name_key)
        if self._mine() is not None:
            q = q.where(self._mine())
        with self._read() as conn:
            return [r[0] for r in conn.execute(q)]

    # -- writing a session as it happens ----------------------------------------------

    def start_session(
        self,
        profile: str,
        stroke_id: str,
        reference: str,
        source: str,
        started_at: datetime | None = None,
        *,
        video_path: str | Path | None = None,
    ) -> int:
        """Record a new open session; returns its id. ``reference`` is a built-in stroke
        id or a custom reference's name; ``video_path`` only when the user asked to keep it."""
        values = _session_values(stroke_id, reference, source, started_at, video_path)
        profile_id = self.profile(profile)
        with self._write() as conn:
            return _insert_session(conn, profile_id, values)

    def add_repetition(self, session_id: int, rep: RepetitionScore) -> None:
        """Store one scored repetition of an open session, committed before returning."""
        values = _repetition_values(rep)
        with self._write() as conn:
            self._require_open(conn, session_id)
            try:
                conn.execute(repetitions_t.insert().values(session_id=session_id, **values))
            except IntegrityError:
                raise StoreError(
                    f"session {session_id} already has a repetition with index {rep.index}"
                ) from None

    def add_hint(self, session_id: int, hint: Hint) -> None:
        """Store one hint the coach gave during an open session, committed before returning."""
        values = _hint_values(hint)
        with self._write() as conn:
            self._require_open(conn, session_id)
            conn.execute(hints_t.insert().values(session_id=session_id, **values))

    def finish_session(
        self,
        session_id: int,
        summary: Mapping[str, Any] | None = None,
        *,
        ended_at: datetime | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Close an open session (also one a crash left open) with its summary.

        ``summary`` is the report's summary (``{"score", "repetitions", "flags"}``); when
        None it is computed from the stored repetitions. ``detail`` is optional tracking
        information (frames, detection rate, no-hand stretches) kept for the report.
        """
        summary_json = None if summary is None else _check_json(dict(summary), "summary")
        detail_json = None if detail is None else _check_json(dict(detail), "detail")
        end = datetime.now(UTC) if ended_at is None else _utc(ended_at, "ended_at")
        with self._write() as conn:
            self._require_open(conn, session_id)
            if summary_json is None:
                summary_json = summarize(self._repetitions(conn, session_id))
            values: dict[str, Any] = {"status": "closed", "ended_at": end, "summary": summary_json}
            if detail_json is not None:
                values["detail"] = detail_json
            conn.execute(sessions_t.update().where(sessions_t.c.id == session_id).values(**values))

    def _require_open(self, conn: Connection, session_id: int) -> None:
        """Check the session exists and is open (locking its row on PostgreSQL)."""
        self._check_session(conn, session_id, own=True)
        status = conn.execute(
            sa.select(sessions_t.c.status).where(sessions_t.c.id == session_id).with_for_update()
        ).scalar_one_or_none()
        if status is None:
            raise StoreError(f"no session with id {session_id}")
        if status != "open":
            raise StoreError(f"session {session_id} is {status}; it takes no more writes")

    # -- writing a finished session at once -------------------------------------------

    def save_session(
        self,
        profile: str,
        session: SessionResult,
        source: str,
        reference: str,
        *,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        video_path: str | Path | None = None,
    ) -> int:
        """Store a whole finished :class:`~coach.core.pipeline.SessionResult` in ONE transaction
        (all of it or nothing); returns the new, closed session's id."""
        reps = [_repetition_values(r) for r in session.repetitions]
        hints = [_hint_values(h) for h in session.hints]
        summary = _check_json(session_summary(session), "summary")
        detail = _check_json(
            session_detail(session),
            "detail",
        )
        values = _session_values(session.stroke_id, reference, source, started_at, video_path)
        end = values["started_at"] if ended_at is None else _utc(ended_at, "ended_at")
        profile_id = self.profile(profile)
        with self._write() as conn:
            sid = _insert_session(conn, profile_id, values)
            if reps:
                conn.execute(repetitions_t.insert(), [{"session_id": sid, **r} for r in reps])
            if hints:
                conn.execute(hints_t.insert(), [{"session_id": sid, **h} for h in hints])
            conn.execute(
                sessions_t.update()
                .where(sessions_t.c.id == sid)
                .values(status="closed", ended_at=end, summary=summary, detail=detail)
            )
            return sid

    def delete_session(self, session_id: int) -> bool:
        """Delete a session with its repetitions and hints; False if there was none."""
        with self._write() as conn:
            try:
                self._check_session(conn, session_id, own=True)
            except StoreError:
                return False
            conn.execute(shares_t.delete().where(shares_t.c.session_id == session_id))
            conn.execute(repetitions_t.delete().where(repetitions_t.c.session_id == session_id))
            conn.execute(hints_t.delete().where(hints_t.c.session_id == session_id))
            gone = conn.execute(sessions_t.delete().where(sessions_t.c.id == session_id))
            return gone.rowcount > 0

    # -- reading ------------------------------------------------------------------------

    def _session_query(self) -> sa.Select:
        count = (
            sa.select(sa.func.count(repetitions_t.c.id))
            .where(repetitions_t.c.session_id == sessions_t.c.id)
            .scalar_subquery()
        )
        return sa.select(
            sessions_t.c.id,
            profiles_t.c.name.label("profile"),
            sessions_t.c.stroke_id,
            sessions_t.c.reference,
            sessions_t.c.source,
            sessions_t.c.started_at,
            sessions_t.c.ended_at,
            sessions_t.c.status,
            sessions_t.c.video_path,
            sessions_t.c.summary,
            count.label("repetition_count"),
        ).join(profiles_t, profiles_t.c.id == sessions_t.c.profile_id)

    def sessions(
        self,
        profile: str | None = None,
        stroke: str | None = None,
        limit: int | None = 50,
        *,
        status: str | None = None,
    ) -> list[SessionRow]:
        """Stored sessions, newest first, optionally of one profile / stroke / status."""
        q = self._session_query()
        if self._mine() is not None:
            q = q.where(self._mine())
        if profile is not None:
            q = q.where(profiles_t.c.name_key == self._key(profile))
        if stroke is not None:
            q = q.where(sessions_t.c.stroke_id == stroke)
        if status is not None:
            q = q.where(sessions_t.c.status == _check_choice(status, STATUSES, "status"))
        q = q.order_by(sessions_t.c.started_at.desc(), sessions_t.c.id.desc())
        if limit is not None:
            q = q.limit(int(limit))
        with self._read() as conn:
            return [SessionRow(**row._mapping) for row in conn.execute(q)]

    def session(self, session_id: int) -> SessionRow:
        """One stored session; :class:`StoreError` if there is none with that id."""
        q = self._session_query().where(sessions_t.c.id == session_id)
        if self._visible() is not None:
            q = q.where(self._visible())
        with self._read() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise StoreError(f"no session with id {session_id}")
        return SessionRow(**row._mapping)

    def repetitions(self, session_id: int) -> list[RepetitionScore]:
        """The session's repetitions in index order, as the scorer made them."""
        with self._read() as conn:
            self._check_session(conn, session_id, own=False)
            return self._repetitions(conn, session_id)

    def _repetitions(self, conn: Connection, session_id: int) -> list[RepetitionScore]:
        rows = conn.execute(
            sa.select(repetitions_t)
            .where(repetitions_t.c.session_id == session_id)
            .order_by(repetitions_t.c.rep_index)
        )
        return [_repetition_from(r._mapping) for r in rows]

    def hints(self, session_id: int) -> list[Hint]:
        """The hints given during the session, in time order."""
        with self._read() as conn:
            self._check_session(conn, session_id, own=False)
            rows = conn.execute(
                sa.select(hints_t.c.t_s, hints_t.c.code, hints_t.c.text)
                .where(hints_t.c.session_id == session_id)
                .order_by(hints_t.c.t_s, hints_t.c.id)
            )
            return [Hint(timestamp_s=float(r.t_s), code=r.code, text=r.text) for r in rows]

    def progress(
        self, profile: str, stroke: str, *, include_empty: bool = False
    ) -> list[ProgressPoint]:
        """One point per session of ``profile`` on ``stroke``, oldest first, for the charts.

        Computed from the stored repetitions, so sessions a crash left open count too.
        Sessions without repetitions are left out unless ``include_empty``.
        """
        key = self._key(profile)
        with self._read() as conn:
            sessions = conn.execute(
                sa.select(
                    sessions_t.c.id,
                    sessions_t.c.started_at,
                    sessions_t.c.reference,
                    sessions_t.c.source,
                    sessions_t.c.status,
                )
                .join(profiles_t, profiles_t.c.id == sessions_t.c.profile_id)
                .where(profiles_t.c.name_key == key, sessions_t.c.stroke_id == stroke)
                .order_by(sessions_t.c.started_at, sessions_t.c.id)
            ).all()
            reps = conn.execute(
                sa.select(
                    repetitions_t.c.session_id,
                    repetitions_t.c.score,
                    repetitions_t.c.speed_ratio,
                    repetitions_t.c.pace,
                    repetitions_t.c.flags,
                ).where(repetitions_t.c.session_id.in_([s.id for s in sessions]))
            ).all()
        by_session: dict[int, list[Any]] = {}
        for r in reps:
            by_session.setdefault(r.session_id, []).append(r)
        points = []
        for s in sessions:
            rows = by_session.get(s.id, [])
            if not rows and not include_empty:
                continue
            points.append(_progress_point(s, rows))
        return points

    def session_report(self, session_id: int) -> dict[str, Any]:
        """A stored session as a ``coach.report/1``-like dict (for the HTML export).

        Same ``repetitions``/``summary``/``hints`` fields as ``coach score --json``;
        ``video`` holds only the kept video's path (or None), ``tracking`` what was
        saved of it, and ``session`` who, when, which reference, from which source.
        """
        row = self.session(session_id)
        with self._read() as conn:
            reps = self._repetitions(conn, session_id)
            detail = conn.execute(
                sa.select(sessions_t.c.detail).where(sessions_t.c.id == session_id)
            ).scalar_one_or_none()
        hints = self.hints(session_id)
        return {
            "schema": SCHEMA,
            "stroke": row.stroke_id,
            "session": {
                "id": row.id,
                "profile": row.profile,
                "reference": row.reference,
                "source": row.source,
                "status": row.status,
                "started_at": row.started_at.isoformat(),
                "ended_at": None if row.ended_at is None else row.ended_at.isoformat(),
            },
            "video": {"path": row.video_path},
            "tracking": dict(detail or {}),
            "repetitions": [repetition_dict(r) for r in reps],
            "summary": row.summary if row.summary is not None else summarize(reps),
            "hints": [
                {"t_s": round(h.timestamp_s, 2), "code": h.code, "text": h.text} for h in hints
            ],
        }


def _session_values(
    stroke_id: str,
    reference: str,
    source: str,
    started_at: datetime | None,
    video_path: str | Path | None,
) -> dict[str, Any]:
    """The validated columns of a new open session (profile apart)."""
    return {
        "stroke_id": _check_stroke_id(stroke_id),
        "reference": _check_reference(reference),
        "source": _check_choice(source, SOURCES, "session source"),
        "started_at": datetime.now(UTC) if started_at is None else _utc(started_at, "started_at"),
        "video_path": None if video_path is None else str(video_path),
        "status": "open",
    }


def _insert_session(conn: Connection, profile_id: int, values: Mapping[str, Any]) -> int:
    result = conn.execute(sessions_t.insert().values(profile_id=profile_id, **values))
    return int(result.inserted_primary_key[0])


def _progress_point(s: Any, rows: Sequence[Any]) -> ProgressPoint:
    scores = [r.score for r in rows]
    ratios = [r.speed_ratio for r in rows if r.speed_ratio is not None]
    pace = {p: 0 for p in PACES}
    flags = {code: 0 for code in FLAG_CODES}
    for r in rows:
        pace[r.pace] = pace.get(r.pace, 0) + 1
        for f in r.flags or ():
            flags[f] = flags.get(f, 0) + 1
    return ProgressPoint(
        session_id=int(s.id),
        started_at=s.started_at,
        reference=s.reference,
        source=s.source,
        status=s.status,
        repetitions=len(rows),
        mean_score=sum(scores) / len(scores) if scores else float("nan"),
        mean_speed_ratio=sum(ratios) / len(ratios) if ratios else float("nan"),
        pace=pace,
        flags=flags,
    )


def save_session(
    store: Store,
    profile: str,
    session: SessionResult,
    source: str,
    reference: str,
    **kwargs: Any,
) -> int:
    """Store a whole finished session in one transaction (uploads); see ``Store.save_session``."""
    return store.save_session(profile, session, source, reference, **kwargs)
