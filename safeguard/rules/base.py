"""The rule contract, the shared condition language, and the name -> class registry."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from safeguard.alerts import ALERT_CATEGORIES, DEFAULT_ROUTING, ROUTES
from safeguard.errors import ConfigError
from safeguard.events import Event

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """`90s`, `10m`, `1h`, `14d`, `2w` (or a number of seconds) as a timedelta."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(f"not a duration (e.g. 10m, 1h, 14d): {value!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


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


@dataclass(frozen=True, slots=True)
class Conditions:
    """What an event must look like to count for a rule; unset means "any"."""

    event_category: frozenset[str] | None = None
    action: frozenset[str] | None = None
    outcome: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    themes: frozenset[str] | None = None
    role: frozenset[str] | None = None
    year_group: frozenset[str] | None = None
    boarder: bool | None = None
    location_kind: frozenset[str] | None = None
    school_hours: bool | None = None
    term_time: bool | None = None

    _BOOLS: ClassVar[tuple[str, ...]] = ("boarder", "school_hours", "term_time")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Conditions:
        if not data:
            return cls()
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise ConfigError(f"unknown condition {key!r}; known: {sorted(known)}",
                                  field=f"when.{key}")
            kwargs[key] = (_as_bool(value, f"when.{key}") if key in cls._BOOLS
                           else _as_set(value, f"when.{key}"))
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value if isinstance(value, bool) else sorted(value)
        return out

    def matches(self, e: Event) -> bool:
        if self.event_category is not None and e.category not in self.event_category:
            return False
        if self.action is not None and e.action not in self.action:
            return False
        if self.outcome is not None and e.outcome not in self.outcome:
            return False
        if self.categories is not None and self.categories.isdisjoint(e.categories):
            return False
        if self.themes is not None and self.themes.isdisjoint(e.themes):
            return False
        if self.role is not None and (e.person_role or "unknown") not in self.role:
            return False
        if self.year_group is not None and e.year_group not in self.year_group:
            return False
        if self.boarder is not None and bool(e.boarder) != self.boarder:
            return False
        if self.location_kind is not None and e.location_kind not in self.location_kind:
            return False
        if self.school_hours is not None and bool(e.school_hours) != self.school_hours:
            return False
        return self.term_time is None or bool(e.term_time) == self.term_time


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule fired on an event for a subject; the detector turns hits into alert versions."""

    rule: Rule
    subject: str
    subject_kind: str
    event: Event
    score: float = 1.0


@dataclass(frozen=True)
class Rule:
    """A rule of any kind: identity, the clauses it enforces, grading, and its conditions.

    `window` is the alert window: hits for one subject inside it are one alert
    (suppression), and it is part of the alert's deterministic id.
    """

    kind: ClassVar[str] = ""
    TUNABLE: ClassVar[tuple[str, ...]] = ("enabled", "severity", "window")

    id: str
    title: str
    clause_ids: tuple[str, ...]
    severity: int
    category: str
    when: Conditions = field(default_factory=Conditions)
    window: timedelta = timedelta(days=1)
    enabled: bool = True
    routing: str | None = None

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

    @property
    def route(self) -> str:
        return self.routing or DEFAULT_ROUTING[self.category]

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any]) -> list[Hit]:
        """Hits this event causes; `state` is the rule's own per-subject memory."""
        raise NotImplementedError

    @classmethod
    def params_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """Kind-specific keys of the YAML; the base kinds have none."""
        return {}

    def settings(self) -> dict[str, Any]:
        """The tunable settings of this rule, as IT edits them."""
        return {"enabled": self.enabled, "severity": self.severity,
                "window": f"{int(self.window.total_seconds())}s"}


R = TypeVar("R", bound=type[Rule])
RULE_KINDS: dict[str, type[Rule]] = {}
_COMMON = {"id", "kind", "title", "clause_ids", "severity", "category", "when", "window",
           "enabled", "routing", "description"}


def register_rule_kind(name: str) -> Callable[[R], R]:
    def deco(cls: R) -> R:
        if name in RULE_KINDS:
            raise ValueError(f"rule kind {name!r} registered twice")
        cls.kind = name
        RULE_KINDS[name] = cls
        return cls
    return deco


def rule_from_dict(data: Mapping[str, Any], extra_keys: frozenset[str] = frozenset()) -> Rule:
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
    params = cls.params_from_dict(data)
    unknown = set(data) - _COMMON - set(params) - extra_keys - set(getattr(cls, "PARAM_KEYS", ()))
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)} for a {kind} rule",
                          field=sorted(unknown)[0])
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("enabled must be true or false", field="enabled")
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
        **params,
    )
