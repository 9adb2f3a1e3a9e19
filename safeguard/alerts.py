"""Graded, clause-citing alerts with deterministic ids.

An alert's id is a hash of (school, rule, subject, window start): the same evidence
processed embedded, on one worker or on five gives the same id, and a replay after a
crash upserts instead of duplicating. `version` grows as evidence accumulates, so a
sink keeps the newest state whatever order re-deliveries arrive in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from safeguard.events import parse_timestamp

ALERT_CATEGORIES = frozenset({
    "vulnerable-person", "bullying", "sexual", "violence", "extremism", "offensive",
    "security", "conduct", "assets",
})
ROUTES = frozenset({"dsl", "headteacher", "it"})
DEFAULT_ROUTING: Mapping[str, str] = {
    "vulnerable-person": "dsl", "bullying": "dsl", "sexual": "dsl", "violence": "dsl",
    "extremism": "dsl", "offensive": "dsl",
    "conduct": "headteacher",
    "security": "it", "assets": "it",
}
MAX_EVIDENCE = 50


def alert_id_for(school_id: str, rule_id: str, subject: str, window_start: datetime) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for part in (school_id, rule_id, subject, window_start.isoformat()):
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as it stands at `version`; see the module docstring for identity rules."""

    alert_id: str
    version: int
    school_id: str
    profile_id: str
    rule_id: str
    title: str
    clause_ids: tuple[str, ...]
    severity: int
    category: str
    routing: str
    subject: str
    subject_kind: str
    score: float
    first_seen: datetime
    last_seen: datetime
    window_start: datetime
    window_end: datetime
    event_count: int
    evidence_event_ids: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 1 <= self.severity <= 5:
            raise ValueError(f"severity must be 1-5, got {self.severity}")
        if not self.clause_ids:
            raise ValueError(f"alert {self.alert_id} cites no clause")
        if self.category not in ALERT_CATEGORIES:
            raise ValueError(f"unknown alert category {self.category!r}")
        if self.routing not in ROUTES:
            raise ValueError(f"unknown routing {self.routing!r}")
        if self.first_seen > self.last_seen:
            raise ValueError("first_seen is after last_seen")
        if self.version < 1 or self.event_count < 1:
            raise ValueError("version and event_count start at 1")

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id, "version": self.version, "school_id": self.school_id,
            "profile_id": self.profile_id, "rule_id": self.rule_id, "title": self.title,
            "clause_ids": list(self.clause_ids), "severity": self.severity,
            "category": self.category, "routing": self.routing, "subject": self.subject,
            "subject_kind": self.subject_kind, "score": self.score,
            "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "event_count": self.event_count,
            "evidence_event_ids": list(self.evidence_event_ids),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        kw = dict(data)
        for key in ("first_seen", "last_seen", "window_start", "window_end"):
            kw[key] = parse_timestamp(kw[key])
        kw["clause_ids"] = tuple(kw["clause_ids"])
        kw["evidence_event_ids"] = tuple(kw.get("evidence_event_ids", ()))
        return cls(**kw)
