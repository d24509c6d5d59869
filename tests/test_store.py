"""Tests of the session store (coach/storage/store.py) on SQLite and on a private PostgreSQL server.

Every test taking ``backend`` runs twice: on a fresh SQLite file and on a fresh
database of a throwaway PostgreSQL server that this module starts on 127.0.0.1
(tests/pg_server.py). The PostgreSQL cases skip, saying why, when no server binaries
are installed (``make postgres-deps`` installs them). ``COACH_TEST_POSTGRES_URL``
(an admin URL that may CREATE DATABASE) points the tests at an existing server instead.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from coach.core.pipeline import SessionResult
from coach.core.types import FLAG_CODES, Hint, RepetitionScore, SegmentRecord
from coach.storage import migrations
from coach.storage import store as store_mod
from coach.storage.store import (
    SCHEMA_VERSION,
    Store,
    StoreError,
    StoreVersionError,
    default_database_url,
    save_session,
    validate_profile_name,
)
from tests import pg_server

REPO_ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 120


# -- backends -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    name: str  # "sqlite" | "postgresql"
    url: str  # what Store.open gets: a file path for SQLite, a URL for PostgreSQL
    sqlite_path: Path | None = None


@pytest.fixture(scope="session")
def pg_admin_url():
    """Admin URL of a PostgreSQL server for this test run (started here, stopped at the end)."""
    external = os.environ.get("COACH_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    try:
        server = pg_server.start_server()
    except pg_server.PgUnavailable as exc:
        if os.environ.get("CI") == "true":  # CI installs PostgreSQL (make postgres-deps)
            pytest.fail(f"PostgreSQL store tests cannot run on CI: {exc}")
        pytest.skip(f"PostgreSQL store tests skipped: {exc}")
    try:
        yield server.url()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_database_url(pg_admin_url) -> str:
    """One database for this test run; every test empties it first (faster than a new one)."""
    return pg_server.create_database(pg_admin_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path) -> Backend:
    """A fresh, empty database on each backend (the SQLite file's folder does not exist yet)."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "coach.db"
        return Backend("sqlite", str(path), path)
    url = request.getfixturevalue("pg_database_url")
    pg_server.empty_database(url)
    return Backend("postgresql", url)


@pytest.fixture
def store(backend):
    s = Store.open(backend.url)
    yield s
    s.close()


def plain_engine(backend: Backend) -> sa.Engine:
    """An engine without the store's settings, for building and inspecting databases by hand."""
    if backend.sqlite_path is not None:
        backend.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(f"sqlite:///{backend.sqlite_path}")
    return sa.create_engine(backend.url)


def sqlite_integrity(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


def run_child(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python process that imports ``coach`` from this repository."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
    )


# -- records ---------------------------------------------------------------------------------


def rep(index: int, **changes) -> RepetitionScore:
    """A plain, good repetition ``index`` of 8 s starting at 10 s * index."""
    values = dict(
        index=index,
        start_s=10.0 * index,
        end_s=10.0 * index + 8.0,
        duration_s=8.0,
        nominal_s=8.0,
        score=90,
        direction="ok",
        pace="ok",
        speed_ratio=1.0,
        coverage=1.0,
        flags=(),
    )
    values.update(changes)
    return RepetitionScore(**values)


def comparable(r: RepetitionScore) -> tuple:
    """A repetition as a tuple where NaN is None (NaN != NaN would break equality)."""

    def norm(x):
        return None if isinstance(x, float) and math.isnan(x) else x

    segs = tuple(tuple(norm(v) for v in vars(s).values()) for s in r.segments)
    return tuple(norm(v) for k, v in vars(r).items() if k != "segments") + (segs,)


SEGMENTS = (
    SegmentRecord(0, 0, False, 0.5, 3.0, 2.4, 0.97, 0.05),
    SegmentRecord(0, 1, True, 3.2, 6.0, float("nan"), 0.6, 0.21),
)
REPS = (
    rep(0, start_s=0.5, end_s=6.0, duration_s=5.4, nominal_s=5.9, score=62, direction="wrong",
        pace="too_fast", speed_ratio=1.8, coverage=0.8, flags=("wrong_direction", "too_fast"),
        smoothness=-9.5, mean_distance_box=0.12, segments=SEGMENTS),
    rep(1, speed_ratio=float("nan"), coverage=float("nan"), smoothness=float("nan")),
    rep(2, score=75, pace="too_slow", speed_ratio=0.55, flags=("too_slow", "jerky")),
)  # fmt: skip
HINTS = (Hint(1.25, "too_fast", "Slow down: follow the guide dot."), Hint(7.5, "praise", "Lovely."))


# -- opening ----------------------------------------------------------------------------------


def test_default_database_url_is_a_sqlite_file_in_the_data_dir(tmp_path):
    url = default_database_url(tmp_path / "stroke-coach")
    assert url == f"sqlite+pysqlite:///{tmp_path}/stroke-coach/coach.db"


@pytest.mark.parametrize(
    "given, driver",
    [
        ("postgresql://u@db.example/coach", "postgresql+psycopg"),  # libpq-style URL: psycopg 3
        ("postgres://u@db.example/coach", "postgresql+psycopg"),  # Heroku-style alias
        ("postgresql+psycopg://u@db.example/coach", "postgresql+psycopg"),  # explicit driver
        ("sqlite:////var/lib/coach.db", "sqlite+pysqlite"),  # SQLite URL
        ("relative/dir/coach.db", "sqlite+pysqlite"),  # a plain path means SQLite
    ],
)
def test_urls_are_normalised(given, driver):
    assert store_mod._normalise_url(given).drivername == driver


@pytest.mark.parametrize(
    "given",
    [
        "mysql://u@h/coach",  # unsupported database
        "sqlite://",  # memory database: nothing would be kept
        "sqlite:///:memory:",  # same, spelled out
    ],
)
def test_unsupported_urls_are_refused(given):
    with pytest.raises(StoreError, match="database URL"):
        Store.open(given)


def test_opening_creates_the_sqlite_file_in_wal_mode(tmp_path):
    path = tmp_path / "new" / "folder" / "coach.db"
    with Store.open(default_database_url(path.parent)) as s:
        assert s.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_opening_twice_keeps_the_data(backend):
    with Store.open(backend.url) as s:
        sid = s.start_session("Ana", "sun", "sun", "live")
    with Store.open(backend.url) as s:
        assert [r.id for r in s.sessions()] == [sid]


# -- round trips ----------------------------------------------------------------------------


def test_live_session_round_trip(store):
    started = datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    sid = store.start_session("Ana", "i-love-you", "Mia's demo", "live", started,
                              video_path="/videos/a.mp4")  # fmt: skip
    for r in REPS:
        store.add_repetition(sid, r)
    for h in HINTS:
        store.add_hint(sid, h)
    open_row = store.session(sid)
    assert (open_row.status, open_row.summary, open_row.ended_at) == ("open", None, None)
    assert open_row.repetition_count == 3

    summary = {"score": 76, "repetitions": 3, "flags": {"too_fast": 1}}
    store.finish_session(sid, summary, ended_at=started + timedelta(minutes=2))
    row = store.session(sid)
    assert row.profile == "Ana"
    assert (row.stroke_id, row.reference, row.source) == ("i-love-you", "Mia's demo", "live")
    assert row.started_at == datetime(2025, 3, 1, 8, 30, tzinfo=UTC)  # 09:30+01:00 in UTC
    assert row.ended_at == datetime(2025, 3, 1, 8, 32, tzinfo=UTC)
    assert (row.status, row.summary, row.score) == ("closed", summary, 76)
    assert row.video_path == "/videos/a.mp4"
    assert [comparable(r) for r in store.repetitions(sid)] == [comparable(r) for r in REPS]
    assert store.hints(sid) == list(HINTS)


def test_finish_without_summary_computes_it_from_the_repetitions(store):
    sid = store.start_session("Ana", "sun", "sun", "live")
    for r in REPS:
        store.add_repetition(sid, r)
    store.finish_session(sid)
    summary = store.session(sid).summary
    assert summary["score"] == round((62 + 90 + 75) / 3)
    assert summary["repetitions"] == 3
    assert summary["flags"]["too_fast"] == 1 and summary["flags"]["jerky"] == 1
    assert set(summary["flags"]) == set(FLAG_CODES)


def test_save_session_matches_the_score_report(store):
    from coach.render.report import build_report
    from coach.vision.video import VideoInfo

    result = SessionResult(
        stroke_id="sun",
        repetitions=REPS,
        hints=HINTS,
        no_hand_stretches=((20.0, 23.5),),
        frames=900,
        frames_with_hand=800,
        score=76,
        flags={code: 0 for code in FLAG_CODES} | {"too_fast": 1, "no_hand": 1},
    )
    sid = save_session(store, "Ben", result, "upload", "sun")
    row = store.session(sid)
    assert (row.status, row.source, row.repetition_count) == ("closed", "upload", 3)

    stored = store.session_report(sid)
    direct = build_report(result, VideoInfo("clip.mp4", 30.0, 900, 30.0, 640, 480), "clip.mp4")
    for key in ("schema", "stroke", "repetitions", "summary", "hints"):
        assert stored[key] == direct[key], key
    assert stored["tracking"] == {
        "frames": 900,
        "frames_with_hand": 800,
        "detection_rate": 0.8889,
        "no_hand_stretches": [[20.0, 23.5]],
    }
    assert stored["session"]["profile"] == "Ben"
    assert stored["video"] == {"path": None}  # the video is never kept unless asked


def test_save_session_is_all_or_nothing(store):
    bad = SessionResult("sun", (rep(0), rep(0)), (), (), 10, 10, 90, {})  # duplicate index
    with pytest.raises(sa.exc.IntegrityError):
        save_session(store, "Ben", bad, "upload", "sun")
    assert store.sessions() == []
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM repetitions")).scalar() == 0


# -- profiles -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        ("Ana", "Ana"),  # plain name
        ("  Ana  ", "Ana"),  # surrounding spaces are dropped
        ("Zoë Núñez", "Zoë Núñez"),  # letters of any script, a space inside
        ("Ben-2_b", "Ben-2_b"),  # digits, '-' and '_'
        ("Zoe\u0308", "Zoë"),  # decomposed accent is normalised (NFC)
        ("x" * 40, "x" * 40),  # longest allowed
        ("李小龍", "李小龍"),  # non-Latin letters
    ],
)
def test_valid_profile_names(given, expected):
    assert validate_profile_name(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",  # empty
        "   ",  # only spaces
        "x" * 41,  # one too long
        "Ana!",  # punctuation
        "../etc/passwd",  # path tricks
        "Ana;DROP TABLE profiles",  # SQL-looking text
        "An\na",  # newline inside
        "Ana\x00",  # NUL
        "Ana 😀",  # emoji are not letters
        "½",  # a number, but not a decimal digit
        42,  # not a string
        None,  # nothing
    ],
)
def test_invalid_profile_names(given, store):
    with pytest.raises(ValueError, match="profile name"):
        validate_profile_name(given)
    with pytest.raises(ValueError, match="profile name"):
        store.profile(given)


