"""Drive the class page with one instructor and two parents in headless Chromium.

Usage (re-executes itself under ``unshare --net``, like drive.py)::

    python tests/browser/class_drive.py --app app.py --video clip.y4m --out result.json \
        [--shots DIR] [--env COACH_DATA_DIR=...] [--timeout 150]

A class relay (``python -m coach.relay``, in memory) and three Stroke Coach servers,
one for each participant, as on three laptops: each page's webcam goes to its own
server only, and the servers share nothing but the relay (``COACH_RELAY_URL``). One
Chromium with three browser contexts (separate cookie jars), all fed by the same fake
webcam. The instructor opens a class on ``/Class``; the parents join with its code;
everyone starts their camera. Then it waits until both parents' pages count relayed
instructor points and the instructor's board shows a score for both, takes
screenshots, reloads the second parent's page (the address rejoins the class),
starts its camera again and reads the board once more. At the end it reads the
relay's counters (bytes and frames received: only small JSON messages, never video).
Writes what it saw as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

sys.path.insert(0, str(harness.REPO))

PARENTS = ("Ann", "Ben")
STATS_RE = re.compile(r"frames processed:\s*(\d+)", re.I)
PROC_RE = re.compile(r"(\d+) ms per frame \(p95 (\d+) ms\)")
FPS_RE = re.compile(r"([\d.]+) frames/s")


def attr_int(page, selector: str, attr: str) -> int | None:
    loc = page.locator(selector)
    try:
        if loc.count() == 0:
            return None
        value = loc.first.get_attribute(attr, timeout=2_000)
    except Exception:  # noqa: BLE001 - the fragment re-rendered under us: try next time
        return None
    return int(value) if value and value.isdigit() else None


def board(page) -> list[dict]:
    """The instructor's board rows as the page shows them."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('tr[data-coach-seat]')).map(r => ({
            seat: r.dataset.coachSeat, status: r.dataset.coachStatus,
            score: r.dataset.coachScore, text: r.innerText}))"""
    )


def stats(page) -> dict:
    text = page.locator("body").inner_text(timeout=10_000)
    out: dict = {}
    if m := STATS_RE.search(text):
        out["frames"] = int(m.group(1))
    if (p := PROC_RE.search(text)) and (f := FPS_RE.search(text)):
        out.update(processing_ms_p50=int(p.group(1)), processing_ms_p95=int(p.group(2)),
                   fps=float(f.group(1)))  # fmt: skip
    return out


def start_camera(page) -> None:
    frame = harness.webrtc_frame(page)
    frame.locator("button", has_text=re.compile("^start$", re.I)).first.click(timeout=30_000)


def submit(page, fields: dict[str, str], button: str, done, tries: int = 3) -> None:
    """Fill a form and submit it until ``done`` (a locator) shows; a busy server may rerun
    the page while typing, so it tries again. Raises with the page text on failure."""
    for attempt in range(tries):
        if done.count() and done.first.is_visible():
            return  # the last click did work, only late
        page.get_by_role("button", name=button).wait_for(timeout=60_000)
        for label, value in fields.items():
            box = page.get_by_role("textbox", name=label)
            box.fill(value)
            box.press("Tab")  # commit the value before the click
        page.get_by_role("button", name=button).click()
        try:
            done.wait_for(timeout=30_000 * (attempt + 1))
            return
        except Exception:  # noqa: BLE001 - try again, then report what the page says
            if attempt == tries - 1:
                text = page.locator("body").inner_text(timeout=10_000)
                raise RuntimeError(
                    f"{button!r} did not work; the page says:\n{text[-1500:]}"
                ) from None


RELOADS: list[dict] = []  # pages that needed the reload, with what they showed first


def open_page(ctx, address: str, ready_text: str) -> object:
    """A new tab at ``address``, once ``ready_text`` shows. A fresh server's very first
    page load sometimes never finishes its websocket handshake (once in a full CI run,
    the page stayed blank for 60 s); it is reloaded once, as a user would, and the page's
    text is reported if that does not help either."""
    page = ctx.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"[:300]))
    page.on("requestfailed", lambda req: console.append(f"request failed: {req.url} {req.failure}"))
    page.goto(address, wait_until="domcontentloaded")
    try:
        page.get_by_text(ready_text).first.wait_for(timeout=30_000)
    except Exception:  # noqa: BLE001 - reload once, then report what the page says
        text = page.locator("body").inner_text(timeout=10_000)
        RELOADS.append({"address": address, "page_text": text[-300:], "console": console[-20:]})
        page.reload(wait_until="domcontentloaded")
        try:
            page.get_by_text(ready_text).first.wait_for(timeout=60_000)
        except Exception:  # noqa: BLE001
            text = page.locator("body").inner_text(timeout=10_000)
            raise RuntimeError(
                f"{ready_text!r} never showed at {address}; the page says:\n{text[-1500:]}"
            ) from None
    return page


def open_class(ctx, url: str) -> tuple[object, str]:
    page = open_page(ctx, url + "/Class", "Who are you?")
    page.get_by_role("radio", name="I'm the instructor").check(force=True)
    code_el = page.locator("[data-coach-class-code]").first
    submit(page, {"Your name": "Maya"}, "Open a class", code_el)
    return page, code_el.get_attribute("data-coach-class-code")


def join_class(ctx, url: str, code: str, name: str):
    page = open_page(ctx, url + "/Class", "Who are you?")
    fields = {"Class code": code.lower(), "Your name": name}  # the code's case doesn't matter
    submit(page, fields, "Join the class", page.get_by_text(f"Welcome, {name}"))
    return page


def webrtc_frame(page, timeout_s: float = 60.0):
    """The webrtc component's iframe, whatever its button says (harness's waits for Start)."""
    return harness.component_frame(page, timeout_s, button=None)


def playing(page) -> bool:
    """The component shows Stop: the stream runs."""
    try:
        text = webrtc_frame(page, 10).locator("button").first.inner_text(timeout=5_000)
    except Exception:  # noqa: BLE001
        return False
    return text.strip().lower() == "stop"


def video_shot(page, path: Path) -> str | None:
    try:
        frame = webrtc_frame(page, timeout_s=10)
        frame.locator("video").first.screenshot(path=str(path), timeout=10_000)
    except Exception:  # noqa: BLE001 - reported as missing, the test decides
        return None
    return str(path)


def follow_pixels(png: str | None) -> int:
    """Pixels of the follow-me colour below the status band of a video screenshot."""
    if not png:
        return 0
    import cv2
    import numpy as np

    from coach.render.follow_me import FollowStyle

    img = cv2.imread(png)[:, :, ::-1].astype(int)
    img = img[int(img.shape[0] * 0.12) :]  # the status band has a green "tracking" dot
    return int((np.abs(img - np.array(FollowStyle().colour)).max(axis=2) <= 40).sum())


class Session:
    """One browser session on the class page, restarting its camera if the stream drops
    (on a loaded machine a WebRTC connection can time out; that is counted, not hidden)."""

    def __init__(self, name: str, page, t0: float) -> None:
        self.name, self.page, self.t0 = name, page, t0
        self.restarts: list[float] = []  # seconds into the run
        self.checked_at = time.monotonic()
        self.stopped_checks = 0

    def keep_playing(self, every_s: float = 5.0) -> None:
        """Two checks in a row (``every_s`` apart) showing Start: press it again."""
        now = time.monotonic()
        if now - self.checked_at < every_s:
            return
        self.checked_at = now
        if playing(self.page):
            self.stopped_checks = 0
            return
        self.stopped_checks += 1
        if self.stopped_checks >= 2:
            start_camera(self.page)
            self.restarts.append(round(now - self.t0, 1))
            self.stopped_checks = 0


def wait_until_scored(teacher: Session, parents: list[Session], shots: Path, timeout_s: float):
    """Poll until both parents count relayed points, a video screenshot of each shows the
    follow-me colour and the board has a score for each; returns what was seen last."""
    relayed = [0] * len(parents)
    best_px = [0] * len(parents)
    rows: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for s in (teacher, *parents):
            s.keep_playing()
        relayed = [attr_int(s.page, "[data-coach-relayed]", "data-coach-relayed") or 0
                   for s in parents]  # fmt: skip
        rows = board(teacher.page)
        for i, s in enumerate(parents):
            if relayed[i] and best_px[i] < 300:  # the trail shows while the instructor moves
                png = video_shot(s.page, shots / f"class-parent-{i + 1}-video.png")
                best_px[i] = max(best_px[i], follow_pixels(png))
        if all(relayed) and min(best_px) >= 300 and sum(bool(r["score"]) for r in rows) >= 2:
            return relayed, best_px, rows, True
        time.sleep(1.0)
    return relayed, best_px, rows, False


def scenario(ctxs, urls: list[str], args) -> dict:
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    timeline: dict[str, float] = {}
    mark = lambda what: timeline.__setitem__(what, round(time.monotonic() - t0, 1))  # noqa: E731

    page, code = open_class(ctxs[0], urls[0])
    teacher = Session("instructor", page, t0)
    mark("class_opened")
    start_camera(teacher.page)
    parents = [
        Session(n, join_class(c, u, code, n), t0)
        for c, u, n in zip(ctxs[1:], urls[1:], PARENTS, strict=True)
    ]
    mark("parents_joined")
    for s in parents:
        start_camera(s.page)
    mark("cameras_started")
    relayed, best_px, rows, done = wait_until_scored(teacher, parents, shots, args.timeout)
    mark("scored" if done else "gave_up")
    before = {
        "code": code,
        "relayed": relayed,
        "follow_pixels": best_px,
        "board": rows,
        "published": attr_int(teacher.page, "[data-coach-published]", "data-coach-published"),
        "stats": [stats(s.page) for s in (teacher, *parents)],
    }
    teacher.page.screenshot(path=str(shots / "class-instructor.png"), full_page=True)
    for i, s in enumerate(parents):
        s.page.screenshot(path=str(shots / f"class-parent-{i + 1}.png"), full_page=True)

    # The second parent reloads the page: the address brings them back to their seat.
    ben = parents[1]
    ben.page.reload(wait_until="domcontentloaded")
    ben.page.get_by_text(f"Welcome back, {PARENTS[1]}").wait_for(timeout=60_000)
    mark("rejoined")
    seat_text = ben.page.get_by_text(re.compile(r"seat \d+")).first.inner_text(timeout=10_000)
    start_camera(ben.page)
    ben.checked_at, ben.stopped_checks = time.monotonic(), 0
    after_relayed = 0
    after_rows: list[dict] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ben.keep_playing()
        after_relayed = attr_int(ben.page, "[data-coach-relayed]", "data-coach-relayed") or 0
        after_rows = board(teacher.page)
        ben_row = next((r for r in after_rows if r["seat"] == "2"), None)
        if after_relayed and ben_row and ben_row["status"] not in ("away", "camera_off"):
            mark("rejoined_relayed")
            break
        time.sleep(1.0)
    teacher.page.screenshot(path=str(shots / "class-instructor-after-reload.png"), full_page=True)
    ben.page.screenshot(path=str(shots / "class-parent-2-after-reload.png"), full_page=True)
    return {
        "before": before,
        "after": {
            "relayed": after_relayed,
            "board": after_rows,
            "seat_text": seat_text,
            "stats": [stats(s.page) for s in (teacher, *parents)],
        },
        "restarts": {s.name: s.restarts for s in (teacher, *parents)},
        "timeline_s": timeline,
    }


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    from coach.relay.process import RelayProcess

    harness.setup_private_network()
    env = dict(kv.split("=", 1) for kv in args.env)
    log = Path(args.out).with_suffix(".server.log")
    relay = RelayProcess(log_path=log.with_suffix(".relay.log")).start()
    env["COACH_RELAY_URL"] = relay.url
    try:
        with contextlib.ExitStack() as stack:
            urls = [
                stack.enter_context(harness.streamlit_server(
                    Path(args.app), env=env, log=log.with_suffix(f".{i}.log")))
                for i in range(1 + len(PARENTS))
            ]  # fmt: skip
            pw = stack.enter_context(sync_playwright())
            bindir = stack.enter_context(tempfile.TemporaryDirectory(prefix="coach-chromium-bin-"))
            browser = pw.chromium.launch(
                executable_path=harness.chromium_executable(Path(bindir)), headless=True,
                args=harness.chromium_args(Path(args.video)),
            )  # fmt: skip
            try:
                ctxs = [
                    browser.new_context(
                        viewport={"width": 1280, "height": 1000}, permissions=["camera"]
                    )
                    for _ in range(1 + len(PARENTS))
                ]
                result = scenario(ctxs, urls, args)
            finally:
                browser.close()
        result["relay"] = relay.health()
        result["servers"] = urls
        return result
    finally:
        relay.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", required=True)
    ap.add_argument("--video", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shots", default=".ci/artifacts")
    ap.add_argument("--timeout", type=float, default=150.0, help="seconds to wait for scores")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    args = ap.parse_args(argv)
    if os.environ.get(harness.NETNS_FLAG) != "1":
        return harness.reexec_in_netns([str(Path(__file__).resolve()), *(argv or sys.argv[1:])])
    t0 = time.monotonic()
    try:
        result = {"ok": True, **run(args)}
    except Exception as exc:  # noqa: BLE001 - reported to the test as data
        result = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    result["wall_s"] = round(time.monotonic() - t0, 1)
    result["reloads"] = RELOADS
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
