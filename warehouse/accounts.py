"""Dashboard users, their sessions and every sign-in attempt, in a small DuckDB file of
their own beside the warehouse.

Not in the warehouse file: the ingest process holds that one for writing (DuckDB allows
one process per file) while people sign in. So this store keeps no connection between
calls: each operation opens the file, does its work in one transaction and closes it,
and waits a little if the CLI or another dashboard process has it open at that moment.
Only digests of session tokens and scrypt hashes of passwords are stored; log lines name
no one.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from safeguard.auth import (
    RateLimit,
    Role,
    SessionPolicy,
    User,
    hash_password,
    new_session_token,
    password_problems,
    token_digest,
    verify_password,
)
from warehouse.errors import WarehouseError
from warehouse.sqlutil import transaction

log = logging.getLogger(__name__)
T = TypeVar("T")

BAD_CREDENTIALS = "bad username or password"  # the same words for every wrong guess
LOCK_TIMEOUT = 5.0  # seconds to wait for another process to let go of the file
_MAX_TYPED = 128  # what is kept of a typed username (it may be anything)
# DuckDB shares one open database per file in a process and races when one thread closes
# it while another opens it (Streamlit serves sessions from threads): one op at a time
_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()
_RETRYABLE: tuple[type[Exception], ...] = (
    duckdb.IOException, duckdb.TransactionException,
    *([duckdb.ResourceInUseException] if hasattr(duckdb, "ResourceInUseException") else []))

# (version, description, statements); append only, as in warehouse.schema
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "users, sessions, sign-in attempts", (
        """CREATE TABLE users (
            username VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, display_name VARCHAR NOT NULL,
            password_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
            disabled_at TIMESTAMP
        )""",
        # times are UTC; the token itself is never stored, only its sha256
        """CREATE TABLE sessions (
            token_digest VARCHAR PRIMARY KEY, username VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP
        )""",
        # reason: ok | bad password | unknown user | disabled | locked; "at" is a reserved
        # word in DuckDB, so every query quotes it
        """CREATE TABLE signin_attempts (
            attempt_id VARCHAR PRIMARY KEY, "at" TIMESTAMP NOT NULL, username VARCHAR NOT NULL,
            success BOOLEAN NOT NULL, reason VARCHAR NOT NULL
        )""",
        "CREATE INDEX signin_attempts_user ON signin_attempts (username)",
    )),
)


class AccountError(WarehouseError):
    """An account change was refused; `reason` is the sentence to show the person."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class SignInResult:
    """The outcome of one sign-in; `token` (plaintext) exists only here, only on success."""

    ok: bool
    user: User | None = None
    token: str | None = field(default=None, repr=False)
    reason: str = ""
    locked_until: datetime | None = None


def accounts_path(db_path: Path) -> Path:
    """The account store that belongs to the warehouse at `db_path`."""
    return db_path.with_name(db_path.name + ".accounts.duckdb")


def _naive(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("times given to the account store must be timezone-aware")
    return dt.astimezone(UTC).replace(tzinfo=None)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC)


def _locked_reason(until: datetime) -> str:
    shown = until.astimezone(UTC)
    if shown.second or shown.microsecond:  # "after 10:16", not a minute too early
        shown = shown.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return f"too many failed sign-ins; try again after {shown:%H:%M} UTC"


@functools.cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so a miss costs as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)")
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    have = int(row[0]) if row else 0
    for version, description, statements in MIGRATIONS:
        if version <= have:
            continue
        with transaction(con):
            for statement in statements:
                con.execute(statement)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                        [version, description])


def _user(row: Sequence[Any]) -> User:
    username, role, display_name, created_at, disabled_at = row
    return User(username=username, role=Role(role), display_name=display_name,
                created_at=_aware(created_at), disabled=disabled_at is not None)


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> int:
    """Rows changed by an UPDATE or DELETE (DuckDB returns the count as a row)."""
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _revoke(con: duckdb.DuckDBPyConnection, username: str, at: datetime) -> None:
    con.execute("UPDATE sessions SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
                [at, username])


