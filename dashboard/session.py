"""The dashboard's wiring: settings, the account store, sign-in state and the access layer.

Pages call `signed_in()` / `access()` and nothing else from here; every check on what a
person may see is in `pipelines.access`, not in the pages.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from pipelines.access import Access, SchoolContext
from pipelines.actions import submit_record
from safeguard.audit import AuditEntry
from safeguard.auth import User
from safeguard.cli import dashboard_settings
from safeguard.settings import Settings
from streams.topics import Topics
from warehouse.accounts import AccountStore, SignInResult, accounts_path
from warehouse.reader import WarehouseReader
from warehouse.spool import Record

SESSION_KEY = "safeguard_session"  # where the browser session keeps its token


@dataclass(frozen=True)
class Backend:
    settings: Settings
    reader: WarehouseReader
    accounts: AccountStore
    school: SchoolContext | None

    @property
    def school_dir(self) -> Path | None:
        return self.school.school_dir if self.school else None

    def lag(self) -> int | None:
        if not self.settings.broker:
            return None
        from pipelines.lag import sink_lag

        return sink_lag(self.settings.broker, Topics(self.settings.topic_prefix))

    def submit(self, record: Record) -> str:
        # a page view's audit entry waits in the outbox for the next drain; other
        # records (and the audit log's own view) are drained now if the file is free
        drain = not isinstance(record, AuditEntry) or record.action == "view-audit-log"
        return submit_record(record, db_path=self.settings.db_path,
                             broker=self.settings.broker,
                             topics=Topics(self.settings.topic_prefix), drain=drain)


def _school_dir(settings: Settings) -> Path | None:
    if settings.school_dir is not None:
        return settings.school_dir
    beside = settings.db_path.parent / "school"  # the demo's layout
    return beside if (beside / "school.yaml").exists() else None


@st.cache_resource
def _backend(key: str, _settings: Settings) -> Backend:
    """One per settings (`key`): the school folder is parsed once per process."""
    return Backend(_settings, WarehouseReader(_settings.db_path),
                   AccountStore(accounts_path(_settings.db_path)),
                   SchoolContext.load(_school_dir(_settings)))


def backend() -> Backend:
    settings = dashboard_settings(sys.argv[1:])
    return _backend(settings.model_dump_json(), settings)


def signed_in() -> User | None:
    """The person behind this browser session, or None (expired, revoked, never)."""
    token = st.session_state.get(SESSION_KEY)
    if not token:
        return None
    user = backend().accounts.session_user(token, datetime.now(UTC))
    if user is None:
        del st.session_state[SESSION_KEY]
    return user


def still_signed_in() -> bool:
    """For automatic refreshes: is the session still open? (does not count as use)"""
    token = st.session_state.get(SESSION_KEY)
    return isinstance(token, str) and backend().accounts.session_user(
        token, datetime.now(UTC), touch=False) is not None


def sign_in(username: str, password: str) -> SignInResult:
    be = backend()
    result = be.accounts.sign_in(username, password, datetime.now(UTC))
    if result.ok and result.user is not None and result.token:
        st.session_state[SESSION_KEY] = result.token
        be.submit(AuditEntry.new(result.user.username, result.user.role.value, "sign-in"))
    else:
        be.submit(AuditEntry.new("anonymous", None, "sign-in-refused",
                                 subject_kind="account", detail=result.reason[:200]))
    return result


def sign_out(user: User) -> None:
    token = st.session_state.pop(SESSION_KEY, None)
    if token:
        be = backend()
        be.accounts.sign_out(token, datetime.now(UTC))
        be.submit(AuditEntry.new(user.username, user.role.value, "sign-out"))


def page_access() -> Access:
    """What a page starts with: the signed-in person's access; anyone else (a stale or
    typed address) is sent to the sign-in page."""
    user = signed_in()
    if user is None:
        st.switch_page("app.py")
        raise AssertionError("unreachable: switch_page stops the script")
    return access(user)


def access(user: User) -> Access:
    be = backend()
    return Access(be.reader, user, be.submit, school=be.school, lag=be.lag)


