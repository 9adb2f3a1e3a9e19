"""The rule contract, the shared condition language, and the name -> class registry."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from safeguard.alerts import ALERT_CATEGORIES, DEFAULT_ROUTING, ROUTES
from safeguard.errors import ConfigError
from safeguard.events import Event

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
GROUP_BYS = frozenset({"person", "ip", "device", "location"})


def parse_duration(value: Any) -> timedelta:
    """`90s`, `10m`, `1h`, `14d`, `2w` (or a number of seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(f"not a duration (e.g. 10m, 1h, 14d): {value!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _as_set(value: Any, name: str) -> frozenset[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else [value]
    if not all(isinstance(v, str | int) for v in items):
        raise ConfigError(f"{name} must be a string or list of strings", field=name)
    return frozenset(str(v) for v in items)


def _as_bool(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ConfigError(f"{name} must be true or false", field=name)


def _domain_matches(domain: str | None, suffixes: frozenset[str]) -> bool:
    if not domain:
        return False
    d = domain.lower()
    return any(d == s or d.endswith("." + s) for s in suffixes)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the detector knows about an event from the subject's history and the key."""

    new_device: bool = False
    first_use: bool = False
    incident_role: str | None = None


NO_FACTS = Facts()


@dataclass(frozen=True, slots=True)
class Conditions:
    """What an event must look like to count for a rule; unset means "any"."""

    event_category: frozenset[str] | None = None
    event_type: frozenset[str] | None = None
    action: frozenset[str] | None = None
    outcome: frozenset[str] | None = None
    dataset: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    themes: frozenset[str] | None = None
    domains: frozenset[str] | None = None
    role: frozenset[str] | None = None
    year_group: frozenset[str] | None = None
    boarder: bool | None = None
    location_kind: frozenset[str] | None = None
    school_hours: bool | None = None
    term_time: bool | None = None
    device_ownership: frozenset[str] | None = None
    device_category: frozenset[str] | None = None
    device_registered: bool | None = None
    device_of_other: bool | None = None
    after_leave: bool | None = None
    incident_role: frozenset[str] | None = None
    new_device: bool | None = None
    first_use: bool | None = None
    labels: Mapping[str, frozenset[str]] | None = None
    url_extensions: frozenset[str] | None = None

    _BOOLS: ClassVar[frozenset[str]] = frozenset({
        "boarder", "school_hours", "term_time", "device_registered", "device_of_other",
        "after_leave", "new_device", "first_use"})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, prefix: str = "when") -> Conditions:
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError(f"{prefix} must be a mapping of conditions", field=prefix)
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            name = f"{prefix}.{key}"
            if key not in known:
                raise ConfigError(f"unknown condition {key!r}; known: {sorted(known)}",
                                  field=name)
            if key == "labels":
                if not isinstance(value, Mapping):
                    raise ConfigError("labels must map a label to its values", field=name)
                kwargs[key] = {str(k): _as_set(v, f"{name}.{k}") for k, v in value.items()}
            elif key in cls._BOOLS:
                kwargs[key] = _as_bool(value, name)
            else:
                kwargs[key] = _as_set(value, name)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool):
                out[f.name] = value
            elif isinstance(value, Mapping):
                out[f.name] = {k: sorted(v) for k, v in value.items()}
            else:
                out[f.name] = sorted(value)
        return out

    def matches(self, e: Event, facts: Facts = NO_FACTS) -> bool:
        """Every set condition holds (an unknown value fails a set condition)."""
        if self.event_category is not None and e.category not in self.event_category:
            return False
        if self.event_type is not None and e.type not in self.event_type:
            return False
        if self.action is not None and e.action not in self.action:
            return False
        if self.outcome is not None and e.outcome not in self.outcome:
            return False
        if self.dataset is not None and e.dataset not in self.dataset:
            return False
        if self.categories is not None and self.categories.isdisjoint(e.categories):
            return False
        if self.themes is not None and self.themes.isdisjoint(e.themes):
            return False
        if self.domains is not None and not _domain_matches(e.url_domain, self.domains):
            return False
        if self.role is not None and (e.person_role or "unknown") not in self.role:
            return False
        if self.year_group is not None and e.year_group not in self.year_group:
            return False
        if self.boarder is not None and bool(e.boarder) != self.boarder:
            return False
        if self.location_kind is not None and (
                (e.location_kind or "unknown") not in self.location_kind):
            return False
        if self.school_hours is not None and bool(e.school_hours) != self.school_hours:
            return False
        if self.term_time is not None and bool(e.term_time) != self.term_time:
            return False
        if self.device_ownership is not None and (
                (e.asset_ownership or "unknown") not in self.device_ownership):
            return False
        if self.device_category is not None and e.asset_category not in self.device_category:
            return False
        if self.device_registered is not None and (
                e.asset_ownership is None  # no device named: unknown, not unregistered
                or (e.asset_ownership != "unregistered") != self.device_registered):
            return False
        if self.device_of_other is not None:
            other = bool(e.asset_owner and e.person_id and e.asset_owner != e.person_id)
            if other != self.device_of_other:
                return False
        if self.after_leave is not None and bool(e.after_leave) != self.after_leave:
            return False
        if self.incident_role is not None and facts.incident_role not in self.incident_role:
            return False
        if self.new_device is not None and facts.new_device != self.new_device:
            return False
        if self.first_use is not None and facts.first_use != self.first_use:
            return False
        if self.url_extensions is not None:
            path = (e.url_original or "").split("?", 1)[0].lower()
            if not any(path.endswith(x.lower()) for x in self.url_extensions):
                return False
        if self.labels is not None:
            for key, allowed in self.labels.items():
                if e.labels.get(key) not in allowed:
                    return False
        return True


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule fired for a subject; `related` are other (event id, epoch seconds) of the
    evidence (epoch, not ISO: a risk hit names up to 40, most already in the alert)."""

    rule: Rule
    subject: str
    subject_kind: str
    event: Event
    score: float = 1.0
    related: tuple[tuple[str, float], ...] = ()
    at: datetime | None = None  # when the breach happened, if not at `event` (a deadline)


@dataclass(frozen=True)
class Rule:
    """A rule of any kind: identity, the clauses it enforces, grading, and its conditions.

    `window` is the alert window: hits for one subject inside it are one alert
    (suppression), and it is part of the alert's deterministic id. `group_by` is what
    the rule's state is kept per: the person (or unresolved account), the source IP,
    the device, or the network location.
    """

    kind: ClassVar[str] = ""
    # kind-specific YAML keys and which of them IT may tune live
    PARAMS: ClassVar[tuple[str, ...]] = ()
    TUNABLE: ClassVar[tuple[str, ...]] = ()

    id: str
    title: str
    clause_ids: tuple[str, ...]
    severity: int
    category: str
    when: Conditions = field(default_factory=Conditions)
    window: timedelta = timedelta(days=1)
    enabled: bool = True
    routing: str | None = None
    group_by: str = "person"
    description: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", self.id):
            raise ConfigError(f"rule id {self.id!r} must be lower-case letters, digits, . _ -",
                              field="id")
        if not self.clause_ids:
            raise ConfigError("a rule must cite at least one clause", field="clause_ids")
        if not 1 <= self.severity <= 5:
            raise ConfigError(f"severity must be 1-5, got {self.severity}", field="severity")
        if self.category not in ALERT_CATEGORIES:
            raise ConfigError(f"category {self.category!r} is not one of "
                              f"{sorted(ALERT_CATEGORIES)}", field="category")
        if self.routing is not None and self.routing not in ROUTES:
            raise ConfigError(f"routing must be one of {sorted(ROUTES)}", field="routing")
        if self.window <= timedelta(0):
            raise ConfigError("window must be positive", field="window")
        if self.group_by not in GROUP_BYS:
            raise ConfigError(f"group_by must be one of {sorted(GROUP_BYS)}", field="group_by")

    @property
    def route(self) -> str:
        return self.routing or DEFAULT_ROUTING[self.category]

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any], facts: Facts = NO_FACTS) -> list[Hit]:
        """Hits this event causes; `state` is the rule's own memory for this subject.
        Every kind returns no hit and leaves its state alone for an event `when` rejects
        (the detector relies on that to skip rules by event category)."""
        raise NotImplementedError

    def conditions(self) -> tuple[Conditions, ...]:
        """Every condition set of the rule: `when`, then the kind's own (steps, scores...)."""
        return (self.when,)

    def due(self, now_iso: str, subject: str, subject_kind: str,
            state: MutableMapping[str, Any]) -> list[Hit]:
        """Hits whose time has come without an event (absence rules); none by default."""
        return []

    @classmethod
    def params_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """Kind-specific keys of the YAML, parsed; the `match` kind has none."""
        return {}

    def settings(self) -> dict[str, Any]:
        """The settings IT may change live: on/off, severity, window and the kind's own."""
        out: dict[str, Any] = {"enabled": self.enabled, "severity": self.severity,
                               "window": format_duration(self.window)}
        for name in self.TUNABLE:
            value = getattr(self, name)
            out[name] = format_duration(value) if isinstance(value, timedelta) else value
        return out

    def with_settings(self, overrides: Mapping[str, Any]) -> Rule:
        """A copy with IT's overrides applied and validated (unknown keys are an error)."""
        allowed = {"enabled", "severity", "window", *self.TUNABLE}
        unknown = set(overrides) - allowed
        if unknown:
            raise ConfigError(f"{self.id}: cannot set {sorted(unknown)}; tunable: "
                              f"{sorted(allowed)}", field=sorted(unknown)[0])
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            current = getattr(self, key)
            if isinstance(current, timedelta):
                changes[key] = parse_duration(value)
            elif isinstance(current, bool):
                if isinstance(value, str):
                    value = value.strip().lower() in ("1", "true", "yes", "on")
                changes[key] = bool(value)
            elif isinstance(current, int):
                try:
                    changes[key] = int(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"{key} must be a whole number", field=key) from None
            elif isinstance(current, float):
                try:
                    changes[key] = float(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"{key} must be a number", field=key) from None
            else:
                changes[key] = value
        return dataclasses.replace(self, **changes)


R = TypeVar("R", bound=type[Rule])
RULE_KINDS: dict[str, type[Rule]] = {}
_COMMON = {"id", "kind", "title", "clause_ids", "severity", "category", "when", "window",
           "enabled", "routing", "description", "group_by"}


def register_rule_kind(name: str) -> Callable[[R], R]:
    def deco(cls: R) -> R:
        if name in RULE_KINDS:
            raise ValueError(f"rule kind {name!r} registered twice")
        cls.kind = name
        RULE_KINDS[name] = cls
        return cls
    return deco


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """Build a rule of the registered kind named by `data['kind']`; errors name the field."""
    kind = data.get("kind")
    cls = RULE_KINDS.get(str(kind))
    if cls is None:
        raise ConfigError(f"unknown rule kind {kind!r}; known: {sorted(RULE_KINDS)}",
                          field="kind")
    for key in ("id", "clause_ids", "severity", "category"):
        if key not in data:
            raise ConfigError("required key is missing", field=key)
    clause_ids = data["clause_ids"]
    if isinstance(clause_ids, str):
        clause_ids = [clause_ids]
    if not isinstance(clause_ids, list) or not all(isinstance(c, str) for c in clause_ids):
        raise ConfigError("clause_ids must be a list of clause ids", field="clause_ids")
    severity = data["severity"]
    if isinstance(severity, bool) or not isinstance(severity, int):
        raise ConfigError("severity must be a whole number 1-5", field="severity")
    unknown = set(data) - _COMMON - set(cls.PARAMS)
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)} for a {kind} rule",
                          field=sorted(unknown)[0])
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("enabled must be true or false", field="enabled")
    params = cls.params_from_dict(data)
    return cls(
        id=str(data["id"]),
        title=str(data.get("title") or data["id"]),
        clause_ids=tuple(clause_ids),
        severity=severity,
        category=str(data["category"]),
        when=Conditions.from_dict(data.get("when")),
        window=parse_duration(data.get("window", "1d")),
        enabled=enabled,
        routing=data.get("routing"),
        group_by=str(data.get("group_by", "person")),
        description=str(data.get("description", "")),
        **params,
    )


def required_int(data: Mapping[str, Any], key: str, minimum: int = 1) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be a whole number >= {minimum}", field=key)
    return value
