"""The server stays up and clean (issue 12, point 5): upload limits, temporary copies of
uploads removed even after a crash, a read-only or locked store answers at once."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import load_stroke
from coach.services.offline import (
    UploadLimits,
    UploadRefused,
    clean_upload_leftovers,
    score_file,
    temporary_upload,
)
from coach.storage.store import Store, StoreError
from coach.vision.video import VideoWriter

REPO = Path(__file__).resolve().parents[1]


def clip(path: Path, frames: int, size=(64, 48), fps=10) -> Path:
    with VideoWriter(path, fps, size) as writer:
        for _ in range(frames):
            writer.write(np.zeros((size[1], size[0], 3), dtype=np.uint8))
    return path


# -- upload limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, UploadLimits()),  # defaults
        ({"COACH_UPLOAD_MAX_MB": "50"}, UploadLimits(max_mb=50.0)),  # one changed
        ({"COACH_UPLOAD_MAX_SIDE_PX": "640", "COACH_UPLOAD_MAX_PIXELS": "307200"},
         UploadLimits(max_side_px=640, max_pixels=640 * 480)),  # frame size
        ({"COACH_UPLOAD_MAX_DURATION_S": " "}, UploadLimits()),  # blank: default
    ],
)  # fmt: skip
def test_upload_limits_come_from_one_place(env, expected):
    assert UploadLimits.from_env(env) == expected


@pytest.mark.parametrize("value", ["0", "-3", "lots", "nan", "inf"])
def test_bad_upload_limit_settings_are_refused(value):
    with pytest.raises(ValueError, match="COACH_UPLOAD_MAX_MB: expected a positive number"):
        UploadLimits.from_env({"COACH_UPLOAD_MAX_MB": value})


def test_a_large_upload_is_refused_before_it_is_written():
    limits = UploadLimits(max_mb=1)
    limits.check_size(1_000_000)  # exactly the limit is fine
    with pytest.raises(UploadRefused, match="2 MB; videos of up to 1 MB"):
        limits.check_size(2_000_000)


@pytest.mark.parametrize(
    "size, frames, limits, expected",
    [
        ((640, 32), 3, UploadLimits(max_side_px=320), "640x32 pixels"),  # too wide
        ((128, 128), 3, UploadLimits(max_pixels=100 * 100), "128x128 pixels"),  # too many px
        ((64, 48), 40, UploadLimits(max_duration_s=2.0), "minutes long"),  # 4 s at 10 fps
    ],
)
def test_uploads_over_the_frame_or_duration_limit_are_refused(
    size, frames, limits, expected, tmp_path
):
    video = clip(tmp_path / "v.mp4", frames, size)

    def never(_):
        raise AssertionError("no frame should be processed")

    with pytest.raises(UploadRefused, match=expected):
        score_file(video, load_stroke("sun"), lambda s: BodyFrame.from_box((0.3, 0.3, 0.7, 0.7)),
                   limits=limits, landmarker=None, on_progress=never)  # fmt: skip


# -- temporary copies of uploads ----------------------------------------------------------------


def test_the_temporary_copy_is_private_and_removed(tmp_path):
    folder = tmp_path / "uploads-tmp"
    with temporary_upload(folder, b"video bytes", ".MP4") as path:
        assert path.parent == folder and path.read_bytes() == b"video bytes"
        assert path.suffix == ".mp4" and path.name.startswith(f"{os.getpid()}-")
        assert path.stat().st_mode & 0o777 == 0o600
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("suffix", ["", ".mp4|x", "/../../x", ".\u202emp4", ".verylongsuffix"])
def test_an_uploaded_file_name_never_chooses_where_the_copy_goes(suffix, tmp_path):
    folder = tmp_path / "uploads-tmp"
    with temporary_upload(folder, b"x", suffix) as path:
        assert path.parent == folder and path.suffix == ".mp4"


def test_a_killed_servers_copies_are_removed_at_the_next_start(tmp_path):
    folder = tmp_path / "uploads-tmp"
    script = textwrap.dedent(
        f"""
        import os
        from coach.services.offline import temporary_upload
        with temporary_upload({str(folder)!r}, b"a parent's video", ".mp4") as path:
            print(path, flush=True)
            os._exit(9)  # killed while scoring: no clean-up runs
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    left = Path(done.stdout.strip())
    assert done.returncode == 9 and left.exists()  # the crash left the copy behind
    with temporary_upload(folder, b"in use", ".mp4") as ours:  # a live upload of this process
        removed = clean_upload_leftovers(folder)
        assert removed == [left] and not left.exists()
        assert ours.exists()  # a running process's copy is kept


# -- a read-only or locked store ----------------------------------------------------------------


def test_a_locked_store_answers_at_once_with_one_line(tmp_path):
    db = tmp_path / "coach.db"
    Store.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Store.open(db, busy_timeout_s=0.2) as store, pytest.raises(StoreError) as exc:
            store.profile("Anna")  # a write: was a raw OperationalError (a page traceback)
        message = str(exc.value)
        assert "locked" in message and "\n" not in message
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to open the store as another user")  # fmt: skip
def test_a_read_only_store_says_so_at_once(tmp_path):
    # issue 12: a store the server cannot write stalled every interaction for 15 s
    folder = Path(tempfile.mkdtemp(prefix="coach-ro-"))  # reachable by another user
    Store.open(folder / "coach.db").close()
    os.chmod(folder, 0o755)
    os.chmod(folder / "coach.db", 0o644)
    script = textwrap.dedent(
        f"""
        from coach.storage.store import Store, StoreError
        try:
            Store.open({str(folder / "coach.db")!r})
        except StoreError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         sys.executable, "-c", script],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    shutil.rmtree(folder)
    assert "read-only" in done.stdout and "sessions cannot be saved" in done.stdout, (
        done.stdout + done.stderr
    )
