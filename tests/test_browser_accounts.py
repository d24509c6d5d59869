"""Private by default, in a real browser (issue 12): a second browser signed in as another
account never sees the first one's sessions, and the page served as ``make run`` serves
it cannot be reached on a non-loopback address. Runs in a private network namespace
(tests/browser/accounts_drive.py); skipped with the reason when that is not possible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coach.core.pipeline import SessionResult
from coach.core.types import FLAG_CODES
from coach.storage import accounts as A
from coach.storage import settings as live_settings
from coach.storage.store import Store
from tests.test_store import REPS

REPO = Path(__file__).resolve().parents[1]
BROWSER_DIR = REPO / "tests" / "browser"
sys.path.insert(0, str(BROWSER_DIR))

import harness  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    reason = harness.unavailable_reason()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("accounts")
    data = work / "data"
    session = SessionResult("sun", REPS[:1], (), (), 100, 100, 62, {c: 0 for c in FLAG_CODES})
    with Store.open(data / "coach.db") as store:
        ann = A.create_account(store, "Ann", "ann's long password")
        bob = A.create_account(store, "Bob", "bob's long password")
        store.for_account(ann.id).save_session("Annas baby", session, "upload", "sun")
        store.for_account(bob.id).save_session("Bobs baby", session, "upload", "sun")
        store.for_account(None).save_session("Home user", session, "upload", "sun")
    for folder in (data, data / "accounts" / str(ann.id), data / "accounts" / str(bob.id)):
        live_settings.save_settings(folder, live_settings.LiveSettings(safety_seen=True))
    out = work / "result.json"
    cmd = [sys.executable, str(BROWSER_DIR / "accounts_drive.py"), "--data", str(data),
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    if not out.exists():
        pytest.fail(f"accounts_drive.py wrote no result (exit {proc.returncode}):\n{proc.stderr}")
    found = json.loads(out.read_text())
    assert found["ok"], found.get("traceback", found)
    return found


def test_a_second_account_cannot_see_the_first_ones_sessions(result):
    ann, bob = result["ann"], result["bob"]
    for page in ("main", "progress"):
        assert "Annas baby" in ann[page] and "Bobs baby" not in ann[page], ann[page]
        assert "Bobs baby" in bob[page] and "Annas baby" not in bob[page], bob[page]
        assert "Home user" not in ann[page] + bob[page]
    for who in (ann, bob):  # before signing in: the form, nobody's data
        assert "please sign in" in who["before_sign_in"]
        assert "baby" not in who["before_sign_in"] and "Home user" not in who["before_sign_in"]


def test_the_pages_are_named(result):
    # st.navigation: the main page is "Practise", not "app" (the entry script's name)
    for who in (result["ann"], result["bob"]):
        names = [link.split()[-1] for link in who["nav"]]  # after the icon
        assert names == ["Practise", "Progress", "Class"], who["nav"]


def test_make_run_is_not_reachable_on_another_address(result):
    served = result["reach"]["make_run"]
    assert "--server.address 127.0.0.1" in served["command"]
    assert served["loopback"] == "HTTP 200"
    assert served["other_address"].startswith("no answer"), served
    # control: the same probe does reach a server that listens on every interface
    exposed = result["reach"]["make_run_host_all"]
    assert "--server.address 0.0.0.0" in exposed["command"]
    assert exposed["other_address"] == "HTTP 200", exposed
