"""Privacy checks in a real browser, inside a private network namespace (issue 12).

Usage (re-executes itself under ``unshare --net``, like drive.py)::

    python tests/browser/accounts_drive.py --data DATA_DIR --out result.json

``DATA_DIR`` holds a session store with the accounts Ann and Bob (made by the test).
Two checks, reported as JSON:

- ``accounts``: the real ``app.py`` served with ``COACH_ACCOUNTS=required``; two
  independent browser contexts sign in as Ann and as Bob; what each one's main page
  and Progress page show (the test asserts Bob never sees Ann's profile).
- ``reach``: the server started exactly as ``make run`` starts it (the command line
  ``make -n run`` prints, plus a port) answers on 127.0.0.1 and not on the
  namespace's non-loopback address 10.231.77.1; as a control, the same command with
  ``HOST=0.0.0.0`` does answer there (and then asks for sign-in).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

REPO = harness.REPO
OTHER_ADDRESS = harness.VETH_ADDRS[0].split("/")[0]  # 10.231.77.1, only inside the namespace


def page_text(page) -> str:
    return page.locator("body").inner_text(timeout=10_000)


def wait_text(page, needle: str, timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        text = page_text(page)
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def signed_in_page(browser, url: str, name: str, password: str) -> dict:
    """A fresh browser context (own cookies, own Streamlit session) signed in as ``name``."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(url, wait_until="domcontentloaded")
        before = wait_text(page, "please sign in")
        page_html_before = page.content()
        page.get_by_role("textbox", name="Name", exact=True).fill(name)
        page.get_by_role("textbox", name="Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        wait_text(page, f"Signed in as {name}")
        time.sleep(2.0)  # let the sidebar's profile picker settle
        main = page_text(page) + "\n" + page.content()  # a selectbox's value is in the HTML
        nav = [t.strip() for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]
        # in-app navigation keeps the Streamlit session (a reload would ask to sign in again)
        page.get_by_role("link", name="Progress").first.click()
        wait_text(page, "Last sessions")
        time.sleep(2.0)
        progress = page_text(page) + "\n" + page.content()
        return {
            "before_sign_in": before + "\n" + page_html_before,
            "main": main,
            "progress": progress,
            "nav": nav,
        }
    finally:
        ctx.close()


def scenario_accounts(args) -> dict:
    from playwright.sync_api import sync_playwright

    env = {"COACH_DATA_DIR": args.data, "COACH_ACCOUNTS": "required"}
    log = Path(args.out).with_suffix(".server.log")
    with (
        harness.streamlit_server(REPO / "app.py", env=env, log=log) as url,
        sync_playwright() as pw,
        tempfile.TemporaryDirectory(prefix="coach-chromium-bin-") as bindir,
    ):
        browser = pw.chromium.launch(
            executable_path=harness.chromium_executable(Path(bindir)),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        try:
            ann = signed_in_page(browser, url, "Ann", "ann's long password")
            bob = signed_in_page(browser, url, "Bob", "bob's long password")
        finally:
            browser.close()
    return {"ann": ann, "bob": bob}


def make_run_command(host: str | None, port: int) -> list[str]:
    """The streamlit command ``make run`` runs (from ``make -n``), on ``port``."""
    cmd = ["make", "--no-print-directory", "-n", "run"]
    if host is not None:
        cmd.append(f"HOST={host}")
    printed = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout
    joined = printed.replace("\\\n", " ")
    line = next(x for x in joined.splitlines() if "streamlit run" in x)
    words = shlex.split(line)
    start = next(i for i, w in enumerate(words) if w.endswith("streamlit"))
    return [sys.executable, "-m", "streamlit", *words[start + 1 :], "--server.port", str(port)]


def answers(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return f"HTTP {r.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"no answer ({getattr(exc, 'reason', exc)})"


@contextlib.contextmanager
def served(cmd: list[str], port: int, env: dict, log: Path):
    out = open(log, "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=out,
                            stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while answers(f"http://127.0.0.1:{port}/_stcore/health") != "HTTP 200":
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log}")
            time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


def scenario_reach(args) -> dict:
    result = {}
    env = {"COACH_DATA_DIR": args.data}
    for label, host in (("make_run", None), ("make_run_host_all", "0.0.0.0")):
        port = harness.free_port()
        cmd = make_run_command(host, port)
        log = Path(args.out).with_suffix(f".{label}.log")
        with served(cmd, port, env, log):
            result[label] = {
                "command": " ".join(cmd[1:]),
                "loopback": answers(f"http://127.0.0.1:{port}/_stcore/health"),
                "other_address": answers(f"http://{OTHER_ADDRESS}:{port}/_stcore/health"),
            }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if os.environ.get(harness.NETNS_FLAG) != "1":
        return harness.reexec_in_netns([str(Path(__file__).resolve()), *(argv or sys.argv[1:])])
    try:
        harness.setup_private_network()
        result = {"ok": True, "reach": scenario_reach(args), **scenario_accounts(args)}
    except Exception as exc:  # noqa: BLE001 - reported to the test as data
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}  # fmt: skip
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
