"""Versioned schema migrations of the session store (``coach.storage.store``).

``MIGRATIONS[k]`` takes a database at schema version ``k`` to version ``k + 1``; the
version a database is at is the single row of the ``schema_version`` table (a database
without tables is version 0). Each step is frozen history: it spells out its own tables
and columns and never refers to ``coach.storage.store``'s current table objects, so an old
database upgrades the same way whatever the current code looks like. To change the
schema, append a step; never edit one that has shipped.

Every step runs inside the caller's transaction (SQLite and PostgreSQL both have
transactional DDL), so an upgrade either completes or leaves the database as it was.

History:

1. profiles, sessions, repetitions, schema_version.
2. hints table; per-repetition smoothness, mean distance and segments; per-session
   detail (frames, detection rate, no-hand stretches) for the instructor report.
3. accounts (sign-in for a shared server), ``profiles.account_id`` (NULL: the one
   implicit local account, so every existing profile stays the local user's) and
   ``session_shares`` (a trainee's session shown to an instructor account).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

VERSION_TABLE = "schema_version"
#: Tables that only a Stroke Coach store has; used to tell "empty" from "someone else's".
OWN_TABLES = ("profiles", "sessions", "repetitions", "hints", "accounts", "session_shares")


def _add_column(conn: Connection, table: str, column: sa.Column) -> None:
    """``ALTER TABLE table ADD COLUMN``, with the type spelled for this dialect (nullable)."""
    preparer = conn.dialect.identifier_preparer
    type_sql = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(
        f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(column.name)} {type_sql}"
    )


def _v1(conn: Connection) -> None:
    """Profiles, sessions with their summary, repetitions with their verdicts."""
    md = sa.MetaData()
    sa.Table(VERSION_TABLE, md, sa.Column("version", sa.Integer, nullable=False))
    sa.Table(
        "profiles",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("name_key", sa.String(40), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "sessions",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "profile_id",
            sa.Integer,
            sa.ForeignKey("profiles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("stroke_id", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime, nullable=True),
        sa.Column("video_path", sa.Text, nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.CheckConstraint("source IN ('live', 'upload')", name="ck_sessions_source"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_sessions_status"),
        sa.Index("ix_sessions_profile_stroke_started", "profile_id", "stroke_id", "started_at"),
    )
    sa.Table(
        "repetitions",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "session_id",
            sa.Integer,
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rep_index", sa.Integer, nullable=False),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("end_s", sa.Float, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=True),
        sa.Column("nominal_s", sa.Float, nullable=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("pace", sa.String(10), nullable=False),
        sa.Column("speed_ratio", sa.Float, nullable=True),
        sa.Column("coverage", sa.Float, nullable=True),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.UniqueConstraint("session_id", "rep_index", name="uq_repetitions_session_index"),
    )
    md.create_all(conn, checkfirst=False)


def _v2(conn: Connection) -> None:
    """Hints, per-repetition detail and per-session detail for the instructor report."""
    md = sa.MetaData()
    sa.Table("sessions", md, sa.Column("id", sa.Integer, primary_key=True))
    hints = sa.Table(
        "hints",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "session_id",
            sa.Integer,
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("t_s", sa.Float, nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Index("ix_hints_session", "session_id"),
    )
    hints.create(conn, checkfirst=False)
    _add_column(conn, "repetitions", sa.Column("smoothness", sa.Float))
    _add_column(conn, "repetitions", sa.Column("mean_distance_box", sa.Float))
    _add_column(conn, "repetitions", sa.Column("segments", sa.JSON))
    _add_column(conn, "sessions", sa.Column("detail", sa.JSON))


def _v3(conn: Connection) -> None:
    """Accounts, profiles per account, sessions shared with an instructor account."""
    md = sa.MetaData()
    sa.Table("sessions", md, sa.Column("id", sa.Integer, primary_key=True))
    accounts = sa.Table(
        "accounts",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("name_key", sa.String(40), nullable=False, unique=True),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("failed_sign_ins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime, nullable=True),
        sa.CheckConstraint("role IN ('trainee', 'instructor')", name="ck_accounts_role"),
    )
    shares = sa.Table(
        "session_shares",
        md,
        sa.Column(
            "session_id",
            sa.Integer,
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("shared_at", sa.DateTime, nullable=False),
        sa.Index("ix_session_shares_account", "account_id"),
    )
    accounts.create(conn, checkfirst=False)
    shares.create(conn, checkfirst=False)
    _add_column(conn, "profiles", sa.Column("account_id", sa.Integer))
    conn.exec_driver_sql("CREATE INDEX ix_profiles_account ON profiles (account_id)")
    if conn.dialect.name == "postgresql":  # account profiles' keys carry an "<id>:" prefix
        conn.exec_driver_sql("ALTER TABLE profiles ALTER COLUMN name_key TYPE VARCHAR(80)")


#: ``MIGRATIONS[k]`` upgrades version ``k`` to ``k + 1``.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2, _v3)
LATEST_VERSION = len(MIGRATIONS)


def read_version(conn: Connection) -> int:
    """The database's schema version: 0 for an empty database.

    Raises ``LookupError`` when the database holds Stroke Coach tables but no
    version row (not something this code made), and ``ValueError`` when the
    version row is malformed.
    """
    names = set(sa.inspect(conn).get_table_names())
    if VERSION_TABLE not in names:
        found = sorted(names.intersection(OWN_TABLES))
        if found:
            raise LookupError(f"tables {found} exist but there is no {VERSION_TABLE} table")
        return 0
    rows = conn.exec_driver_sql(f"SELECT version FROM {VERSION_TABLE}").all()
    if len(rows) != 1 or not isinstance(rows[0][0], int) or rows[0][0] < 1:
        raise ValueError(f"{VERSION_TABLE} should hold one positive integer, found {rows!r}")
    return int(rows[0][0])


def upgrade(conn: Connection, from_version: int, to_version: int = LATEST_VERSION) -> None:
    """Apply the steps ``from_version -> to_version`` in order and record the new version."""
    if not 0 <= from_version <= to_version <= LATEST_VERSION:
        raise ValueError(
            f"cannot upgrade from version {from_version} to {to_version} "
            f"(this code knows versions 0..{LATEST_VERSION})"
        )
    for step in MIGRATIONS[from_version:to_version]:
        step(conn)
    if to_version == from_version:
        return
    if from_version == 0:
        conn.exec_driver_sql(f"INSERT INTO {VERSION_TABLE} (version) VALUES ({int(to_version)})")
    else:
        conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version = {int(to_version)}")
