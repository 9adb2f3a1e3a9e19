"""Sign-in with roles: the pure core (roles, hashing, expiry and lockout arithmetic), the
account store on real DuckDB files, and `safeguard users`. Times are passed explicitly."""

from __future__ import annotations

import base64
import io
import logging
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from safeguard.auth import (
    ROLE_PERMISSIONS,
    ROLE_ROUTINGS,
    AccessDenied,
    Permission,
    RateLimit,
    Role,
    SessionPolicy,
    User,
    can,
    hash_password,
    password_problems,
    require,
    token_digest,
    verify_password,
)
from safeguard.cli import main
from safeguard.errors import SafeguardError
from warehouse.accounts import (
    BAD_CREDENTIALS,
    AccountError,
    AccountStore,
    accounts_path,
)
from warehouse.errors import WarehouseError

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"  # noqa: S105 - a synthetic test user's


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    s = AccountStore(tmp_path / "w.duckdb.accounts.duckdb")
    s.add_user("jdsl", Role.dsl, "Jo DSL", PASSWORD, T0)
    return s


# ---------------------------------------------------------------- pure core


def test_password_hash_round_trip_and_wrong_password() -> None:
    stored = hash_password(PASSWORD)
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "!", stored)
    assert not verify_password("", stored)
    assert hash_password(PASSWORD) != stored  # a fresh salt every time


def test_stored_hash_is_scrypt_with_its_parameters_not_the_password() -> None:
    stored = hash_password(PASSWORD)
    assert PASSWORD not in stored
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32


@pytest.mark.parametrize("stored", [
    "", "plain", "scrypt$16384$8$1$abc", "bcrypt$16384$8$1$AAAA$AAAA",
    "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
    "scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,   # n not a power of two
    "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,  # absurd memory
    "scrypt$16384$8$1$not*base64$" + "A" * 44,
])
def test_a_malformed_stored_hash_is_false_not_an_exception(stored: str) -> None:
    assert verify_password(PASSWORD, stored) is False


def test_password_problems() -> None:
    assert password_problems(PASSWORD) == []
    assert password_problems("short1!") == ["password must be at least 12 characters"]
    assert password_problems("Password1234") == ["password is too easy to guess"]
    assert password_problems("aaaaaaaaaaaaaaa") == ["password is too easy to guess"]
    assert password_problems("jdsl-is-my-password", "jdsl") == [
        "password must not contain the username"]


def test_role_matrix() -> None:
    assert not can(Role.governor, Permission.view_pupil_data)
    assert not can(Role.it, Permission.view_pupil_data)
    assert can(Role.headteacher, Permission.view_audit)
    assert not can(Role.dsl, Permission.view_audit)
    assert can(Role.deputy_dsl, Permission.triage) and can(Role.it, Permission.edit_rules)
    assert not can(Role.dsl, Permission.edit_rules)
    assert ROLE_PERMISSIONS[Role.governor] == {Permission.view_termly, Permission.edit_review}
    assert set(ROLE_PERMISSIONS) == set(Role) == set(ROLE_ROUTINGS)
    assert ROLE_ROUTINGS[Role.deputy_dsl] == {"dsl"} and not ROLE_ROUTINGS[Role.governor]
    require(Role.dsl, Permission.view_pupil_data)
    with pytest.raises(AccessDenied) as denied:
        require(Role.governor, Permission.view_pupil_data)
    assert isinstance(denied.value, SafeguardError)
    assert (denied.value.role, denied.value.permission) == (Role.governor,
                                                            Permission.view_pupil_data)
    assert [r.label for r in Role] == ["DSL", "Deputy DSL", "Headteacher", "Governor", "IT"]
    assert Role.parse("Deputy DSL") is Role.deputy_dsl and Role.parse("IT") is Role.it
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("caretaker")


