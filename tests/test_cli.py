"""Command line: the contract's commands, exit statuses and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coach.cli import main
from coach.vision.video import VideoWriter

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m coach`` for real: exit status, stdout and stderr as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


def test_strokes_list_prints_id_and_name_per_line(capsys):
    assert main(["strokes", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    ids = [line.split("\t")[0] for line in lines]
    assert ids == ["i-love-you", "sun", "sun-moon", "water-wheel"]
    assert all("\t" in line for line in lines)


@pytest.mark.model
def test_models_fetch_prints_the_full_model_path(capsys, model_path, lite_model_path):
    """Both models present: nothing is fetched; stdout is the (full) model path alone, as
    the contract says; stderr names the lite model of the live page."""
    assert main(["models", "fetch"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{model_path}\n"
    assert str(lite_model_path) in captured.err


def test_models_fetch_failure_is_one_line(capsys, monkeypatch, tmp_path):
    from coach.vision import models

    def no_network(*args):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(models, "default_models_dir", lambda: tmp_path)
    monkeypatch.setattr(models, "download_official", no_network)
    monkeypatch.setattr(models, "download_wheel", no_network)
    assert main(["models", "fetch"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("coach: could not fetch the hand model: official download")
    assert "Network is unreachable" in err[-1]
    assert list(tmp_path.iterdir()) == []


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    noise = tmp / "noise.mp4"
    noise.write_bytes(os.urandom(50_000))
    text = tmp / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    good = tmp / "good.mp4"
    with VideoWriter(good, 25.0, (64, 48)) as w:
        for i in range(50):
            w.write(__import__("numpy").full((48, 64, 3), i * 4, dtype="uint8"))
    truncated = tmp / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[:200])
    return {
        "missing": tmp / "missing.mp4",
        "empty": empty,
        "noise": noise,
        "text": text,
        "truncated": truncated,
        "folder": tmp,
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",  # no such file
        "empty",  # zero bytes
        "noise",  # random bytes with a video suffix
        "text",  # a text file renamed .mp4
        "truncated",  # the first 200 bytes of a real mp4
    ],
)
def test_unreadable_video_exits_1_with_one_line_and_no_traceback(tmp_path, case):
    path = _bad_inputs(tmp_path)[case]
    r = run_cli("score", str(path), "--stroke", "i-love-you", "--tummy", "0.3,0.3,0.7,0.7")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coach: ")
    assert str(path.name) in lines[0] or "video" in lines[0]


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["score", "x.mp4", "--stroke", "nope"], 1, "nope"),  # unknown stroke: input error
        (["score", "x.mp4"], 2, "--stroke"),  # missing required option
        (["score", "x.mp4", "--stroke", "sun", "--head", "sideways"], 2, "--head"),  # bad choice
        (["dance"], 2, "invalid choice"),  # unknown command
        ([], 2, "required"),  # no command at all
    ],
)
def test_usage_errors(args, status, says):
    r = run_cli(*args)
    assert r.returncode == status
    assert says in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "tummy",
    [
        "0.1,0.2,0.3",  # three numbers
        "a,b,c,d",  # not numbers
        "0.7,0.3,0.3,0.7",  # x0 > x1
        "0,0,1,1.5",  # outside 0..1
    ],
)
def test_bad_tummy_is_a_usage_error(tmp_path, tummy):
    good = _bad_inputs(tmp_path)["folder"] / "good.mp4"
    r = run_cli("score", str(good), "--stroke", "sun", "--tummy", tummy)
    assert r.returncode == 2
    assert "--tummy" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.model
def test_score_a_video_without_hands_reports_no_hand(tmp_path):
    clip = _bad_inputs(tmp_path)["folder"] / "good.mp4"  # 2 s of grey frames, no hand
    out = tmp_path / "report.json"
    r = run_cli(
        "score",
        str(clip),
        "--stroke",
        "i-love-you",
        "--tummy",
        "0.3,0.3,0.7,0.7",
        "--json",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["schema"] == "coach.report/1"
    assert report["repetitions"] == []
    assert report["summary"]["flags"]["no_hand"] == 1
    assert report["tracking"]["frames_with_hand"] == 0
    assert "Session score" in r.stdout


@pytest.mark.model
def test_json_to_stdout_is_only_json(tmp_path):
    clip = _bad_inputs(tmp_path)["folder"] / "good.mp4"
    r = run_cli("score", str(clip), "--stroke", "sun", "--tummy", "0.3,0.3,0.7,0.7", "--json", "-")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stroke"] == "sun"


def test_sessions_list_and_export_html(tmp_path):
    from coach.core.bodyframe import BodyFrame
    from coach.core.strokes import load_stroke
    from coach.storage.store import Store
    from tests.test_pipeline import BOX, run
    from tests.uvpaths import perform

    ily = load_stroke("i-love-you")
    session, _ = run(ily, BodyFrame.from_box(BOX), perform(ily, factor=1 / 3))
    db = tmp_path / "coach.db"
    with Store.open(db) as store:
        sid = store.save_session("Anna", session, "upload", "i-love-you")
    listed = run_cli("sessions", "list", "--database", str(db))
    assert listed.returncode == 0, listed.stderr
    assert f"{sid}\t" in listed.stdout and "Anna" in listed.stdout
    out = tmp_path / "report.html"
    r = run_cli("sessions", "export", str(sid), str(out), "--database", str(db))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lstrip().lower().startswith("<!doctype html")
    assert "data:image/png;base64," in html and "https://" not in html
    missing = run_cli("sessions", "export", "999", str(tmp_path / "r2.html"), "--database", str(db))
    assert missing.returncode == 1 and "999" in missing.stderr
