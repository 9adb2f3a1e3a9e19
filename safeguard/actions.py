"""Triage steps on an alert: acknowledge, assign, escalate, record an outcome, note, close.

An action is an event, not an UPDATE: the dashboard never writes the warehouse file
(one process owns it); it submits actions, the owner appends them, and an alert's
status is derived from its actions. The id is made by the client when the person acts,
so a re-delivered action adds nothing and a retried submit cannot double-count.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from safeguard.events import parse_timestamp

ACTIONS = frozenset({"acknowledge", "assign", "escalate", "outcome", "note", "close", "reopen"})
# what the DSL decided; 'no-concern' is the only false positive for precision estimates
OUTCOMES: Mapping[str, str] = {
    "no-concern": "No concern",
    "pastoral": "Pastoral support",
    "early-help": "Early help",
    "social-care-referral": "Referral to children's social care",
    "prevent-referral": "Prevent referral",
    "police": "Police",
}
FALSE_POSITIVE_OUTCOMES = frozenset({"no-concern"})
STATUSES = ("new", "acknowledged", "assigned", "escalated", "closed")
# the status an action moves an alert to; notes leave it where it is
_STATUS_OF: Mapping[str, str] = {
    "acknowledge": "acknowledged", "assign": "assigned", "escalate": "escalated",
    "outcome": "closed", "close": "closed", "reopen": "acknowledged",
}
MAX_NOTE = 10_000


@dataclass(frozen=True, slots=True)
class AlertAction:
    """One triage step by one person at one moment."""

    action_id: str
    alert_id: str
    school_id: str
    action: str
    actor: str
    actor_role: str
    acted_at: datetime
    assignee: str | None = None
    outcome: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; expected one of {sorted(ACTIONS)}")
        if not (self.action_id and self.alert_id and self.school_id and self.actor):
            raise ValueError("an action needs an id, an alert, a school and an actor")
        if self.acted_at.tzinfo is None:
            raise ValueError("acted_at must be timezone-aware")
        if self.action == "assign" and not self.assignee:
            raise ValueError("assign needs an assignee")
        if self.action == "outcome" and self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; expected one of "
                             f"{sorted(OUTCOMES)}")
        if self.action == "note" and not (self.note or "").strip():
            raise ValueError("a note needs text")
        if self.note is not None and len(self.note) > MAX_NOTE:
            raise ValueError(f"note longer than {MAX_NOTE} characters")

    @classmethod
    def new(cls, alert_id: str, school_id: str, action: str, actor: str, actor_role: str,
            *, at: datetime | None = None, **details: str | None) -> AlertAction:
        """A step taken now, with a fresh id (made once, where the person acted)."""
        return cls(action_id=uuid.uuid4().hex, alert_id=alert_id, school_id=school_id,
                   action=action, actor=actor, actor_role=actor_role,
                   acted_at=at or datetime.now(UTC), **details)

    @property
    def status(self) -> str | None:
        """The alert status this step leads to, or None for a note."""
        return _STATUS_OF.get(self.action)

    def to_dict(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "alert_id": self.alert_id,
                "school_id": self.school_id, "action": self.action, "actor": self.actor,
                "actor_role": self.actor_role, "acted_at": self.acted_at.isoformat(),
                "assignee": self.assignee, "outcome": self.outcome, "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertAction:
        keys = ("action_id", "alert_id", "school_id", "action", "actor", "actor_role",
                "assignee", "outcome", "note")
        kw = {k: data.get(k) for k in keys}
        return cls(acted_at=parse_timestamp(data["acted_at"]), **kw)  # type: ignore[arg-type]


def status_after(actions: Iterable[AlertAction], initial: str = "new") -> str:
    """An alert's status after its steps, applied in the order people took them."""
    status = initial
    for a in sorted(actions, key=lambda a: (a.acted_at, a.action_id)):
        status = a.status or status
    return status