def test_user_invariants_and_round_trip() -> None:
    user = User("a.head", Role.headteacher, "A Head", T0)
    assert User.from_dict(user.to_dict()) == user
    assert not User("gov1", Role.governor, "G", T0, disabled=False).can(
        Permission.view_pupil_data)
    assert not User("ht", Role.headteacher, "H", T0, disabled=True).can(Permission.view_alerts)
    for bad in ("A.Head", "-x", "x", "has space", "a" * 65, "émile"):
        with pytest.raises(ValueError, match="username"):
            User(bad, Role.dsl, "Name", T0)
    with pytest.raises(ValueError, match="timezone"):
        User("ok.name", Role.dsl, "Name", T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="display name"):
        User("ok.name", Role.dsl, "  ", T0)


def test_session_policy_and_rate_limit_arithmetic() -> None:
    policy = SessionPolicy()
    assert policy.expires_at(T0, T0) == T0 + timedelta(minutes=30)
    assert policy.expires_at(T0, T0 + timedelta(hours=7, minutes=50)) == T0 + timedelta(hours=8)
    limit = RateLimit()
    four = [T0 + timedelta(minutes=i) for i in range(4)]
    assert limit.locked_until(four, T0 + timedelta(minutes=5)) is None
    five = [*four, T0 + timedelta(minutes=4)]
    assert limit.locked_until(five, T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=15)
    assert limit.locked_until(five, T0 + timedelta(minutes=15)) is None  # oldest aged out
    assert limit.locked_until([T0 - timedelta(hours=1)] * 9, T0) is None
    assert token_digest("t") != "t" and len(token_digest("t")) == 64


# ---------------------------------------------------------------- the account store


def test_sign_in_gives_a_token_whose_session_resolves_to_the_user(store: AccountStore) -> None:
    result = store.sign_in("jdsl", PASSWORD, T0)
    assert result.ok and result.token and result.user is not None
    assert result.user.role is Role.dsl and result.token not in repr(result)
    assert store.session_user(result.token, T0 + timedelta(minutes=1)) == result.user
    assert store.session_user("not-a-token", T0) is None
    with duckdb.connect(str(store.path)) as con:  # only digests and hashes are stored
        stored = str(con.execute("SELECT * FROM sessions").fetchall()
                     + con.execute("SELECT * FROM users").fetchall())
    assert token_digest(result.token) in stored
    assert result.token not in stored and PASSWORD not in stored


def test_wrong_password_and_unknown_user_look_the_same(store: AccountStore) -> None:
    wrong = store.sign_in("jdsl", "not the password at all", T0)
    unknown = store.sign_in("nobody", PASSWORD, T0)
    assert not wrong.ok and not unknown.ok
    assert wrong.reason == unknown.reason == BAD_CREDENTIALS
    assert wrong.token is None and unknown.token is None and wrong.user is None
    assert store.failed_signins(T0) == 2 and store.failed_signins(T0 + timedelta(1)) == 0


def test_five_failures_lock_even_the_right_password_until_the_window_passes(
        store: AccountStore) -> None:
    for i in range(5):
        r = store.sign_in("jdsl", "wrong password again", T0 + timedelta(minutes=i))
        assert not r.ok
    assert r.locked_until == T0 + timedelta(minutes=15)
    locked = store.sign_in("jdsl", PASSWORD, T0 + timedelta(minutes=10))
    assert not locked.ok and locked.token is None
    assert locked.reason == "too many failed sign-ins; try again after 09:15 UTC"
    # refusals while locked do not extend the lock
    assert not store.sign_in("jdsl", PASSWORD, T0 + timedelta(minutes=14, seconds=59)).ok
    assert store.sign_in("jdsl", PASSWORD, T0 + timedelta(minutes=15)).ok
    # unknown usernames lock the same way, so a lock tells nothing about who exists
    for i in range(5):
        store.sign_in("ghost", "whatever it is", T0 + timedelta(seconds=i))
    assert store.sign_in("ghost", "x", T0 + timedelta(minutes=1)).reason.startswith("too many")


def test_a_success_resets_the_failure_count(store: AccountStore) -> None:
    for i in range(4):
        store.sign_in("jdsl", "wrong password again", T0 + timedelta(seconds=i))
    assert store.sign_in("jdsl", PASSWORD, T0 + timedelta(seconds=10)).ok
    store.sign_in("jdsl", "wrong password again", T0 + timedelta(seconds=20))
    assert store.sign_in("jdsl", PASSWORD, T0 + timedelta(seconds=30)).ok


