"""Private by default (issue 12, point 1), in the page (Streamlit's AppTest).

A server only this computer reaches has one implicit local account and no sign-in;
a server others can reach (or ``COACH_ACCOUNTS=required``) shows only a sign-in form
until a visitor signs in, then only that account's profiles, sessions and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach.core.pipeline import SessionResult
from coach.core.types import FLAG_CODES
from coach.storage import accounts as A
from coach.storage import settings as live_settings
from coach.storage.store import Store
from coach.ui.account import is_loopback, sign_in_required
from tests.test_store import REPS

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
PROGRESS = str(REPO / "pages" / "2_Progress.py")
CLASS = str(REPO / "pages" / "4_Class.py")


@pytest.mark.parametrize(
    "address, env, required",
    [
        ("127.0.0.1", {}, False),  # make run: this computer only, the implicit local account
        ("localhost", {}, False),  # the same by name
        ("::1", {}, False),  # IPv6 loopback
        ("127.0.0.1", {"COACH_ACCOUNTS": "required"}, True),  # behind a proxy on this machine
        ("0.0.0.0", {}, True),  # make run HOST=0.0.0.0: every interface
        ("", {}, True),  # Streamlit's default: every interface
        (None, {}, True),  # unset: every interface
        ("192.168.1.20", {}, True),  # one LAN address
        ("coach.example.org", {}, True),  # a host name: others can reach it
        ("0.0.0.0", {"COACH_ACCOUNTS": "off"}, True),  # cannot be switched off when exposed
    ],
)
def test_who_has_to_sign_in(address, env, required):
    assert sign_in_required(address, env) is required
    assert is_loopback(address) is (address in ("127.0.0.1", "localhost", "::1"))


def session_result() -> SessionResult:
    return SessionResult("sun", REPS[:1], (), (), 100, 100, 62, {c: 0 for c in FLAG_CODES})


@pytest.fixture()
def shared_server(tmp_path, monkeypatch) -> Path:
    """A data folder of a server that asks for sign-in, with Ann's and Bob's sessions."""
    data = tmp_path / "data"
    monkeypatch.setenv("COACH_DATA_DIR", str(data))
    monkeypatch.delenv("COACH_DATABASE_URL", raising=False)
    monkeypatch.setenv("COACH_ACCOUNTS", "required")
    with Store.open(data / "coach.db") as store:
        ann = A.create_account(store, "Ann", "ann's long password")
        bob = A.create_account(store, "Bob", "bob's long password")
        store.for_account(ann.id).save_session("Annas baby", session_result(), "upload", "sun")
        store.for_account(bob.id).save_session("Bobs baby", session_result(), "upload", "sun")
        store.for_account(None).save_session("Home user", session_result(), "upload", "sun")
    for folder in (data / "accounts" / str(ann.id), data / "accounts" / str(bob.id), data):
        live_settings.save_settings(folder, live_settings.LiveSettings(safety_seen=True))
    return data


def everything(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title",
                 "subheader", "selectbox", "dataframe"):  # fmt: skip
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
            parts.extend(str(o) for o in getattr(el, "options", []) or [])
    return "\n".join(parts)


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()
    return at.run()


@pytest.mark.parametrize("script", [APP, PROGRESS, CLASS])
def test_nothing_is_shown_before_signing_in(script, shared_server):
    at = AppTest.from_file(script, default_timeout=60)
    at.session_state["coach_no_webrtc"] = True
    at.run()
    assert not at.exception
    text = everything(at)
    assert "please sign in" in text
    for secret in ("Annas baby", "Bobs baby", "Home user"):
        assert secret not in text
    assert not at.tabs and [t.label for t in at.text_input] == ["Name", "Password"]


@pytest.mark.parametrize("script", [APP, PROGRESS])
def test_each_account_sees_only_its_own_profiles(script, shared_server):
    seen = {}
    for name in ("Ann", "Bob"):
        at = AppTest.from_file(script, default_timeout=60)
        at.session_state["coach_no_webrtc"] = True
        at.run()
        sign_in(at, name, f"{name.lower()}'s long password")
        assert not at.exception
        seen[name] = everything(at)
    assert "Annas baby" in seen["Ann"] and "Bobs baby" not in seen["Ann"]
    assert "Bobs baby" in seen["Bob"] and "Annas baby" not in seen["Bob"]
    assert all("Home user" not in text for text in seen.values())


def test_a_wrong_password_shows_one_calm_line(shared_server):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    sign_in(at, "Ann", "not the password")
    assert [e.value for e in at.error] == ["wrong name or password"]
    assert not at.tabs


def test_settings_are_kept_per_account(shared_server):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["coach_no_webrtc"] = True
    at.run()
    sign_in(at, "Ann", "ann's long password")
    at.selectbox[0].select("water-wheel").run()
    with Store.open(shared_server / "coach.db") as store:
        ann_id = store.account_row("Ann")["id"]
        bob_id = store.account_row("Bob")["id"]
    load = live_settings.load_settings
    assert load(shared_server / "accounts" / str(ann_id)).stroke_id == "water-wheel"
    assert load(shared_server / "accounts" / str(bob_id)).stroke_id != "water-wheel"
    assert load(shared_server).stroke_id != "water-wheel"  # the local account's


def test_at_home_nothing_changes(tmp_path, monkeypatch):
    # make run on loopback: no sign-in, the local account's profiles as before accounts
    data = tmp_path / "data"
    monkeypatch.setenv("COACH_DATA_DIR", str(data))
    monkeypatch.delenv("COACH_ACCOUNTS", raising=False)
    with Store.open(data / "coach.db") as store:
        store.save_session("Home user", session_result(), "upload", "sun")
    live_settings.save_settings(data, live_settings.LiveSettings(safety_seen=True))
    at = AppTest.from_file(PROGRESS, default_timeout=60).run()
    assert not at.exception
    assert "Home user" in everything(at) and not at.text_input


def test_the_page_is_local_by_default():
    # .streamlit/config.toml: loopback only, no usage statistics; make run passes the same
    import subprocess
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["toolbarMode"] == "viewer"  # no "Deploy" (publish) button

    def make_run(*extra: str) -> str:
        cmd = ["make", "--no-print-directory", "-n", "run", *extra]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout

    run = make_run()
    assert "--server.address 127.0.0.1" in run and "--browser.gatherUsageStats false" in run
    assert "--server.address 0.0.0.0" in make_run("HOST=0.0.0.0")
