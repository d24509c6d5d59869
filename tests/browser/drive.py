"""Drive a Streamlit page in headless Chromium with a fake webcam, inside a private netns.

Usage (re-executes itself under ``unshare --net``)::

    python tests/browser/drive.py --scenario minimal --app tests/browser/minimal_app.py \
        --video clip.y4m --out result.json [--duration 10] [--sessions 1] [--screenshot x.png]

Scenarios:
- ``minimal``: the echo page; reports how many frames the server callback saw.
- ``coach``: the real ``app.py``; starts the live coach in each session, waits for a
  hint and a repetition score card, reports the page's own statistics.

The result JSON holds what the test asserts on plus latency numbers measured in the
browser (camera frame captured -> annotated frame displayed, by the frame barcode).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import class_drive  # noqa: E402
import harness  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return float(s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))])


def latency_summary(page_frame) -> dict:
    probe = page_frame.evaluate("() => window.__coachProbe || {local: [], remote: []}")
    lat = harness.latency_ms(probe["local"], probe["remote"])
    # The first second includes the connection warm-up; keep steady state only.
    steady = lat[30:] if len(lat) > 60 else lat
    return {
        "local_frames": len(probe["local"]),
        "remote_frames": len(probe["remote"]),
        "remote_unique_frames": len({tuple(e[:2]) for e in probe["remote"]}),
        "latency_ms_p50": percentile(steady, 50),
        "latency_ms_p95": percentile(steady, 95),
        "latency_ms_mean": statistics.fmean(steady) if steady else None,
        "latency_samples": len(steady),
    }


def click_start(page, tries: int = 3) -> object:
    """Press Start; a rerun that replaces the iframe mid-click means: find it and press again."""
    for attempt in range(tries):
        fr = harness.webrtc_frame(page)
        try:
            fr.locator("button", has_text=re.compile("^start$", re.I)).first.click(timeout=30_000)
            return fr
        except Exception:  # noqa: BLE001 - a detached frame; the last attempt reports it
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def scenario_minimal(ctx, url: str, args) -> dict:
    page = ctx.new_page()
    page.goto(url, wait_until="domcontentloaded")
    fr = click_start(page)
    status_path = Path(os.environ["MINIMAL_APP_STATUS"])
    deadline = time.monotonic() + args.duration + 60
    status: dict = {}
    t_first = None
    while time.monotonic() < deadline:
        if status_path.exists():
            status = json.loads(status_path.read_text())
            if t_first is None and status.get("frames", 0) > 0:
                t_first = time.monotonic()
            if t_first and time.monotonic() - t_first >= args.duration:
                break
        time.sleep(0.5)
    result = {"server": status, "browser": latency_summary(fr)}
    try:  # which way the media stopped, when it did
        result["browser"]["peers"] = fr.evaluate(harness.PEER_STATS_JS)
    except Exception as exc:  # noqa: BLE001 - diagnostics only
        result["browser"]["peers"] = f"unavailable: {exc}"
    if args.screenshot:
        page.screenshot(path=args.screenshot, full_page=True)
    return result


# -- coach scenario --------------------------------------------------------------------------

STATS_RE = re.compile(r"frames processed:\s*(\d+)", re.I)
PROC_RE = re.compile(r"(\d+) ms per frame \(p95 (\d+) ms\)")
FPS_RE = re.compile(r"([\d.]+) frames/s")
HINT_RE = re.compile(r'data-coach-hint="([a-z_]*)"')


def page_text(page) -> str:
    return page.locator("body").inner_text(timeout=10_000)


def start_coach_session(ctx, url: str, source: str = "Webcam"):
    page = class_drive.open_page(ctx, url, "Stroke Coach")
    # A first visit shows the safety notes: acknowledge them.
    ok = page.get_by_role("button", name=re.compile("I've read this", re.I))
    try:
        ok.wait_for(timeout=3_000)
        ok.click()
    except PlaywrightTimeout:
        pass
    page.get_by_role("tab", name="Live coach").wait_for(timeout=60_000)
    if source != "Webcam":
        page.get_by_role("radio", name=source).check(force=True)
    fr = click_start(page)
    return page, fr


def scenario_coach(ctx, url: str, args) -> dict:
    sessions = []
    for i in range(args.sessions):
        if i:
            time.sleep(args.stagger)  # later sessions start later: their counts must differ
        sessions.append(start_coach_session(ctx, url, args.source))
    t0 = time.monotonic()
    per: list[dict] = [{"hint": False, "score": False, "frames": 0} for _ in sessions]
    while time.monotonic() - t0 < args.duration + 120:
        for i, (page, _fr) in enumerate(sessions):
            text = page_text(page)
            m = STATS_RE.search(text)
            per[i]["frames"] = int(m.group(1)) if m else per[i]["frames"]
            if (p := PROC_RE.search(text)) and (f := FPS_RE.search(text)):
                per[i]["processing_ms_p50"], per[i]["processing_ms_p95"] = (
                    int(p.group(1)),
                    int(p.group(2)),
                )
                per[i]["fps"] = float(f.group(1))
            codes = HINT_RE.findall(page.content())
            per[i]["hint"] = per[i]["hint"] or any(codes)
            per[i]["hint_codes"] = sorted(
                set(per[i].get("hint_codes", [])) | {c for c in codes if c}
            )
            per[i]["score"] = per[i]["score"] or bool(
                re.search(r"Repetition \d+ *[·:-] *\d+ */ *100", text)
            )
        enough = all(p["hint"] and p["score"] for p in per)
        if enough and time.monotonic() - t0 >= args.duration:
            break
        time.sleep(1.0)
    for i, (page, fr) in enumerate(sessions):
        per[i]["browser"] = latency_summary(fr)
        per[i]["text"] = page_text(page)[-3000:]
        shot = (
            Path(args.screenshot).with_name(f"{Path(args.screenshot).stem}-{i}.png")
            if args.screenshot
            else None
        )
        if shot:
            page.screenshot(path=str(shot), full_page=True)
            per[i]["screenshot"] = str(shot)
            video = fr.locator("video").first
            vshot = shot.with_name(shot.stem + "-video.png")
            video.screenshot(path=str(vshot))
            per[i]["video_screenshot"] = str(vshot)
    # Stop the first session: the page must show the session summary.
    page, fr = sessions[0]
    fr.locator("button", has_text=re.compile("^stop$", re.I)).first.click(timeout=30_000)
    try:
        page.get_by_text("Session summary").wait_for(timeout=60_000)
        # The heading renders before the lines under it: read until they are there too.
        deadline = time.monotonic() + 30
        while True:
            text = page_text(page)
            per[0]["summary"] = text[text.index("Session summary") :][:600]
            if "repetition" in per[0]["summary"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    except PlaywrightTimeout:
        per[0]["summary"] = None
    return {"sessions": per}


SCENARIOS = {"minimal": scenario_minimal, "coach": scenario_coach}


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    harness.setup_private_network()
    env = dict(kv.split("=", 1) for kv in args.env)
    if args.scenario == "minimal":
        env["MINIMAL_APP_STATUS"] = str(Path(args.out).with_suffix(".status.json"))
        os.environ.update(env)
    log = Path(args.out).with_suffix(".server.log")
    with (
        harness.streamlit_server(Path(args.app), env=env, log=log) as url,
        sync_playwright() as pw,
        harness.chromium_context(pw, Path(args.video)) as ctx,
    ):
        ctx.add_init_script(harness.latency_probe_script())
        return SCENARIOS[args.scenario](ctx, url, args)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--video", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--source", default="Webcam", help="video source radio: Webcam | Sample clip")
    ap.add_argument("--stagger", type=float, default=0.0, help="seconds between session starts")
    ap.add_argument("--screenshot", default="")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    args = ap.parse_args(argv)
    if os.environ.get(harness.NETNS_FLAG) != "1":
        return harness.reexec_in_netns([str(Path(__file__).resolve()), *(argv or sys.argv[1:])])
    try:
        result = {"ok": True, **run(args)}
    except Exception as exc:  # noqa: BLE001 - reported to the test as data
        result = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    result["reloads"] = class_drive.RELOADS
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