def test_sessions_expire_when_idle_and_after_their_lifetime(store: AccountStore) -> None:
    token = store.sign_in("jdsl", PASSWORD, T0).token
    assert token
    assert store.session_user(token, T0 + timedelta(minutes=29))
    assert store.session_user(token, T0 + timedelta(minutes=58))  # last use slid it forward
    assert store.session_user(token, T0 + timedelta(minutes=88, seconds=1)) is None
    idle = store.sign_in("jdsl", PASSWORD, T0).token
    assert idle and store.session_user(idle, T0 + timedelta(minutes=29), touch=False)
    assert store.session_user(idle, T0 + timedelta(minutes=31)) is None  # refresh != use
    hour = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=1))
    busy = store.sign_in("jdsl", PASSWORD, T0, policy=hour).token
    assert busy  # used every 20 minutes, so never idle, yet over after its hour
    assert store.session_user(busy, T0 + timedelta(minutes=20), hour)
    assert store.session_user(busy, T0 + timedelta(minutes=40), hour)
    assert store.session_user(busy, T0 + timedelta(minutes=59), hour)
    assert store.session_user(busy, T0 + timedelta(minutes=60), hour) is None
    short = SessionPolicy(idle=timedelta(minutes=5))
    token = store.sign_in("jdsl", PASSWORD, T0, policy=short).token
    assert token and store.session_user(token, T0 + timedelta(minutes=6), short) is None


def test_sign_out_ends_the_session(store: AccountStore) -> None:
    token = store.sign_in("jdsl", PASSWORD, T0).token
    assert token and store.sign_out(token, T0 + timedelta(minutes=1))
    assert store.session_user(token, T0 + timedelta(minutes=2)) is None
    assert not store.sign_out(token, T0 + timedelta(minutes=3))


def test_removed_or_disabled_users_sessions_stop_working(store: AccountStore) -> None:
    token = store.sign_in("jdsl", PASSWORD, T0).token
    assert token and store.remove_user("jdsl", T0 + timedelta(minutes=1))
    assert store.session_user(token, T0 + timedelta(minutes=2)) is None
    assert not store.remove_user("jdsl")
    assert store.sign_in("jdsl", PASSWORD, T0 + timedelta(minutes=3)).reason == BAD_CREDENTIALS
    store.add_user("jdsl", Role.it, "New Person", PASSWORD, T0 + timedelta(minutes=4))
    assert store.session_user(token, T0 + timedelta(minutes=5)) is None  # not inherited
    token = store.sign_in("jdsl", PASSWORD, T0 + timedelta(minutes=6)).token
    assert token and store.set_disabled("jdsl", True, T0 + timedelta(minutes=7))
    assert store.session_user(token, T0 + timedelta(minutes=8)) is None
    refused = store.sign_in("jdsl", PASSWORD, T0 + timedelta(minutes=9))
    assert not refused.ok and refused.reason == BAD_CREDENTIALS
    assert store.list_users()[0].disabled


def test_account_changes_are_refused_with_a_reason(store: AccountStore) -> None:
    with pytest.raises(AccountError, match="already exists"):
        store.add_user("jdsl", Role.governor, "Other", PASSWORD, T0)
    with pytest.raises(AccountError, match="at least 12") as weak:
        store.add_user("gov1", Role.governor, "Gov", "short", T0)
    assert isinstance(weak.value, WarehouseError) and "12" in weak.value.reason
    with pytest.raises(AccountError, match="username"):
        store.add_user("Bad Name", Role.governor, "Gov", PASSWORD, T0)
    with pytest.raises(AccountError, match="no user"):
        store.set_password("nobody", PASSWORD + "x")
    assert [u.username for u in store.list_users()] == ["jdsl"]


def test_set_password_changes_it_and_ends_sessions(store: AccountStore) -> None:
    token = store.sign_in("jdsl", PASSWORD, T0).token
    assert token
    store.set_password("jdsl", "a new long passphrase", T0 + timedelta(minutes=1))
    assert store.session_user(token, T0 + timedelta(minutes=2)) is None
    assert not store.sign_in("jdsl", PASSWORD, T0 + timedelta(minutes=3)).ok
    assert store.sign_in("jdsl", "a new long passphrase", T0 + timedelta(minutes=4)).ok


