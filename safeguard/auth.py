"""Who may see and do what on the dashboard, and the pure parts of signing in.

Pupil data is special category data: only the people whose job needs it (the DSL, their
deputy, the headteacher) see names and evidence; governors see anonymised figures and IT
sees the alert queue it owns without pupils' timelines. This module holds the role matrix,
password hashing, session and lockout arithmetic. It does no I/O; `warehouse.accounts`
stores users, sessions and attempts and calls into it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from safeguard.errors import SafeguardError


class Role(StrEnum):
    """A dashboard user's job; it decides permissions and which alert queue they see."""

    dsl = "dsl"
    deputy_dsl = "deputy_dsl"
    headteacher = "headteacher"
    governor = "governor"
    it = "it"

    @property
    def label(self) -> str:
        """The name people use for the role, for screens and the CLI."""
        return _ROLE_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Role:
        """A role from what a person typed ("deputy-dsl", "Deputy DSL", "IT" all work)."""
        key = re.sub(r"[\s-]+", "_", text.strip().lower())
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"unknown role {text!r}; expected one of "
                             f"{', '.join(r.value for r in cls)}") from None


_ROLE_LABELS: Mapping[Role, str] = MappingProxyType({
    Role.dsl: "DSL", Role.deputy_dsl: "Deputy DSL", Role.headteacher: "Headteacher",
    Role.governor: "Governor", Role.it: "IT",
})


class Permission(StrEnum):
    """One thing a page or command may let a person do."""

    view_alerts = "view_alerts"
    view_pupil_data = "view_pupil_data"  # evidence timelines, chronologies, pupils' names/ids
    triage = "triage"
    record_incident = "record_incident"
    view_termly = "view_termly"
    edit_review = "edit_review"  # DfE annual review record, filter change log
    view_audit = "view_audit"
    edit_rules = "edit_rules"
    view_pipeline = "view_pipeline"


_P = Permission
_SAFEGUARDING = frozenset({_P.view_alerts, _P.view_pupil_data, _P.triage, _P.record_incident,
                           _P.view_termly})
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType({
    Role.dsl: _SAFEGUARDING,
    Role.deputy_dsl: _SAFEGUARDING,
    Role.headteacher: _SAFEGUARDING | {_P.edit_review, _P.view_audit},
    Role.governor: frozenset({_P.view_termly, _P.edit_review}),
    Role.it: frozenset({_P.view_alerts, _P.triage, _P.edit_rules, _P.view_pipeline,
                        _P.view_termly}),
})
# which alert routings land in a role's queue (safeguarding -> DSL, staff conduct ->
# headteacher, security and assets -> IT); governors hold no queue
ROLE_ROUTINGS: Mapping[Role, frozenset[str]] = MappingProxyType({
    Role.dsl: frozenset({"dsl"}),
    Role.deputy_dsl: frozenset({"dsl"}),
    Role.headteacher: frozenset({"headteacher"}),
    Role.governor: frozenset(),
    Role.it: frozenset({"it"}),
})


class AccessDenied(SafeguardError):
    """A role tried something its permissions do not include."""

    def __init__(self, role: Role, permission: Permission) -> None:
        self.role = role
        self.permission = permission
        super().__init__(f"the {role.label} role does not have the {permission} permission")


