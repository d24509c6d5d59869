"""Who is using the page: the implicit local account, or a signed-in account.

``make run`` serves this computer only (``server.address = 127.0.0.1`` in
``.streamlit/config.toml``): then there is one implicit local account
(:data:`coach.storage.accounts.LOCAL`) and nobody signs in, as before accounts existed.
A server that other machines can reach (``make run HOST=0.0.0.0``, any non-loopback
``server.address``), or one started with ``COACH_ACCOUNTS=required`` (behind a proxy
on the same machine), asks every visitor to sign in first
(:func:`require_account`); each account then sees only its own profiles, sessions
and settings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from coach.render.text import md_text
from coach.storage import accounts, paths
from coach.storage.accounts import LOCAL, Account, SignInError
from coach.storage.store import Store, StoreError

_KEY = "coach_account"


def is_loopback(address: str | None) -> bool:
    """Whether a server listening on ``address`` is reachable from this computer only.
    Unset or empty means every interface (not loopback)."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume others can reach it


def sign_in_required(address: str | None, environ: Mapping[str, str] | None = None) -> bool:
    """Sign-in is required unless the server listens on loopback only and
    ``COACH_ACCOUNTS`` does not ask for it (``required``)."""
    if paths.accounts_required(environ):
        return True
    return not is_loopback(address)


def _server_address() -> str | None:
    return st.get_option("server.address")


def current_account() -> Account | None:
    """The account of this browser session: the local one when nobody needs to sign in,
    the signed-in one, or None (not signed in yet)."""
    if not sign_in_required(_server_address()):
        return LOCAL
    return st.session_state.get(_KEY)


def settings_dir(data_dir: Path, account: Account | None = None) -> Path:
    """Where an account's settings (calibration, mirroring, stroke...) are kept: the data
    folder itself for the local account (as before accounts), else its own subfolder."""
    account = current_account() if account is None else account
    if account is None or account.id is None:
        return Path(data_dir)
    return Path(data_dir) / "accounts" / str(int(account.id))


def scoped(store: Store) -> Store:
    """``store`` as the current account sees it; StoreError when nobody signed in."""
    account = current_account()
    if account is None:
        raise StoreError("sign in first")
    return store.for_account(account.id)


def require_account(store_factory) -> Account:
    """The current account; when sign-in is required and nobody signed in yet, the
    sign-in form, then ``st.stop()`` (nothing else of the page runs)."""
    account = current_account()
    if account is not None:
        return account
    st.title("Stroke Coach")
    st.info(
        "This Stroke Coach can be reached from other computers, so please sign in. "
        "Accounts are made by whoever runs it (`coach accounts add NAME`)."
    )
    with st.form("sign_in"):
        name = st.text_input("Name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            st.session_state[_KEY] = accounts.sign_in(store_factory(), name, password)
        except SignInError as exc:
            st.error(md_text(exc))
        except StoreError as exc:
            st.error(md_text(f"Signing in is not possible right now: {exc}"))
        else:
            st.session_state.pop("sign_in_password", None)
            st.rerun()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def account_sidebar() -> None:
    """Who is signed in, and the way out (nothing when there are no accounts)."""
    account = current_account()
    if account is None or account.id is None:
        return
    with st.sidebar:
        role = " (instructor)" if account.is_instructor else ""
        st.caption(md_text(f"Signed in as {account.name}{role}"))
        if st.button("Sign out", key="sign_out"):
            for key in list(st.session_state.keys()):
                del st.session_state[key]
            st.rerun()
