"""Accounts (issue 12, point 1): each account sees and exports only its own profiles and
sessions; an instructor sees what a trainee shared; passwords are scrypt hashes and
sign-in attempts are rate limited; the schema migration keeps existing data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coach.cli import main
from coach.core.pipeline import SessionResult
from coach.core.types import FLAG_CODES
from coach.services.session_report import session_report_html
from coach.storage import accounts as A
from coach.storage.store import SCHEMA_VERSION, Store, StoreError
from tests.test_store import (  # noqa: F401 - fixtures: SQLite and a private PostgreSQL
    REPS,
    Backend,
    backend,
    build_v1_database,
    pg_admin_url,
    pg_database_url,
)


def session_result() -> SessionResult:
    flags = {code: 0 for code in FLAG_CODES}
    return SessionResult("sun", REPS[:1], (), (), 100, 100, 62, flags)


@pytest.fixture()
def store(backend):  # noqa: F811 - the imported fixture
    with Store.open(backend.url) as s:
        yield s


@pytest.fixture()
def people(store):
    """Ann and Bob (trainees), Ida (instructor); Ann and Bob both have a profile 'Baby'."""
    ann = A.create_account(store, "Ann", "ann's long password")
    bob = A.create_account(store, "Bob", "bob's long password")
    ida = A.create_account(store, "Ida", "ida's long password", role="instructor")
    return ann, bob, ida


# -- passwords ----------------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes():
    one, two = A.hash_password("correct horse"), A.hash_password("correct horse")
    assert one.startswith("scrypt$16384$8$1$") and one != two  # a fresh salt each time
    assert "correct horse" not in one
    assert A.verify_password("correct horse", one) and A.verify_password("correct horse", two)
    assert not A.verify_password("correct hors", one)
    assert not A.verify_password("x", "not a hash") and not A.verify_password("x", "md5$a$b$c$d$e")


@pytest.mark.parametrize("password", ["short", "", "x" * 1025, None])
def test_weak_or_absurd_passwords_are_refused(password, tmp_path):
    with Store.open(tmp_path / "coach.db") as store, pytest.raises(ValueError, match="password"):
        A.create_account(store, "Ann", password)
    with Store.open(tmp_path / "coach.db") as store:
        assert store.accounts() == []


def test_the_stored_row_holds_no_password(store, people):
    row = store.account_row("ann")
    assert "ann's long password" not in repr(row)
    assert row["password_hash"].startswith("scrypt$")


def test_account_names_are_unique_ignoring_case(store, people):
    with pytest.raises(StoreError, match="already exists"):
        A.create_account(store, "ANN", "another long password")


# -- signing in ---------------------------------------------------------------------------------


class Unlimited:
    def allow(self, now):
        return 0.0


def test_sign_in(store, people):
    ann, _, ida = people
    assert A.sign_in(store, "ann", "ann's long password", limiter=Unlimited()) == ann
    assert A.sign_in(store, "Ida", "ida's long password", limiter=Unlimited()).is_instructor
    for name, password in [("Ann", "bob's long password"), ("Nobody", "ann's long password")]:
        with pytest.raises(A.SignInError, match="^wrong name or password$"):
            A.sign_in(store, name, password, limiter=Unlimited())


def test_wrong_passwords_lock_the_account_for_longer_each_time(store, people):
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(A.FREE_ATTEMPTS):
        with pytest.raises(A.SignInError, match="wrong name or password"):
            A.sign_in(store, "Ann", "guess guess guess", now=t0, limiter=Unlimited())
    # locked for 30 s: even the right password is refused meanwhile
    with pytest.raises(A.SignInError, match="try again in 30 s"):
        A.sign_in(store, "Ann", "ann's long password", now=t0, limiter=Unlimited())
    later = t0 + timedelta(seconds=31)
    with pytest.raises(A.SignInError, match="wrong name or password"):
        A.sign_in(store, "Ann", "guess again guess", now=later, limiter=Unlimited())
    with pytest.raises(A.SignInError, match="try again in 60 s"):  # doubled
        A.sign_in(store, "Ann", "ann's long password", now=later, limiter=Unlimited())
    ok = A.sign_in(store, "Ann", "ann's long password", now=later + timedelta(seconds=61),
                   limiter=Unlimited())  # fmt: skip
    assert ok.name == "Ann" and store.account_row("Ann")["failed_sign_ins"] == 0


@pytest.mark.parametrize(
    "failed, seconds",
    [(0, 0), (4, 0), (5, 30), (6, 60), (9, 480), (10, 900), (50, 900)],  # capped at 15 min
)
def test_lock_seconds(failed, seconds):
    assert A.lock_seconds(failed) == seconds


def test_the_server_limits_attempts_over_all_names():
    limiter = A._ProcessLimiter(per_minute=3)
    assert [limiter.allow(100.0 + i) for i in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.allow(103.0) == pytest.approx(57.0)  # the 4th in a minute waits
    assert limiter.allow(160.5) == 0.0  # a minute after the first


# -- who sees what ------------------------------------------------------------------------------


def test_each_account_sees_only_its_own_profiles_and_sessions(store, people):
    ann, bob, ida = people
    as_ann, as_bob, as_ida = (store.for_account(a.id) for a in people)
    ann_sid = as_ann.save_session("Baby", session_result(), "upload", "sun")
    bob_sid = as_bob.save_session("Baby", session_result(), "upload", "sun")
    assert ann_sid != bob_sid
    assert as_ann.profiles() == ["Baby"] and as_bob.profiles() == ["Baby"]
    assert [r.id for r in as_ann.sessions()] == [ann_sid]
    assert [r.id for r in as_bob.sessions(profile="Baby")] == [bob_sid]
    assert as_ida.sessions() == [] and as_ida.profiles() == []
    assert store.for_account(None).sessions() == []  # the local account: none of these
    for other, sid in ((as_bob, ann_sid), (as_ida, ann_sid), (as_ann, bob_sid)):
        for read in (other.session, other.repetitions, other.hints, other.session_report):
            with pytest.raises(StoreError, match=f"no session with id {sid}"):
                read(sid)
        with pytest.raises(StoreError, match=f"no session with id {sid}"):
            session_report_html(other, sid)  # the HTML export
        assert other.delete_session(sid) is False
    assert [len(p) for p in (as_ann.progress("Baby", "sun"), as_bob.progress("Baby", "sun"))] == [
        1,
        1,
    ]
    assert len(store.sessions()) == 2  # the unscoped store (CLI, administrator) sees all


def test_writes_to_another_accounts_open_session_are_refused(store, people):
    as_ann, as_bob, _ = (store.for_account(a.id) for a in people)
    sid = as_ann.start_session("Baby", "sun", "sun", "live")
    with pytest.raises(StoreError, match=f"no session with id {sid}"):
        as_bob.add_repetition(sid, REPS[0])
    with pytest.raises(StoreError, match=f"no session with id {sid}"):
        as_bob.finish_session(sid)
    as_ann.add_repetition(sid, REPS[0])


def test_an_instructor_sees_what_a_trainee_shared(store, people):
    ann, bob, ida = people
    as_ann, as_bob, as_ida = (store.for_account(a.id) for a in people)
    shared = as_ann.save_session("Baby", session_result(), "upload", "sun")
    private = as_ann.save_session("Baby", session_result(), "upload", "sun")
    as_ann.share_session(shared, "ida")
    assert as_ann.shared_with(shared) == ["Ida"] and as_ann.shared_with(private) == []
    rows = as_ida.shared_sessions()
    assert [(r.id, r.owner, r.profile) for r in rows] == [(shared, "Ann", "Baby")]
    assert as_ida.session_report(shared)["session"]["id"] == shared
    with pytest.raises(StoreError, match=f"no session with id {private}"):
        as_ida.session_report(private)
    with pytest.raises(StoreError, match="no instructor account named 'Bob'"):
        as_ann.share_session(private, "Bob")  # a trainee is not an instructor
    with pytest.raises(StoreError, match=f"no session with id {shared}"):
        as_bob.share_session(shared, "Ida")  # only the owner shares
    assert as_ida.delete_session(shared) is False  # seeing is not owning
    as_ann.unshare_session(shared, "Ida")
    assert as_ida.shared_sessions() == []


def test_an_old_database_is_migrated_and_stays_the_local_users(backend):  # noqa: F811
    build_v1_database(backend)
    with Store.open(backend.url) as s:
        assert s.schema_version() == SCHEMA_VERSION
        local = s.for_account(None)
        assert local.profiles() == ["Old"] and [r.profile for r in local.sessions()] == ["Old"]
        ann = A.create_account(s, "Ann", "ann's long password")
        assert s.for_account(ann.id).sessions() == [] and s.for_account(ann.id).profiles() == []
        as_ann = s.for_account(ann.id)
        as_ann.save_session("Old", session_result(), "upload", "sun")  # same name, own profile
        assert local.profiles() == ["Old"] and len(local.sessions()) == 1


# -- the CLI that makes accounts ----------------------------------------------------------------


def test_cli_accounts_add_and_list(tmp_path, monkeypatch, capsys):
    import io

    db = tmp_path / "coach.db"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    status = main(["accounts", "add", "Ida", "--instructor", "--password-stdin", "--database",
                   str(db)])  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "a long enough password" not in out + err
    assert main(["accounts", "list", "--database", str(db)]) == 0
    assert capsys.readouterr().out.splitlines() == ["Ida\tinstructor"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    status = main(["accounts", "add", "Bob", "--password-stdin", "--database", str(db)])
    assert status == 2 and "password" in capsys.readouterr().err