def test_profiles_are_unique_ignoring_case(store):
    first = store.profile("Ana")
    assert store.profile("ANA") == first
    assert store.profile(" ana ") == first
    assert store.profile("Ben") != first
    assert store.profiles() == ["Ana", "Ben"]


# -- refused writes change nothing -----------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda s, sid: s.start_session("Ana", "sun", "sun", "camera"),  # unknown source
        lambda s, sid: s.start_session("Ana", "Sun!", "sun", "live"),  # bad stroke id
        lambda s, sid: s.start_session("Ana", "sun", "", "live"),  # empty reference
        lambda s, sid: s.start_session("Ana", "sun", "sun", "live", datetime(2025, 1, 1)),  # naive
        lambda s, sid: s.add_repetition(sid, rep(5, score=101)),  # score out of 0..100
        lambda s, sid: s.add_repetition(sid, rep(5, flags=("bogus",))),  # unknown flag code
        lambda s, sid: s.add_repetition(sid, rep(5, direction="sideways")),  # bad direction
        lambda s, sid: s.add_repetition(sid, rep(5, start_s=9.0, end_s=2.0)),  # ends first
        lambda s, sid: s.add_repetition(sid, rep(5, start_s=float("nan"))),  # unknown start
        lambda s, sid: s.add_repetition(sid, "rep"),  # not a RepetitionScore
        lambda s, sid: s.add_hint(sid, Hint(float("inf"), "too_fast", "x")),  # no time
        lambda s, sid: s.add_hint(sid, Hint(1.0, "Too Fast!", "x")),  # bad hint code
        lambda s, sid: s.finish_session(sid, {"score": float("nan")}),  # NaN is not JSON
        lambda s, sid: s.finish_session(sid, {"when": datetime.now(UTC)}),  # not JSON at all
    ],
)
def test_bad_arguments_are_refused(store, call):
    sid = store.start_session("Ana", "sun", "sun", "live")
    store.add_repetition(sid, rep(0))

    def state():
        return store.sessions(), [comparable(r) for r in store.repetitions(sid)], store.hints(sid)

    before = state()
    with pytest.raises(ValueError):
        call(store, sid)
    assert state() == before