def test_two_stores_in_one_process_share_one_file(tmp_path: Path) -> None:
    path = accounts_path(tmp_path / "w.duckdb")
    assert path == tmp_path / "w.duckdb.accounts.duckdb"
    a, b = AccountStore(path), AccountStore(path)
    a.add_user("head", Role.headteacher, "The Head", PASSWORD, T0)
    assert [u.username for u in b.list_users()] == ["head"]
    token = b.sign_in("head", PASSWORD, T0).token
    assert token and a.session_user(token, T0) == b.list_users()[0]
    assert a.sign_out(token, T0) and b.session_user(token, T0) is None


def test_threads_of_one_process_can_use_the_store_at_once(store: AccountStore) -> None:
    """The dashboard serves each browser session from its own thread."""
    token = store.sign_in("jdsl", PASSWORD, T0).token
    assert token
    seen: list[object] = []

    def use() -> None:
        mine = AccountStore(store.path)
        for i in range(5):
            try:
                seen.append(mine.session_user(token, T0 + timedelta(seconds=i)))
                mine.sign_out("no such token", T0)  # a write that commits nothing
            except Exception as exc:  # collected, asserted below
                seen.append(exc)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 20 and all(isinstance(u, User) for u in seen), seen


HOLD = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
        " time.sleep(float(sys.argv[2])); c.close()")


def test_a_file_held_by_another_process_is_waited_for_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    AccountStore(path).add_user("it1", Role.it, "IT", PASSWORD, T0)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "0.6"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert [u.username for u in AccountStore(path).list_users()] == ["it1"]  # waited
    finally:
        holder.wait(timeout=30)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "5"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseError, match="busy"):
            AccountStore(path, lock_timeout=0.3).list_users()
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_failed_sign_in_logs_name_no_one(store: AccountStore,
                                         caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        store.sign_in("jdsl", "wrong password again", T0)
        store.sign_in("someone.else", "wrong password again", T0)
        for i in range(5):
            store.sign_in("jdsl", "wrong password again", T0 + timedelta(seconds=i))
        store.sign_in("jdsl", PASSWORD, T0 + timedelta(seconds=10))
    text = caplog.text
    assert "sign-in refused: bad credentials" in text and "sign-in refused: locked" in text
    assert "jdsl" not in text and "someone" not in text and "Jo DSL" not in text


# ---------------------------------------------------------------- safeguard users


def test_users_cli_add_list_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.duckdb")

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["users", *argv, "--db", db])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("add", "alice.smith", "--role", "deputy-dsl", "--name", "Alice Smith",
                       "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "alice.smith (Deputy DSL)" in out
    store = AccountStore(accounts_path(Path(db)))
    assert store.sign_in("alice.smith", PASSWORD, T0).ok  # the newline was not kept
    assert run("add", "gov1", "--role", "governor", "--password-stdin",
               stdin=PASSWORD + "\n")[0] == 0
    code, out, _ = run("list")
    assert code == 0 and "alice.smith" in out and "Deputy DSL" in out and "Alice Smith" in out
    assert "gov1" in out and "2 user(s)" in out
    assert "scrypt" not in out and "$" not in out and PASSWORD not in out
    code, _, err = run("add", "bob", "--role", "dsl", "--password-stdin", stdin="short\n")
    assert code == 2 and "safeguard: error:" in err and "at least 12" in err
    code, _, err = run("add", "bob", "--role", "caretaker", "--password-stdin",
                       stdin=PASSWORD + "\n")
    assert code == 2 and "unknown role" in err
    code, _, err = run("add", "gov1", "--role", "it", "--password-stdin",
                       stdin=PASSWORD + "\n")
    assert code == 2 and "already exists" in err
    code, out, _ = run("remove", "alice.smith")
    assert code == 0 and "removed alice.smith" in out
    assert run("remove", "alice.smith")[0] == 2
    code, out, _ = run("list")
    assert "alice.smith" not in out and "1 user(s)" in out
    assert not (tmp_path / "w.duckdb").exists()  # the warehouse file is never touched
