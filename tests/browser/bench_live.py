"""Live benchmark: per-frame processing time and end-to-end latency (`make bench-live`).

1. Offline: the synthetic I Love You clip (640x480, 30 frames/s) through
   ``LiveCoach.process`` with the real hand landmarker: processing ms p50/p95/p99.
2. In a real browser (headless chromium, fake webcam, private network namespace):
   the page runs for ``--duration`` seconds; the page's own statistics give the
   server-side processing time and rate, the in-page probe gives the end-to-end
   latency (camera frame captured -> annotated frame displayed, matched by the
   frame barcode).

Prints a table and writes ``.ci/artifacts/bench-live.json``. Numbers, not asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import fake_webcam  # noqa: E402
import harness  # noqa: E402


def offline(seconds: float) -> dict:
    """LiveCoach.process on the clip's frames, as fast as it goes (no browser)."""
    from coach.samples.synth import Sample
    from coach.services.live import LiveCoach

    sample = Sample("i-love-you", repetitions=2)
    frames = [img for img, _t in sample.frames()]
    coach = LiveCoach(sample.stroke, sample.truth.body_frame())
    n = int(seconds * sample.fps)
    t0 = time.perf_counter()
    for i in range(n):
        coach.process(frames[i % len(frames)], i / sample.fps)
    wall = time.perf_counter() - t0
    ms = np.array(coach.processing_times_ms()[30:])  # skip the landmarker's start-up
    coach.close()
    return {
        "frames": n,
        "frames_per_s": n / wall,
        "processing_ms_p50": float(np.percentile(ms, 50)),
        "processing_ms_p95": float(np.percentile(ms, 95)),
        "processing_ms_p99": float(np.percentile(ms, 99)),
    }


def browser(seconds: float, sessions: int) -> dict:
    from coach.storage import settings as live_settings

    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        tmp_path = Path(tmp)
        video = tmp_path / "clip.y4m"
        truth = fake_webcam.make_clip(video, kind="synth")
        data = tmp_path / "data"
        settings = live_settings.LiveSettings(
            mirror_preview=False, safety_seen=True, body_frame=truth.body_frame().to_dict()
        )
        live_settings.save_settings(data, settings)
        out = tmp_path / "result.json"
        cmd = [
            sys.executable, str(HERE / "drive.py"), "--scenario", "coach",
            "--app", str(REPO / "app.py"),
            "--video", str(video), "--out", str(out), "--duration", str(seconds),
            "--sessions", str(sessions), "--env", f"COACH_DATA_DIR={data}",
        ]  # fmt: skip
        subprocess.run(cmd, cwd=REPO, check=False, timeout=seconds + 600)
        result = json.loads(out.read_text())
    if not result.get("ok"):
        return {"error": result.get("error"), "traceback": result.get("traceback")}
    return {"sessions": [{k: v for k, v in s.items() if k != "text"} for s in result["sessions"]]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of live video")
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args(argv)
    report: dict = {"offline": offline(args.duration)}
    reason = None if args.skip_browser else harness.unavailable_reason()
    if not args.skip_browser and reason is None:
        report["browser"] = browser(args.duration, args.sessions)
    elif reason:
        report["browser"] = {"skipped": reason}
    out = REPO / ".ci" / "artifacts" / "bench-live.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    o = report["offline"]
    print(f"offline  {o['frames']} frames: {o['frames_per_s']:.1f} frames/s, processing "
          f"p50 {o['processing_ms_p50']:.1f} ms, p95 {o['processing_ms_p95']:.1f} ms, "
          f"p99 {o['processing_ms_p99']:.1f} ms")  # fmt: skip
    for i, s in enumerate(report.get("browser", {}).get("sessions", [])):
        b = s["browser"]
        print(f"browser  session {i}: {s.get('fps', float('nan'))} frames/s processed, processing "
              f"p50 {s.get('processing_ms_p50')} ms, p95 {s.get('processing_ms_p95')} ms; "
              f"end-to-end latency p50 {b['latency_ms_p50']:.0f} ms, "
              f"p95 {b['latency_ms_p95']:.0f} ms "
              f"({b['latency_samples']} frames); frames shown {b['remote_unique_frames']} "
              f"of {b['local_frames']} captured")  # fmt: skip
    if "error" in report.get("browser", {}) or "skipped" in report.get("browser", {}):
        print("browser ", report["browser"].get("error") or report["browser"].get("skipped"))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