def test_state_errors(store):
    sid = store.start_session("Ana", "sun", "sun", "live")
    store.add_repetition(sid, rep(0))
    with pytest.raises(StoreError, match="already has a repetition with index 0"):
        store.add_repetition(sid, rep(0))
    with pytest.raises(StoreError, match="no session with id 999"):
        store.add_repetition(999, rep(1))
    store.finish_session(sid)
    with pytest.raises(StoreError, match="is closed"):
        store.add_repetition(sid, rep(1))
    with pytest.raises(StoreError, match="is closed"):
        store.finish_session(sid)
    with pytest.raises(StoreError, match="no session with id 999"):
        store.session(999)
    assert [r.index for r in store.repetitions(sid)] == [0]


# -- reading ----------------------------------------------------------------------------------


def at(day: int) -> datetime:
    return datetime(2025, 1, day, 12, 0, tzinfo=UTC)


def test_sessions_filters_and_order(store):
    a1 = store.start_session("Ana", "sun", "sun", "live", at(1))
    a2 = store.start_session("Ana", "i-love-you", "i-love-you", "upload", at(2))
    b3 = store.start_session("Ben", "sun", "sun", "live", at(3))
    a4 = store.start_session("Ana", "sun", "Mia's sun", "live", at(4))
    store.finish_session(a1)
    assert [r.id for r in store.sessions()] == [a4, b3, a2, a1]  # newest first
    assert [r.id for r in store.sessions(profile="ana")] == [a4, a2, a1]  # any case
    assert [r.id for r in store.sessions(profile="Ana", stroke="sun")] == [a4, a1]
    assert [r.id for r in store.sessions(limit=2)] == [a4, b3]
    assert [r.id for r in store.sessions(status="closed")] == [a1]
    assert store.sessions(profile="Nobody") == []


