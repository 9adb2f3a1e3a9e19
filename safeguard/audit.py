"""The audit trail: who signed in, viewed a pupil's data, triaged, exported or edited what.

Entries are events, like triage steps: made where the person acted (with their id), then
appended by whoever owns the warehouse file. They hold ids, never a pupil's name, so the
log itself can be shown to the headteacher without spreading what it protects.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from safeguard.events import parse_timestamp

AUDIT_ACTIONS = frozenset({
    "sign-in", "sign-in-refused", "sign-out", "view-alert", "view-chronology",
    "view-audit-log", "triage", "record-incident", "edit-rule", "edit-review",
    "record-filter-change", "export-review", "access-refused", "backtest",
})
MAX_DETAIL = 2_000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One thing one person did or looked at."""

    audit_id: str
    logged_at: datetime
    actor: str
    actor_role: str | None
    action: str
    subject_kind: str | None = None   # alert | pupil | rule | review | account
    subject_id: str | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}")
        if not (self.audit_id and self.actor):
            raise ValueError("an audit entry needs an id and an actor")
        if self.logged_at.tzinfo is None:
            raise ValueError("logged_at must be timezone-aware")
        if self.detail is not None and len(self.detail) > MAX_DETAIL:
            raise ValueError(f"audit detail longer than {MAX_DETAIL} characters")

    @classmethod
    def new(cls, actor: str, actor_role: str | None, action: str, *,
            subject_kind: str | None = None, subject_id: str | None = None,
            detail: str | None = None, at: datetime | None = None) -> AuditEntry:
        return cls(uuid.uuid4().hex, at or datetime.now(UTC), actor, actor_role, action,
                   subject_kind, subject_id, detail)

    @property
    def record_id(self) -> str:
        return self.audit_id

    def to_dict(self) -> dict[str, Any]:
        return {"audit_id": self.audit_id, "logged_at": self.logged_at.isoformat(),
                "actor": self.actor, "actor_role": self.actor_role, "action": self.action,
                "subject_kind": self.subject_kind, "subject_id": self.subject_id,
                "detail": self.detail}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEntry:
        return cls(str(data["audit_id"]), parse_timestamp(data["logged_at"]),
                   str(data["actor"]), _opt(data.get("actor_role")), str(data["action"]),
                   _opt(data.get("subject_kind")), _opt(data.get("subject_id")),
                   _opt(data.get("detail")))


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)
