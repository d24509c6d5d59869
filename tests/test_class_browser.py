"""Class mode in real browsers: one instructor and two parents, each on their own Stroke
Coach server (three servers, as on three laptops), joined through a class relay.

Debian's chromium + Playwright in a private network namespace (the harness of
``tests/browser``), three browser contexts (three Streamlit sessions), each with the
fake webcam showing the synthetic hand doing I Love You. Screenshots go to
``.ci/artifacts/``. Skipped with the reason when chromium or namespaces are missing.

On two cores three WebRTC sessions with MediaPipe each are heavy, so the fake
webcam is 320x240 at 10 frames/s (the coach works from timestamps; MediaPipe costs
about the same per frame at any size, so the frame rate is what matters).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BROWSER_DIR = REPO / "tests" / "browser"
ARTIFACTS = REPO / ".ci" / "artifacts"
sys.path.insert(0, str(BROWSER_DIR))

import fake_webcam  # noqa: E402
import harness  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser_ready() -> None:
    reason = harness.unavailable_reason()
    if reason:
        pytest.skip(reason)


def test_class_with_an_instructor_and_two_parents(browser_ready, tmp_path: Path) -> None:
    from coach.storage import settings as live_settings

    video = tmp_path / "i-love-you-small.y4m"
    truth = fake_webcam.make_clip(video, kind="synth", fps=10, size=(320, 240), repetitions=2)
    data = tmp_path / "data"  # calibrated (the clip's tummy box), safety notes read
    live_settings.save_settings(
        data,
        live_settings.LiveSettings(
            mirror_preview=False, safety_seen=True, body_frame=truth.body_frame().to_dict()
        ),
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "class.json"
    cmd = [
        sys.executable, str(BROWSER_DIR / "class_drive.py"), "--app", str(REPO / "app.py"),
        "--video", str(video), "--out", str(out), "--shots", str(ARTIFACTS),
        "--env", f"COACH_DATA_DIR={data}", "--timeout", "150",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=REPO)
    if not out.exists():
        pytest.fail(
            f"class_drive.py wrote no result (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    result = json.loads(out.read_text())
    (ARTIFACTS / "browser-class.json").write_text(json.dumps(result, indent=2))
    logs = "".join(
        f"\n--- {p.name} ---\n" + p.read_text()[-2000:]
        for p in sorted(tmp_path.glob("class.*.log"))
    )
    assert result["ok"], result.get("traceback", result) + logs
    before, after = result["before"], result["after"]
    # The instructor's path reached both parents' videos, drawn in the follow-me colour.
    assert before["published"] and before["published"] > 0, before
    assert all(n > 0 for n in before["relayed"]), before["relayed"]
    assert all(px >= 300 for px in before["follow_pixels"]), before["follow_pixels"]
    # The board lists both parents, each with a score after a repetition.
    assert [r["seat"] for r in before["board"]] == ["1", "2"], before["board"]
    assert all(r["score"] for r in before["board"]), before["board"]
    assert "Ann" in before["board"][0]["text"] and "Ben" in before["board"][1]["text"]
    # Ben reloaded the page: back in the same seat, still exactly two parents on the board.
    assert "seat 2" in after["seat_text"], after["seat_text"]
    assert [r["seat"] for r in after["board"]] == ["1", "2"], after["board"]
    assert after["board"][1]["score"], after["board"]  # the row kept its last score
    assert after["relayed"] > 0, after  # the follow-me path reaches the reloaded page
    # Only small JSON messages reached the relay: no frame of video, nothing binary.
    relay = result["relay"]
    assert relay["binary_in"] == 0 and 0 < relay["largest_in_bytes"] <= 8192, relay
    assert relay["bytes_in"] < 2_000_000, relay  # a minute of even tiny video is more
    assert len(set(result["servers"])) == 3  # every participant on their own server
    assert (ARTIFACTS / "class-instructor.png").exists()
    assert (ARTIFACTS / "class-parent-1-video.png").exists()
