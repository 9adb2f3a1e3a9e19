"""Counting kinds: `event_count`, `value_count` and `risk` (a decaying score per subject).

State is plain JSON (epoch seconds, ids), bounded in size, so it fits a changelogged
Faust table as well as a dict.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from safeguard.errors import ConfigError
from safeguard.events import Event
from safeguard.rules.base import (
    NO_FACTS,
    Conditions,
    Facts,
    Hit,
    Rule,
    parse_duration,
    register_rule_kind,
    required_int,
)

VALUE_FIELDS = frozenset({"host_name", "source_ip", "user_name", "person_id", "url_domain",
                          "location", "asset_tag"})


def _related(items: list[list[Any]]) -> tuple[tuple[str, str], ...]:
    from datetime import UTC, datetime

    return tuple((str(i[-1]), datetime.fromtimestamp(i[0], UTC).isoformat()) for i in items)


@register_rule_kind("event_count")
@dataclass(frozen=True)
class EventCountRule(Rule):
    """N matching events for one subject within `within` (10 failed logins in 10 minutes)."""

    PARAMS = ("threshold", "within")
    TUNABLE = ("threshold", "within")
    threshold: int = 1
    within: timedelta = timedelta(minutes=10)

    @classmethod
    def params_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"threshold": required_int(data, "threshold"),
                "within": parse_duration(data.get("within", "10m"))}

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any], facts: Facts = NO_FACTS) -> list[Hit]:
        if not self.when.matches(event, facts):
            return []
        now = event.timestamp.timestamp()
        horizon = now - self.within.total_seconds()
        items = [i for i in state.get("items", []) if i[0] >= horizon]
        if any(i[1] == event.event_id for i in items):
            return []
        items.append([now, event.event_id])
        state["items"] = items[-max(self.threshold * 2, 20):]
        if len(items) < self.threshold:
            return []
        return [Hit(self, subject, subject_kind, event, float(len(items)),
                    related=_related(items[:-1]))]


@register_rule_kind("value_count")
@dataclass(frozen=True)
class ValueCountRule(Rule):
    """N distinct values of `field` per subject within `within` (one account, 2+ devices)."""

    PARAMS = ("field", "threshold", "within")
    TUNABLE = ("threshold", "within")
    field: str = "host_name"
    threshold: int = 2
    within: timedelta = timedelta(minutes=10)

    @classmethod
    def params_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        name = str(data.get("field", ""))
        if name not in VALUE_FIELDS:
            raise ConfigError(f"field must be one of {sorted(VALUE_FIELDS)}", field="field")
        return {"field": name, "threshold": required_int(data, "threshold", 2),
                "within": parse_duration(data.get("within", "10m"))}

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any], facts: Facts = NO_FACTS) -> list[Hit]:
        value = getattr(event, self.field)
        if value is None or not self.when.matches(event, facts):
            return []
        value = str(value).lower()
        now = event.timestamp.timestamp()
        horizon = now - self.within.total_seconds()
        latest: dict[str, list[Any]] = {}
        for item in state.get("items", []):
            if item[0] >= horizon:
                latest[item[1]] = item
        latest[value] = [now, value, event.event_id]
        items = sorted(latest.values())[-max(self.threshold * 2, 20):]
        state["items"] = items
        if len(items) < self.threshold:
            return []
        return [Hit(self, subject, subject_kind, event, float(len(items)),
                    related=_related([i for i in items if i[2] != event.event_id]))]


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """`score` points per matching event; with `once`, at most once per half-life (a fact
    such as "uses an unregistered device" counts once, not on every request)."""

    when: Conditions
    score: float
    once: bool = False


@register_rule_kind("risk")
@dataclass(frozen=True)
class RiskRule(Rule):
    """Every matching event adds a score to the subject, halving every `half_life`;
    a hit while the score stands at or above `threshold` (Splunk-style risk-based alerting)."""

    PARAMS = ("scores", "threshold", "half_life")
    TUNABLE = ("threshold", "half_life")
    scores: tuple[ScoreRule, ...] = ()
    threshold: float = 50.0
    half_life: timedelta = timedelta(days=1)

    @classmethod
    def params_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        raw = data.get("scores")
        if not isinstance(raw, list) or not raw:
            raise ConfigError("scores must be a list of {when, score}", field="scores")
        scores = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping) or not isinstance(item.get("score"), int | float):
                raise ConfigError("each score needs `when` and a numeric `score`",
                                  field=f"scores[{i}]")
            once = item.get("once", False)
            if not isinstance(once, bool):
                raise ConfigError("once must be true or false", field=f"scores[{i}].once")
            scores.append(ScoreRule(Conditions.from_dict(item.get("when"), f"scores[{i}].when"),
                                    float(item["score"]), once))
        threshold = data.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
            raise ConfigError("threshold must be a positive number", field="threshold")
        return {"scores": tuple(scores), "threshold": float(threshold),
                "half_life": parse_duration(data.get("half_life", "1d"))}

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any], facts: Facts = NO_FACTS) -> list[Hit]:
        if not self.when.matches(event, facts):
            return []
        now = event.timestamp.timestamp()
        items = state.get("items", [])
        if any(i[1] == event.event_id for i in items):
            return []
        last_once: dict[str, float] = dict(state.get("once", {}))
        added = 0.0
        for idx, s in enumerate(self.scores):
            if not s.when.matches(event, facts):
                continue
            if s.once:
                if now - last_once.get(str(idx), -1e18) < self.half_life.total_seconds():
                    continue
                last_once[str(idx)] = now
            added += s.score
        if added == 0:
            return []
        state["once"] = last_once
        elapsed = max(0.0, now - float(state.get("ts", now)))
        score = float(state.get("score", 0.0)) * 0.5 ** (
            elapsed / self.half_life.total_seconds()) + added
        items = [*items, [now, event.event_id]][-20:]
        state.update(score=score, ts=max(now, float(state.get("ts", now))), items=items)
        if score < self.threshold:
            return []
        return [Hit(self, subject, subject_kind, event, round(score, 3),
                    related=_related(items[:-1]))]
