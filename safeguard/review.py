"""The DfE filtering and monitoring standards' records: the annual review and the log of
block/allow changes, each change with its reason.

The standards ask a school to review its filtering and monitoring at least once a year,
with named roles (a senior leader, the DSL, a governor, IT and the provider), and to keep
a record of what was decided and of every change to what is blocked or allowed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from safeguard.events import parse_timestamp

# the roles the standards name; a review records who held each
REVIEW_ROLES = ("Senior leadership lead", "Designated safeguarding lead",
                "Governor for safeguarding", "IT lead", "Filtering provider")
CHANGES = frozenset({"block", "allow"})
MAX_TEXT = 4_000


def _text(value: str, what: str, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise ValueError(f"{what} is required")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} longer than {MAX_TEXT} characters")
    return value


@dataclass(frozen=True, slots=True)
class FilterReview:
    """One annual review meeting: when, who held each role, who came, what was decided."""

    review_id: str
    school_id: str
    review_date: date
    roles: Mapping[str, str]
    attendees: tuple[str, ...]
    decisions: tuple[str, ...]
    recorded_by: str
    recorded_at: datetime
    next_review: date | None = None

    def __post_init__(self) -> None:
        if not (self.review_id and self.school_id and self.recorded_by):
            raise ValueError("a review needs an id, a school and who recorded it")
        if not any(name.strip() for name in self.roles.values()):
            raise ValueError("name at least one of the roles the standards ask for")
        if not self.attendees:
            raise ValueError("a review needs its attendees")
        if not self.decisions:
            raise ValueError("a review needs at least one decision")
        for text in (*self.roles.values(), *self.attendees, *self.decisions):
            _text(text, "a review entry", required=False)
        if self.next_review is not None and self.next_review <= self.review_date:
            raise ValueError("the next review must come after this one")
        if self.recorded_at.tzinfo is None:
            raise ValueError("recorded_at must be timezone-aware")

    @classmethod
    def new(cls, school_id: str, review_date: date, roles: Mapping[str, str],
            attendees: Sequence[str], decisions: Sequence[str], recorded_by: str,
            next_review: date | None = None) -> FilterReview:
        return cls(uuid.uuid4().hex, school_id, review_date,
                   {k: v.strip() for k, v in roles.items() if v.strip()},
                   tuple(a.strip() for a in attendees if a.strip()),
                   tuple(d.strip() for d in decisions if d.strip()),
                   recorded_by, datetime.now(UTC), next_review)

    @property
    def record_id(self) -> str:
        return self.review_id

    def to_dict(self) -> dict[str, Any]:
        return {"review_id": self.review_id, "school_id": self.school_id,
                "review_date": self.review_date.isoformat(), "roles": dict(self.roles),
                "attendees": list(self.attendees), "decisions": list(self.decisions),
                "recorded_by": self.recorded_by, "recorded_at": self.recorded_at.isoformat(),
                "next_review": self.next_review.isoformat() if self.next_review else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FilterReview:
        nxt = data.get("next_review")
        return cls(str(data["review_id"]), str(data["school_id"]),
                   date.fromisoformat(str(data["review_date"])[:10]),
                   {str(k): str(v) for k, v in dict(data["roles"]).items()},
                   tuple(str(a) for a in data["attendees"]),
                   tuple(str(d) for d in data["decisions"]), str(data["recorded_by"]),
                   parse_timestamp(data["recorded_at"]),
                   date.fromisoformat(str(nxt)[:10]) if nxt else None)


@dataclass(frozen=True, slots=True)
class FilterChange:
    """One change to what the filter blocks or allows, and why."""

    change_id: str
    school_id: str
    changed_at: datetime
    change: str
    target: str
    reason: str
    recorded_by: str
    requested_by: str | None = None
    approved_by: str | None = None
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.change not in CHANGES:
            raise ValueError(f"a change is 'block' or 'allow', not {self.change!r}")
        _text(self.target, "the site or category")
        _text(self.reason, "the reason for the change")
        if not (self.change_id and self.school_id and self.recorded_by):
            raise ValueError("a change needs an id, a school and who recorded it")
        if self.changed_at.tzinfo is None or self.recorded_at.tzinfo is None:
            raise ValueError("times must be timezone-aware")

    @classmethod
    def new(cls, school_id: str, changed_at: datetime, change: str, target: str, reason: str,
            recorded_by: str, requested_by: str | None = None,
            approved_by: str | None = None) -> FilterChange:
        return cls(uuid.uuid4().hex, school_id, changed_at, change, target.strip(),
                   reason.strip(), recorded_by, requested_by or None, approved_by or None)

    @property
    def record_id(self) -> str:
        return self.change_id

    def to_dict(self) -> dict[str, Any]:
        return {"change_id": self.change_id, "school_id": self.school_id,
                "changed_at": self.changed_at.isoformat(), "change": self.change,
                "target": self.target, "reason": self.reason, "recorded_by": self.recorded_by,
                "requested_by": self.requested_by, "approved_by": self.approved_by,
                "recorded_at": self.recorded_at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FilterChange:
        return cls(str(data["change_id"]), str(data["school_id"]),
                   parse_timestamp(data["changed_at"]), str(data["change"]),
                   str(data["target"]), str(data["reason"]), str(data["recorded_by"]),
                   data.get("requested_by"), data.get("approved_by"),
                   parse_timestamp(data["recorded_at"]))