class AccountStore:
    """Users, sessions and sign-in attempts in the DuckDB file at `path`."""

    def __init__(self, path: Path, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._ready = False
        with _FILE_LOCKS_GUARD:
            self._lock = _FILE_LOCKS.setdefault(str(self.path.absolute()), threading.Lock())

    def _once(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            if not self._ready:
                _migrate(con)
                self._ready = True
            with transaction(con):
                return work(con)
        finally:
            con.close()

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`work` in one transaction; retried while another process holds the file or a
        concurrent transaction in this one conflicts, until the deadline."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.01
        busy = WarehouseError(f"the account store is busy (held by another process for more "
                              f"than {self.lock_timeout:g} s); try again", path=str(self.path))
        while True:
            if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise busy
            try:
                return self._once(work)
            except _RETRYABLE as exc:
                if (isinstance(exc, duckdb.IOException)
                        and "could not set lock" not in str(exc).lower()):
                    raise WarehouseError(f"cannot use the account store: {exc}",
                                         path=str(self.path)) from exc
                if time.monotonic() + delay > deadline:
                    raise busy from exc
            finally:
                self._lock.release()
            time.sleep(delay)  # outside the lock, so this process's other callers go on
            delay = min(delay * 2, 0.25)

    def add_user(self, username: str, role: Role, display_name: str, password: str,
                 now: datetime) -> User:
        """A new user; refused (AccountError) for a bad or taken username or a weak password."""
        try:
            user = User(username=username, role=Role(role), display_name=display_name.strip(),
                        created_at=now)
        except ValueError as exc:
            raise AccountError(str(exc)) from exc
        problems = password_problems(password, username)
        if problems:
            raise AccountError("; ".join(problems))
        stored = hash_password(password)

        def work(con: duckdb.DuckDBPyConnection) -> None:
            if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                raise AccountError(f"a user named {username!r} already exists")
            con.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, NULL)",
                        [username, user.role.value, user.display_name, stored, _naive(now)])

        try:
            self._run(work)
        except duckdb.ConstraintException as exc:  # added by someone else just now
            raise AccountError(f"a user named {username!r} already exists") from exc
        return user

    def remove_user(self, username: str, now: datetime | None = None) -> bool:
        """Delete the user (and their password hash) and end their sessions; False if absent."""
        at = _naive(now or datetime.now(UTC))

        def work(con: duckdb.DuckDBPyConnection) -> bool:
            _revoke(con, username, at)
            return _count(con, "DELETE FROM users WHERE username = ?", [username]) > 0

        return self._run(work)

    def set_disabled(self, username: str, disabled: bool, now: datetime) -> bool:
        """Suspend (ending their sessions) or restore a user; False if there is no such user."""
        at = _naive(now)

        def work(con: duckdb.DuckDBPyConnection) -> bool:
            if disabled:
                _revoke(con, username, at)
            return _count(con, "UPDATE users SET disabled_at = ? WHERE username = ?",
                          [at if disabled else None, username]) > 0

        return self._run(work)

    def list_users(self) -> list[User]:
        return self._run(lambda con: [_user(r) for r in con.execute(
            "SELECT username, role, display_name, created_at, disabled_at FROM users "
            "ORDER BY username").fetchall()])

    def set_password(self, username: str, password: str, now: datetime | None = None) -> None:
        """A new password; the user's open sessions end, as after any reset."""
        problems = password_problems(password, username)
        if problems:
            raise AccountError("; ".join(problems))
        stored = hash_password(password)
        at = _naive(now or datetime.now(UTC))

        def work(con: duckdb.DuckDBPyConnection) -> None:
            if not _count(con, "UPDATE users SET password_hash = ? WHERE username = ?",
                          [stored, username]):
                raise AccountError(f"no user named {username!r}")
            _revoke(con, username, at)

        self._run(work)

    def sign_in(self, username: str, password: str, now: datetime,
                policy: SessionPolicy = SessionPolicy(),  # noqa: B008 - frozen value
                limit: RateLimit = RateLimit()) -> SignInResult:  # noqa: B008
        """Check a password and open a session. Every attempt is recorded; after too many
        failures the username is refused, right password or not, until they age out."""
        at = _naive(now)
        name = username.strip().lower()[:_MAX_TYPED]

        def record(con: duckdb.DuckDBPyConnection, success: bool, reason: str) -> None:
            con.execute("INSERT INTO signin_attempts VALUES (?, ?, ?, ?, ?)",
                        [uuid.uuid4().hex, at, name, success, reason])

        def work(con: duckdb.DuckDBPyConnection) -> tuple[SignInResult, str]:
            failures: list[datetime] = []
            for when, success, reason in con.execute(
                    'SELECT "at", success, reason FROM signin_attempts WHERE username = ? '
                    'AND "at" > ? AND "at" <= ? ORDER BY "at"',
                    [name, _naive(now - limit.window), at]).fetchall():
                if success:
                    failures = []  # a success starts the count again
                elif reason != "locked":  # refusals while locked do not extend the lock
                    failures.append(_aware(when))
            locked = limit.locked_until(failures, now)
            if locked is not None:
                record(con, False, "locked")
                return SignInResult(False, reason=_locked_reason(locked),
                                    locked_until=locked), "locked"
            row = con.execute("SELECT password_hash, username, role, display_name, created_at, "
                              "disabled_at FROM users WHERE username = ?", [name]).fetchone()
            good = verify_password(password, row[0] if row else _dummy_hash())
            if row is None or not good or row[5] is not None:
                why = ("unknown user" if row is None else "bad password" if not good
                       else "disabled")
                record(con, False, why)
                locked = limit.locked_until([*failures, now], now)
                return SignInResult(False, reason=BAD_CREDENTIALS,
                                    locked_until=locked), "bad credentials"
            user = _user(row[1:])
            token = new_session_token()
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, NULL)",
                        [token_digest(token), name, at, at,
                         _naive(policy.expires_at(now, now))])
            record(con, True, "ok")
            return SignInResult(True, user=user, token=token), "ok"

        result, outcome = self._run(work)
        if result.ok:
            log.info("sign-in accepted")
        else:  # no username here: logs leave the school, attempts stay in the store
            log.warning("sign-in refused: %s", outcome)
        return result

    def session_user(self, token: str, now: datetime,
                     policy: SessionPolicy = SessionPolicy(),  # noqa: B008
                     *, touch: bool = True) -> User | None:
        """The user a token belongs to, if its session is open (not signed out, not idle
        or old past the policy, user neither removed nor disabled); marks it as used unless
        `touch` is False (an automatic refresh is not a person using the screen)."""
        if not token or len(token) > 256:
            return None
        digest = token_digest(token)

        def work(con: duckdb.DuckDBPyConnection) -> User | None:
            row = con.execute(
                "SELECT s.created_at, s.last_seen, s.revoked_at, u.username, u.role, "
                "u.display_name, u.created_at, u.disabled_at FROM sessions s "
                "JOIN users u ON u.username = s.username WHERE s.token_digest = ?",
                [digest]).fetchone()
            if row is None or row[2] is not None or row[7] is not None:
                return None
            created, last_seen = _aware(row[0]), _aware(row[1])
            if not policy.is_live(created, last_seen, now):
                return None
            if touch and now > last_seen:
                con.execute("UPDATE sessions SET last_seen = ?, expires_at = ? "
                            "WHERE token_digest = ?",
                            [_naive(now), _naive(policy.expires_at(created, now)), digest])
            return _user(row[3:])

        return self._run(work)

    def sign_out(self, token: str, now: datetime) -> bool:
        """End the session; False if it was unknown or already ended."""
        digest, at = token_digest(token), _naive(now)
        return self._run(lambda con: _count(
            con, "UPDATE sessions SET revoked_at = ? WHERE token_digest = ? "
                 "AND revoked_at IS NULL", [at, digest]) > 0)

    def failed_signins(self, since: datetime) -> int:
        """Failed or refused sign-ins since `since`, for the health view (a burst is an attack
        or a forgotten password)."""
        at = _naive(since)
        return self._run(lambda con: _count(
            con, 'SELECT count(*) FROM signin_attempts WHERE NOT success AND "at" >= ?', [at]))