def test_progress_points(store):
    # Session 1 (closed): scores 80 and 90, speed ratios 1.0 and 1.2, one jerky repetition.
    s1 = store.start_session("Ana", "sun", "sun", "live", at(1))
    store.add_repetition(s1, rep(0, score=80, speed_ratio=1.0, flags=("jerky",)))
    store.add_repetition(s1, rep(1, score=90, speed_ratio=1.2))
    store.finish_session(s1)
    # Session 2 (left open by a crash): one fast repetition; an unknown speed is skipped.
    s2 = store.start_session("Ana", "sun", "sun", "live", at(2))
    store.add_repetition(s2, rep(0, score=60, pace="too_fast", speed_ratio=0.5,
                                 flags=("too_fast",)))  # fmt: skip
    store.add_repetition(s2, rep(1, score=70, speed_ratio=float("nan")))
    # Not in the chart: another stroke, another profile, a session without repetitions.
    store.add_repetition(store.start_session("Ana", "water-wheel", "water-wheel", "live"), rep(0))
    store.add_repetition(store.start_session("Ben", "sun", "sun", "live"), rep(0))
    store.start_session("Ana", "sun", "sun", "live", at(3))

    points = store.progress("Ana", "sun")
    assert [p.session_id for p in points] == [s1, s2]  # oldest first
    p1, p2 = points
    assert (p1.repetitions, p1.mean_score, p1.status) == (2, 85.0, "closed")
    assert p1.mean_speed_ratio == pytest.approx(1.1)
    assert p1.flags["jerky"] == 1 and sum(p1.flags.values()) == 1
    assert p1.pace == {"ok": 2, "too_fast": 0, "too_slow": 0}
    assert (p2.repetitions, p2.mean_score, p2.status) == (2, 65.0, "open")
    assert p2.mean_speed_ratio == pytest.approx(0.5)
    assert p2.pace == {"ok": 1, "too_fast": 1, "too_slow": 0}
    assert p1.started_at == at(1)
    assert store.progress("Nobody", "sun") == []
    with_empty = store.progress("Ana", "sun", include_empty=True)
    assert len(with_empty) == 3 and math.isnan(with_empty[-1].mean_score)


