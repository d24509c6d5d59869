"""The coach.report/1 report: schema of contract.md, golden file, summary table."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import load_stroke
from coach.render.report import build_report, summary_table
from coach.vision.video import VideoInfo
from tests.test_pipeline import BOX, run
from tests.uvpaths import perform

GOLDEN = Path(__file__).parent / "golden" / "report_i-love-you_fast.json"
ILY = load_stroke("i-love-you")


@pytest.fixture(scope="module")
def report():
    samples = perform(ILY, factor=1 / 3, repetitions=2)
    session, _ = run(ILY, BodyFrame.from_box(BOX), samples)
    duration = samples[-1][1]
    info = VideoInfo("clip.mp4", 30.0, len(samples), duration, 640, 480)
    return build_report(session, info, "clip.mp4")


def test_report_has_exactly_the_contract_fields(report):
    assert report["schema"] == "coach.report/1"
    assert report["stroke"] == "i-love-you"
    assert {"path", "fps", "frames", "duration_s"} <= set(report["video"])
    assert {"frames_with_hand", "detection_rate"} <= set(report["tracking"])
    assert {"score", "repetitions", "flags"} <= set(report["summary"])
    for rep in report["repetitions"]:
        assert {
            "index",
            "start_s",
            "end_s",
            "duration_s",
            "nominal_s",
            "score",
            "direction",
            "pace",
            "speed_ratio",
            "coverage",
            "flags",
        } <= set(rep)
        assert isinstance(rep["score"], int) and 0 <= rep["score"] <= 100
        assert rep["direction"] in ("ok", "wrong")
        assert rep["pace"] in ("ok", "too_fast", "too_slow")
    for hint in report["hints"]:
        assert set(hint) == {"t_s", "code", "text"}
    assert {"too_fast", "too_slow", "wrong_direction", "no_hand"} <= set(report["summary"]["flags"])


def test_report_is_plain_json_without_nan(report):
    text = json.dumps(report, allow_nan=False)  # raises on NaN / inf
    assert json.loads(text) == report


def test_report_matches_golden_file(report):
    # Regenerate on purpose with: UPDATE_GOLDEN=1 pytest tests/test_report.py
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(report, indent=2) + "\n")
    assert report == json.loads(GOLDEN.read_text())


def test_fast_performance_verdicts_in_the_report(report):
    assert [r["pace"] for r in report["repetitions"]] == ["too_fast", "too_fast"]
    assert all(math.isclose(r["speed_ratio"], 3.0, rel_tol=0.1) for r in report["repetitions"])
    assert report["summary"]["flags"]["too_fast"] == 2
    assert any(h["code"] == "too_fast" for h in report["hints"])


def test_summary_table_is_readable(report):
    table = summary_table(report)
    assert "too_fast" in table
    assert "Session score" in table
    assert len(table.splitlines()) >= 6
