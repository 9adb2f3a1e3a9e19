"""The one normalised event every source becomes, with Elastic Common Schema names.

Attributes are snake_case for Python; `to_dict`/`from_dict` speak the dotted ECS
names (`@timestamp`, `event.id`, `user.name`, ...) used on Kafka and in evidence.
The raw record travels with the event (`event.original`) so an alert can always
show exactly what the source said.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from safeguard.errors import EventError

CATEGORIES = frozenset({"web", "authentication", "session", "iam", "device", "incident"})
OUTCOMES = frozenset({"success", "failure", "unknown"})

# attribute -> ECS (or safeguard.*) key; the single place the wire names are defined.
ECS_NAMES: dict[str, str] = {
    "timestamp": "@timestamp",
    "event_id": "event.id",
    "category": "event.category",
    "type": "event.type",
    "action": "event.action",
    "outcome": "event.outcome",
    "dataset": "event.dataset",
    "reason": "event.reason",
    "raw": "event.original",
    "school_id": "school.id",
    "user_name": "user.name",
    "source_ip": "source.ip",
    "host_name": "host.name",
    "url_original": "url.original",
    "url_domain": "url.domain",
    "http_method": "http.request.method",
    "http_status": "http.response.status_code",
    "categories": "rule.category",
    "search_terms": "safeguard.search_terms",
    "themes": "safeguard.themes",
    "asset_tag": "safeguard.asset_tag",
    "labels": "labels",
    "person_id": "user.id",
    "person_role": "user.roles",
    "year_group": "safeguard.year_group",
    "boarder": "safeguard.boarder",
    "location": "safeguard.location",
    "location_kind": "safeguard.location_kind",
    "school_hours": "safeguard.school_hours",
    "term_time": "safeguard.term_time",
    "asset_owner": "safeguard.asset.owner",
    "asset_ownership": "safeguard.asset.ownership",
    "asset_category": "safeguard.asset.category",
    "after_leave": "safeguard.after_leave",
}
_ATTR_BY_ECS = {v: k for k, v in ECS_NAMES.items()}


def stable_event_id(school_id: str, dataset: str, raw: str) -> str:
    """Hash of the raw record: the same line ingested twice gets the same id (idempotent)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (school_id, dataset, raw):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def parse_timestamp(value: str | datetime) -> datetime:
    """An aware UTC datetime from ISO text or a datetime; naive values are rejected."""
    if isinstance(value, datetime):
        ts = value
    else:
        try:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (ValueError, AttributeError) as exc:
            raise EventError(f"not an ISO timestamp: {value!r}", field="@timestamp") from exc
    if ts.tzinfo is None:
        raise EventError("timestamp has no time zone", field="@timestamp")
    return ts.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """A normalised event; enrichment fields are filled later by `safeguard.enrichment`."""

    timestamp: datetime
    event_id: str
    category: str
    dataset: str
    school_id: str
    raw: str
    type: str = "info"
    action: str | None = None
    outcome: str = "unknown"
    reason: str | None = None
    user_name: str | None = None
    source_ip: str | None = None
    host_name: str | None = None
    url_original: str | None = None
    url_domain: str | None = None
    http_method: str | None = None
    http_status: int | None = None
    categories: tuple[str, ...] = ()
    search_terms: str | None = None
    themes: tuple[str, ...] = ()
    asset_tag: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    person_id: str | None = None
    person_role: str | None = None
    year_group: str | None = None
    boarder: bool | None = None
    location: str | None = None
    location_kind: str | None = None
    school_hours: bool | None = None
    term_time: bool | None = None
    asset_owner: str | None = None
    asset_ownership: str | None = None  # school | personal-registered | unregistered
    asset_category: str | None = None
    after_leave: bool | None = None

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() != UTC.utcoffset(None):
            raise EventError("timestamp must be timezone-aware UTC", field="@timestamp")
        if not self.event_id:
            raise EventError("event id is empty", field="event.id")
        if self.category not in CATEGORIES:
            raise EventError(f"unknown category {self.category!r}", field="event.category")
        if self.outcome not in OUTCOMES:
            raise EventError(f"unknown outcome {self.outcome!r}", field="event.outcome")
        if not self.school_id:
            raise EventError("school id is empty", field="school.id")

    @property
    def network_key(self) -> str:
        """What enrichment is keyed on (login sessions live there): source IP, else device."""
        if self.source_ip:
            return f"ip:{self.source_ip}"
        if self.host_name:
            return f"device:{self.host_name.lower()}"
        return f"account:{(self.user_name or '').lower()}"

    def to_dict(self) -> dict[str, Any]:
        """Flat dict with ECS dotted names; None values are left out."""
        out: dict[str, Any] = {}
        for name, ecs, kind in _WIRE:  # precomputed: fields() per call was its main cost
            value = getattr(self, name)
            if value is None or (kind and not value):
                continue
            if kind == 1:
                value = list(value)
            elif kind == 2:
                value = dict(value)
            elif kind == 3:
                value = value.isoformat()
            out[ecs] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Inverse of `to_dict`; unknown keys are an error so typos do not vanish."""
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            attr = _ATTR_BY_ECS.get(key)
            if attr is None:
                raise EventError(f"unknown field {key!r}", field=key)
            kwargs[attr] = value
        missing = [
            ECS_NAMES[a]
            for a in ("timestamp", "event_id", "category", "dataset", "school_id", "raw")
            if a not in kwargs
        ]
        if missing:
            raise EventError(f"missing required fields {missing}")
        kwargs["timestamp"] = parse_timestamp(kwargs["timestamp"])
        for key in ("categories", "themes"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        if "labels" in kwargs:
            kwargs["labels"] = dict(kwargs["labels"])
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise EventError(str(exc)) from exc


# (attribute, wire name, kind) in field order: 1 a tuple sent as a list, 2 the labels
# mapping, 3 the timestamp (never empty), 0 a plain value
_WIRE = tuple((f.name, ECS_NAMES[f.name],
               {"categories": 1, "themes": 1, "labels": 2, "timestamp": 3}.get(f.name, 0))
              for f in fields(Event))


def utc_from_epoch(seconds: float) -> datetime:
    """Epoch seconds (as logged by filters) to an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, tz=UTC)
