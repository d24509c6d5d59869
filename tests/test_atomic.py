"""The one atomic file writer (coach/storage/atomic.py)."""

from __future__ import annotations

import json
import stat

import pytest

from coach.storage import atomic
from coach.storage.atomic import atomic_path, write_json_atomic, write_text_atomic


def test_text_replaces_and_leaves_no_temporary_file(tmp_path) -> None:
    dest = tmp_path / "sub" / "a.txt"  # the folder is made
    write_text_atomic("one", dest)
    write_text_atomic("two", dest)
    assert dest.read_text(encoding="utf-8") == "two"
    assert [p.name for p in dest.parent.iterdir()] == ["a.txt"]


def test_without_overwrite_an_existing_file_is_kept(tmp_path) -> None:
    dest = tmp_path / "a.txt"
    dest.write_text("old", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_text_atomic("new", dest, overwrite=False)
    assert dest.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failure_inside_the_block_leaves_the_destination(tmp_path) -> None:
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(dest, suffix=".part.mp4") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".part.mp4")
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder died")
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_a_failing_rename_leaves_the_destination(tmp_path, monkeypatch) -> None:
    dest = tmp_path / "r.json"
    dest.write_text("{}", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(dest, {"a": 1})
    assert dest.read_text(encoding="utf-8") == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_json_is_shared_by_default_and_private_on_request(tmp_path) -> None:
    shared = write_json_atomic(tmp_path / "report.json", {"a": [1, 2]})
    private = write_json_atomic(tmp_path / "settings.json", {"b": 1}, mode=None, newline=False)
    assert json.loads(shared.read_text(encoding="utf-8")) == {"a": [1, 2]}
    assert shared.read_text(encoding="utf-8").endswith("]\n}\n")
    assert not private.read_text(encoding="utf-8").endswith("\n")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
