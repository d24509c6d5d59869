"""The CLI checks before it works (issue 12, point 4).

Usage errors (bad arguments, an output path that cannot be written) exit 2 before any
video is opened; every error is one line without a traceback or a secret; exports
never overwrite without ``--overwrite``; read-only commands never change a database
and refuse files that are not a Stroke Coach store untouched; input paths are files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from coach.cli import main
from coach.core.pipeline import SessionResult
from coach.core.strokes import load_stroke
from coach.core.types import FLAG_CODES, RepetitionScore
from coach.references import format as fmt
from coach.references import library
from coach.storage.store import Store
from coach.vision.video import VideoWriter, read_info


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("COACH_DATA_DIR", str(d))
    monkeypatch.delenv("COACH_DATABASE_URL", raising=False)
    return d


def run(argv, capsys) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("coach:")]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


def clip(path: Path, frames: int) -> Path:
    with VideoWriter(path, 10, (64, 48)) as writer:
        for i in range(frames):
            writer.write(np.full((48, 64, 3), 20 * i % 255, dtype=np.uint8))
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- score: usage first -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_json, expected",
    [
        (lambda tmp: tmp, "is a folder"),  # --json to an existing folder
        (lambda tmp: tmp / "file.txt" / "report.json", "not a folder"),  # parent is a file
        (lambda tmp: Path("/proc/self/report.json"), "cannot write"),  # unwritable place
    ],
)
def test_score_json_path_is_checked_before_the_video_is_read(
    make_json, expected, tmp_path, data_dir, capsys
):
    (tmp_path / "file.txt").write_text("x")
    missing_video = tmp_path / "missing.mp4"  # would be exit 1 if it were opened first
    status, _, err = run(
        ["score", missing_video, "--stroke", "sun", "--json", make_json(tmp_path)], capsys
    )
    assert status == 2
    assert expected in one_line_error(err)


def test_bad_tummy_is_a_usage_error_even_with_an_unreadable_video(tmp_path, data_dir, capsys):
    status, _, err = run(
        ["score", tmp_path / "missing.mp4", "--stroke", "sun", "--tummy", "1,2"], capsys
    )
    assert status == 2
    assert "tummy" in one_line_error(err).lower()


def test_a_file_named_like_an_ffmpeg_protocol_is_read_as_a_file(tmp_path, monkeypatch):
    # issue 12: "concat:a.mp4|a.mp4" went through ffmpeg's concat protocol
    monkeypatch.chdir(tmp_path)
    clip(tmp_path / "a.mp4", 3)
    clip(tmp_path / "concat:a.mp4|a.mp4", 7)
    assert read_info("concat:a.mp4|a.mp4").frames == 7
    assert read_info(Path("concat:a.mp4|a.mp4")).frames == 7


# -- sessions -----------------------------------------------------------------------------------


def session_result() -> SessionResult:
    rep = RepetitionScore(0, 1.0, 13.0, 12.0, 11.2, 87, "ok", "ok", 0.93, 0.95, (),
                          mean_distance_box=0.05)  # fmt: skip
    flags = {code: 0 for code in FLAG_CODES}
    return SessionResult("anna-s-sun", (rep,), (), (), 100, 100, 87, flags)


@pytest.fixture()
def saved(data_dir) -> tuple[Path, int]:
    """A store with one session scored against a saved reference."""
    sun = load_stroke("sun")
    ref = fmt.Reference(dataclasses.replace(sun, id="anna-s-sun", name="Anna's sun", source=""),
                      "sun", "2025-05-01T10:00:00Z")  # fmt: skip
    library.save_reference(ref, data_dir / "references")
    db = data_dir / "coach.db"
    with Store.open(db) as store:
        sid = store.save_session("Anna", session_result(), "upload", "Anna's sun",
                                 started_at=datetime(2025, 5, 1, 10, 0, tzinfo=UTC))  # fmt: skip
    return db, sid


def test_sessions_list_with_a_bad_profile_is_one_line(saved, capsys):
    status, _, err = run(["sessions", "list", "--profile", "<b>x"], capsys)
    assert status == 2
    assert "profile" in one_line_error(err)


def test_a_database_password_is_never_printed(data_dir, capsys):
    url = "postgresql://coach:s3cr3t-pw@127.0.0.1:1/coach"
    status, _, err = run(["sessions", "list", "--database", url], capsys)
    assert status == 1
    assert "s3cr3t-pw" not in err
    one_line_error(err)


def test_sessions_export_of_a_session_against_a_saved_reference(saved, tmp_path, capsys):
    db, sid = saved
    dest = tmp_path / "report.html"
    status, out, err = run(["sessions", "export", sid, dest], capsys)
    assert status == 0, err
    assert "Anna&#x27;s sun" in dest.read_text() or "Anna's sun" in dest.read_text()
    before = digest(dest)
    status, _, err = run(["sessions", "export", sid, dest], capsys)
    assert status == 2 and "--overwrite" in one_line_error(err)
    assert digest(dest) == before
    status, _, err = run(["sessions", "export", sid, dest, "--overwrite"], capsys)
    assert status == 0, err


def test_read_only_commands_never_change_the_database(saved, tmp_path, capsys):
    db, sid = saved
    folder = db.parent
    before = {p.name: digest(p) for p in folder.iterdir() if p.is_file()}
    run(["sessions", "list"], capsys)
    run(["sessions", "export", sid, tmp_path / "r.html"], capsys)
    after = {p.name: digest(p) for p in folder.iterdir() if p.is_file()}
    assert after == before


def test_another_programs_database_is_refused_untouched(tmp_path, data_dir, capsys):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = digest(other)
    for argv in (["sessions", "list"], ["sessions", "export", "1", tmp_path / "x.html"]):
        status, _, err = run([*argv, "--database", other], capsys)
        assert status == 1
        assert "not a Stroke Coach database" in one_line_error(err)
    assert digest(other) == before
    assert sorted(os.listdir(tmp_path)) == ["other.db"]  # no -wal, -shm, x.html
    conn = sqlite3.connect(other)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_a_missing_database_is_not_created_by_a_read_only_command(tmp_path, data_dir, capsys):
    status, _, err = run(["sessions", "list", "--database", tmp_path / "none.db"], capsys)
    assert status == 1
    one_line_error(err)
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(
    "name",
    ["a\x1b[2Jb.mp4", "two\nlines.mp4", "rtl\u202egnp.mp4", "sep\u2028x.mp4"],
)
def test_error_lines_cannot_carry_terminal_controls(name, tmp_path, data_dir, capsys):
    status, _, err = run(["score", tmp_path / name, "--stroke", "sun"], capsys)
    assert status == 1
    line = one_line_error(err)
    assert all(ch.isprintable() for ch in line), repr(line)


def test_sessions_list_reads_a_version_2_store_without_upgrading_it(tmp_path, data_dir, capsys):
    # a store the app wrote before accounts existed: listed as it is, not changed
    import sqlalchemy as sa

    from coach.storage import migrations

    db = tmp_path / "v2.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        migrations.upgrade(conn, 0, 2)
        conn.exec_driver_sql(
            "INSERT INTO profiles (name, name_key, created_at) VALUES ('Old', 'old', "
            "'2024-01-02 03:04:05.000000')"
        )
        conn.exec_driver_sql(
            "INSERT INTO sessions (profile_id, stroke_id, reference, source, started_at, status)"
            " VALUES (1, 'sun', 'sun', 'upload', '2024-01-02 03:04:05.000000', 'closed')"
        )
    engine.dispose()
    before = digest(db)
    status, out, err = run(["sessions", "list", "--database", db], capsys)
    assert status == 0, err
    assert "\tOld\tsun\t" in out
    assert digest(db) == before and sorted(os.listdir(tmp_path)) == ["v2.db"]