def can(role: Role, permission: Permission) -> bool:
    """Whether `role` has `permission`; unknown roles have nothing."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def require(role: Role, permission: Permission) -> None:
    """Raise `AccessDenied` unless `role` has `permission` (guards pages and actions)."""
    if not can(role, permission):
        raise AccessDenied(role, permission)


# ---------------------------------------------------------------- passwords

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN, SALT_BYTES = 2**14, 8, 1, 32, 16
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # the KDF reads all of it; no one types more
_OBVIOUS = frozenset({
    "password1234", "password123!", "passwordpassword", "123456789012", "1234567890123",
    "qwertyuiopas", "qwerty123456", "letmein12345", "iloveyou1234", "welcome12345",
    "changeme1234", "administrator", "safeguarding", "safeguard123", "abcdefghijkl",
    "abc123abc123", "school123456", "password12345",
})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          dklen=dklen, maxmem=_MAXMEM)


def hash_password(password: str) -> str:
    """A salted scrypt hash that names its own parameters, so they can be raised later
    without breaking stored hashes."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`; a malformed or unsupported hash is a plain
    False, never an exception a sign-in page would have to handle."""
    if len(password) > MAX_PASSWORD:  # no one has one; don't spend the KDF on it
        return False
    try:
        scheme, n_text, r_text, p_text, salt_text, hash_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt = base64.b64decode(salt_text, validate=True)
        expected = base64.b64decode(hash_text, validate=True)
        if (scheme != "scrypt" or not (2 <= n <= 2**20) or n & (n - 1)
                or not (1 <= r <= 32) or not (1 <= p <= 16) or not salt
                or not (16 <= len(expected) <= 64)):
            return False
        actual = _scrypt(password, salt, n, r, p, len(expected))
    except (ValueError, binascii.Error, AttributeError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


def password_problems(password: str, username: str | None = None) -> list[str]:
    """Why a new password is not good enough (empty: it is). Length beats composition
    rules (NCSC guidance), so: long enough, not an obvious one, not the username."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"password must be at most {MAX_PASSWORD} characters")
    lowered = password.lower()
    if lowered in _OBVIOUS or (password and len(set(lowered)) <= 2):
        problems.append("password is too easy to guess")
    if username and username.lower() in lowered:
        problems.append("password must not contain the username")
    return problems


# ---------------------------------------------------------------- users

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MAX_DISPLAY_NAME = 200


def username_problem(username: str) -> str | None:
    """Why `username` cannot be one (None: it can); kept narrow so it is safe in URLs,
    file names and log-free audit rows alike."""
    if not USERNAME_RE.fullmatch(username):
        return (f"username {username!r} must be 2-64 characters: lower-case letters, digits, "
                "'.', '_' or '-', starting with a letter or digit")
    return None


@dataclass(frozen=True, slots=True)
class User:
    """A person who may sign in to the dashboard (never a pupil)."""

    username: str
    role: Role
    display_name: str
    created_at: datetime
    disabled: bool = False

    def __post_init__(self) -> None:
        problem = username_problem(self.username)
        if problem:
            raise ValueError(problem)
        if not isinstance(self.role, Role):
            raise ValueError(f"role must be a Role, not {self.role!r}")
        if not self.display_name.strip() or len(self.display_name) > MAX_DISPLAY_NAME:
            raise ValueError(f"display name must be 1-{MAX_DISPLAY_NAME} characters")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")

    def can(self, permission: Permission) -> bool:
        """A disabled user can do nothing, whatever their role."""
        return not self.disabled and can(self.role, permission)

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "role": self.role.value,
                "display_name": self.display_name, "created_at": self.created_at.isoformat(),
                "disabled": self.disabled}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> User:
        return cls(username=data["username"], role=Role(data["role"]),
                   display_name=data["display_name"],
                   created_at=datetime.fromisoformat(data["created_at"]),
                   disabled=bool(data.get("disabled", False)))


# ---------------------------------------------------------------- sessions and lockout


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """A session ends after `idle` without use or `absolute` after sign-in, whichever is
    first: a screen left open in a staff room must not stay signed in all week."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=8)

    def __post_init__(self) -> None:
        if self.idle <= timedelta(0) or self.absolute <= timedelta(0):
            raise ValueError("session timeouts must be positive")

    def expires_at(self, created: datetime, last_seen: datetime) -> datetime:
        return min(last_seen + self.idle, created + self.absolute)

    def is_live(self, created: datetime, last_seen: datetime, now: datetime) -> bool:
        return now < self.expires_at(created, last_seen)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `max_failures` failed sign-ins per username within `window`; then refuse
    until enough of them age out, which slows guessing without a permanent lockout."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window <= timedelta(0):
            raise ValueError("a rate limit needs max_failures >= 1 and a positive window")

    def locked_until(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """When sign-in opens again given the failures' times, or None if it is open now."""
        recent = sorted(t for t in failures if now - self.window < t <= now)
        if len(recent) < self.max_failures:
            return None
        # refused until only max_failures - 1 remain in the window
        return recent[len(recent) - self.max_failures] + self.window


def new_session_token() -> str:
    """A bearer token for a browser session, handed out once and never stored."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the store keeps instead of the token: a stolen table opens no sessions."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