def test_delete_session(store):
    keep = store.start_session("Ana", "sun", "sun", "live")
    gone = store.start_session("Ana", "sun", "sun", "live")
    for sid in (keep, gone):
        store.add_repetition(sid, rep(0))
        store.add_hint(sid, HINTS[0])
    assert store.delete_session(gone) is True
    assert store.delete_session(gone) is False
    assert [r.id for r in store.sessions()] == [keep]
    assert store.repetitions(gone) == [] and store.hints(gone) == []
    assert len(store.repetitions(keep)) == 1


# -- migrations -----------------------------------------------------------------------------


def build_v1_database(backend: Backend) -> None:
    """A version-1 database with one closed session, written without the store."""
    engine = plain_engine(backend)
    with engine.begin() as conn:
        migrations.upgrade(conn, 0, 1)
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO profiles (name, name_key, created_at) "
            "VALUES ('Old', 'old', '2024-01-02 03:04:05.000000')",
            "INSERT INTO sessions (profile_id, stroke_id, reference, source, started_at, "
            "ended_at, summary, status) VALUES (1, 'sun', 'sun', 'upload', "
            "'2024-01-02 03:04:05.000000', '2024-01-02 03:05:00.000000', "
            '\'{"score": 70, "repetitions": 1, "flags": {"jerky": 1}}\', \'closed\')',
            "INSERT INTO repetitions (session_id, rep_index, start_s, end_s, duration_s, "
            "nominal_s, score, direction, pace, speed_ratio, coverage, flags) "
            "VALUES (1, 0, 0.5, 6.5, 6.0, 5.9, 70, 'ok', 'ok', 1.02, 0.95, '[\"jerky\"]')",
        ):
            conn.exec_driver_sql(sql)
    engine.dispose()


def test_old_database_is_upgraded_and_keeps_its_data(backend):
    build_v1_database(backend)
    with Store.open(backend.url) as s:
        assert s.schema_version() == SCHEMA_VERSION
        (row,) = s.sessions()
        assert (row.profile, row.status, row.score) == ("Old", "closed", 70)
        assert row.started_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        (old,) = s.repetitions(row.id)
        assert (old.score, old.flags, old.speed_ratio) == (70, ("jerky",), 1.02)
        assert math.isnan(old.smoothness) and old.segments == ()  # columns added by version 2
        assert s.hints(row.id) == []
        # The upgraded database takes everything the current code writes.
        sid = s.start_session("Old", "sun", "sun", "live")
        s.add_repetition(sid, REPS[0])
        s.add_hint(sid, HINTS[0])
        assert comparable(s.repetitions(sid)[0]) == comparable(REPS[0])


