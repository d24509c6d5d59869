"""Local accounts for a Stroke Coach server that other machines can reach.

On a server that only this computer can reach (``make run``: loopback) there is one
implicit local account (:data:`LOCAL`) and nobody signs in. A server that listens
on another address (``make run HOST=0.0.0.0``) or runs with ``COACH_ACCOUNTS=required``
asks every visitor to sign in with an account made by whoever runs the server
(``coach accounts add NAME``). Each account sees and exports only its own profiles,
sessions and settings; an *instructor* account also sees the sessions a trainee chose
to share with it.

Passwords are stored as scrypt hashes (``hashlib.scrypt``, n=2^14, r=8, p=1, a
random 16-byte salt per account), compared in constant time. Sign-in attempts are
rate limited twice: per account (after :data:`FREE_ATTEMPTS` wrong passwords in a
row the account is locked for 30 s, doubling with every further wrong password up to
15 minutes; stored in the database, so it holds across restarts and processes) and
per server process (at most :data:`PROCESS_ATTEMPTS_PER_MINUTE` attempts a minute
over all names, so guessing many names is slow too). Wrong name and wrong password
give the same message and take the same time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from coach.storage.store import ACCOUNT_ROLES, Store, StoreError, validate_profile_name

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
FREE_ATTEMPTS = 5
FIRST_LOCK_S = 30.0
MAX_LOCK_S = 900.0
PROCESS_ATTEMPTS_PER_MINUTE = 30


class SignInError(Exception):
    """A sign-in was refused; the message is safe to show (one line, no hint whether
    the name exists)."""


@dataclass(frozen=True)
class Account:
    """Who is using the page. ``id`` None is the implicit local account."""

    id: int | None
    name: str
    role: str  # "trainee" | "instructor"

    @property
    def is_instructor(self) -> bool:
        return self.role == "instructor"


#: The one account of a server only this computer can reach: every profile made there
#: (and every profile made before accounts existed) belongs to it.
LOCAL = Account(None, "this computer", "instructor")


# -- passwords ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_password_rules(password: object) -> str:
    """The password, or ValueError saying what is expected (length only: a passphrase of
    a few words is better than a short complicated one)."""
    if not isinstance(password, str):
        raise ValueError("password: expected text")
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise ValueError(
            f"password: expected {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, "
            f"found {len(password)}"
        )
    return password


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time comparison)."""
    try:
        kind, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if kind != "scrypt":
            return False
        salt, digest = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(digest)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, digest)


_DUMMY_HASH = hash_password("not a real password", salt=b"\0" * SALT_BYTES)


# -- managing accounts (the server's owner, through the CLI) ------------------------------------


def create_account(store: Store, name: str, password: str, role: str = "trainee") -> Account:
    """A new account (ValueError for a bad name, role or password; StoreError if taken)."""
    clean = validate_profile_name(name)
    if role not in ACCOUNT_ROLES:
        raise ValueError(f"role: expected one of {', '.join(ACCOUNT_ROLES)}, found {role!r}")
    check_password_rules(password)
    account_id = store.add_account(clean, role, hash_password(password))
    return Account(account_id, clean, role)


def set_password(store: Store, name: str, password: str) -> None:
    row = store.account_row(name)
    if row is None:
        raise StoreError(f"no account named {name!r}")
    check_password_rules(password)
    store.update_account(
        row["id"], password_hash=hash_password(password), failed_sign_ins=0, locked_until=None
    )


def list_accounts(store: Store) -> list[Account]:
    return [Account(r["id"], r["name"], r["role"]) for r in store.accounts()]


def instructors(store: Store) -> list[Account]:
    return [Account(r["id"], r["name"], r["role"]) for r in store.accounts(role="instructor")]


# -- signing in ---------------------------------------------------------------------------------


class _ProcessLimiter:
    """At most ``per_minute`` attempts a minute in this process, over all names."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self, now: float) -> float:
        """0 when an attempt may go ahead now (and counts it), else the seconds to wait."""
        with self._lock:
            while self._times and now - self._times[0] >= 60.0:
                self._times.popleft()
            if len(self._times) >= self.per_minute:
                return 60.0 - (now - self._times[0])
            self._times.append(now)
            return 0.0


_limiter = _ProcessLimiter(PROCESS_ATTEMPTS_PER_MINUTE)


def lock_seconds(failed: int) -> float:
    """How long an account is locked after ``failed`` wrong passwords in a row."""
    if failed < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_LOCK_S, FIRST_LOCK_S * 2.0 ** (failed - FREE_ATTEMPTS))


def sign_in(
    store: Store, name: str, password: str, *, now: datetime | None = None, limiter=None
) -> Account:
    """The account ``name`` if ``password`` is right; SignInError otherwise (and when
    the account or this server is rate limited)."""
    now = datetime.now(UTC) if now is None else now
    wait = (limiter or _limiter).allow(time.monotonic())
    if wait > 0:
        raise SignInError(f"too many sign-in attempts on this server; try again in {wait:.0f} s")
    row = store.account_row(name) if isinstance(name, str) else None
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
        password = ""
    if row is None:
        verify_password(password, _DUMMY_HASH)  # the same time as a real check
        raise SignInError("wrong name or password")
    locked_until = row["locked_until"]
    if locked_until is not None and locked_until > now:
        left = (locked_until - now).total_seconds()
        raise SignInError(f"too many wrong passwords; try again in {left:.0f} s")
    if not verify_password(password, row["password_hash"]):
        failed = int(row["failed_sign_ins"] or 0) + 1
        lock = lock_seconds(failed)
        store.update_account(
            row["id"],
            failed_sign_ins=failed,
            locked_until=now + timedelta(seconds=lock) if lock else None,
        )
        raise SignInError("wrong name or password")
    if row["failed_sign_ins"] or row["locked_until"] is not None:
        store.update_account(row["id"], failed_sign_ins=0, locked_until=None)
    return Account(row["id"], row["name"], row["role"])