def test_failed_upgrade_is_rolled_back(backend, monkeypatch):
    build_v1_database(backend)
    Store.open(backend.url).close()  # now at the current version

    def broken_step(conn):
        migrations._add_column(conn, "sessions", sa.Column("doomed", sa.Integer))
        raise RuntimeError("step failed half way")

    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken_step))
    monkeypatch.setattr(migrations, "LATEST_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="rolled back.*step failed half way"):
        Store.open(backend.url)
    engine = plain_engine(backend)
    with engine.connect() as conn:
        assert migrations.read_version(conn) == SCHEMA_VERSION
        columns = {c["name"] for c in sa.inspect(conn).get_columns("sessions")}
    engine.dispose()
    assert "doomed" not in columns


def test_newer_database_is_refused_and_left_alone(backend):
    with Store.open(backend.url) as s:
        sid = s.start_session("Ana", "sun", "sun", "live")
        s.add_repetition(sid, rep(0))
    engine = plain_engine(backend)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")
        conn.exec_driver_sql("CREATE TABLE from_the_future (x INTEGER)")

    def snapshot():
        with engine.connect() as conn:
            tables = sorted(sa.inspect(conn).get_table_names())
            rows = [conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").all() for t in tables]
        return tables, rows

    before = snapshot()
    engine.dispose()
    file_hash = backend.sqlite_path and hashlib.sha256(backend.sqlite_path.read_bytes()).digest()

    with pytest.raises(StoreVersionError, match=f"version {SCHEMA_VERSION + 1}, newer") as err:
        Store.open(backend.url)
    assert "Nothing was changed" in str(err.value)

    if backend.sqlite_path is not None:
        assert hashlib.sha256(backend.sqlite_path.read_bytes()).digest() == file_hash
    assert snapshot() == before
    engine.dispose()


def test_foreign_database_is_refused(backend):
    engine = plain_engine(backend)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE sessions (id INTEGER PRIMARY KEY, other TEXT)")
    with pytest.raises(StoreError, match="not a Stroke Coach database"):
        Store.open(backend.url)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == ["sessions"]
    engine.dispose()


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "coach.db"
    path.write_bytes(b"these are not the tables you are looking for" * 100)
    with pytest.raises(StoreError, match="cannot open the session store"):
        Store.open(path)
    assert path.read_bytes().startswith(b"these are not")


# -- crashes and concurrency ------------------------------------------------------------------

KILLED_WRITER = r"""
import os, signal, sys
import sqlalchemy as sa
from coach.storage.store import Store
from coach.core.types import RepetitionScore

def rep(i):
    return RepetitionScore(index=i, start_s=10.0 * i, end_s=10.0 * i + 8, duration_s=8.0,
                           nominal_s=8.0, score=80 + i, direction="ok", pace="ok",
                           speed_ratio=1.0, coverage=1.0)

store = Store.open(sys.argv[1])
sid = store.start_session("Kim", "sun", "sun", "live")
for i in range(3):
    store.add_repetition(sid, rep(i))

def die(conn):
    # The 4th repetition is inserted, its transaction not yet committed: die right here.
    n = conn.exec_driver_sql(f"SELECT count(*) FROM repetitions WHERE session_id = {sid}")
    print(f"{n.scalar()} repetitions inside the open transaction", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

sa.event.listen(store.engine, "commit", die)
store.add_repetition(sid, rep(3))
print("still alive", flush=True)
"""


def test_killed_writer_loses_only_the_repetition_in_progress(backend):
    proc = run_child(KILLED_WRITER, backend.url)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    assert "4 repetitions inside the open transaction" in proc.stdout, proc.stderr
    assert "still alive" not in proc.stdout

    if backend.sqlite_path is not None:
        assert sqlite_integrity(backend.sqlite_path) == [("ok",)]
    with Store.open(backend.url) as s:
        (row,) = s.sessions(profile="Kim")
        assert row.status == "open" and row.repetition_count == 3
        assert [(r.index, r.score) for r in s.repetitions(row.id)] == [(0, 80), (1, 81), (2, 82)]
        # The interrupted session can be closed afterwards; its summary comes from what was kept.
        s.finish_session(row.id)
        assert s.session(row.id).summary["repetitions"] == 3
    if backend.sqlite_path is not None:
        assert sqlite_integrity(backend.sqlite_path) == [("ok",)]


CONCURRENT_WRITER = r"""
import sys, time
from pathlib import Path
from coach.storage.store import Store
from coach.core.types import RepetitionScore

url, name, n, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = Store.open(url)  # both processes may create / upgrade the database at the same time
sid = store.start_session(name, "sun", "sun", "live")
(gate / name).touch()
deadline = time.monotonic() + 60
while len(list(gate.iterdir())) < 2 and time.monotonic() < deadline:
    time.sleep(0.005)
for i in range(n):
    store.add_repetition(sid, RepetitionScore(i, i, i + 0.5, 0.5, 0.5, i % 101, "ok", "ok",
                                              1.0, 1.0))
store.finish_session(sid)
print(sid)
"""


def test_two_processes_write_at_the_same_time(backend, tmp_path):
    n = 40
    gate = tmp_path / "gate"
    gate.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_WRITER, backend.url, name, str(n), str(gate)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name in ("Writer-A", "Writer-B")
    ]
    outputs = [p.communicate(timeout=CHILD_TIMEOUT_S) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    with Store.open(backend.url) as s:
        rows = s.sessions()
        assert sorted(r.profile for r in rows) == ["Writer-A", "Writer-B"]
        for r in rows:
            assert r.status == "closed" and r.repetition_count == n
            assert [x.index for x in s.repetitions(r.id)] == list(range(n))
    if backend.sqlite_path is not None:
        assert sqlite_integrity(backend.sqlite_path) == [("ok",)]


def test_threads_sharing_one_store(store):
    n_threads, n_reps = 4, 15
    barrier = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            sid = store.start_session(f"Thread {k}", "sun", "sun", "live")
            barrier.wait(timeout=30)
            for i in range(n_reps):
                store.add_repetition(sid, rep(i, score=k))
            store.finish_session(sid)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=CHILD_TIMEOUT_S)
    assert errors == []
    rows = store.sessions()
    assert len(rows) == n_threads
    for r in rows:
        k = int(r.profile.split()[-1])
        assert r.summary == {"score": k, "repetitions": n_reps,
                             "flags": {code: 0 for code in FLAG_CODES}}  # fmt: skip
