"""Counting kinds: `event_count`, `value_count` and `risk` (a decaying score per subject).

State is plain JSON (epoch seconds, ids), bounded in size, so it fits a changelogged
Faust table as well as a dict.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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

MAX_ITEMS = 40  # per rule and subject: enough for any threshold, bounded memory
VALUE_FIELDS = frozenset({"host_name", "source_ip", "user_name", "person_id", "url_domain",
                          "location", "asset_tag"})


def densest_window(items: list[list[Any]], now: float, within: float,
                   distinct: int | None = None) -> list[list[Any]]:
    """The items of the fullest window of length `within` that contains time `now`.

    Decided on event time alone, so events arriving out of order (several partitions,
    several workers) give the same answer as in order. With `distinct`, items count once
    per value at that index (value_count), keeping the latest occurrence of each value.
    """
    best: list[list[Any]] = []
    for start in sorted({i[0] for i in items if now - within <= i[0] <= now}):
        inside = [i for i in items if start <= i[0] <= start + within]
        if distinct is not None:
            latest: dict[Any, list[Any]] = {}
            for i in sorted(inside):
                latest[i[distinct]] = i
            inside = sorted(latest.values())
        if len(inside) > len(best):
            best = inside
    return best


def _related(items: list[list[Any]]) -> tuple[tuple[str, float], ...]:
    return tuple((str(i[-1]), i[0]) for i in items)


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
        span = self.within.total_seconds()
        items = list(state.get("items", []))
        if event.event_id in [i[1] for i in items]:
            return []
        # bounded by count, not by "older than the newest": a late event must still count
        items = sorted([*items, [now, event.event_id]])[-max(self.threshold * 3, MAX_ITEMS):]
        state["items"] = items
        window = densest_window(items, now, span)
        if len(window) < self.threshold:
            return []
        return [Hit(self, subject, subject_kind, event, float(len(window)),
                    related=_related([i for i in window if i[1] != event.event_id]))]


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
        span = self.within.total_seconds()
        items = list(state.get("items", []))
        if event.event_id in [i[2] for i in items]:
            return []
        items = sorted([*items, [now, value, event.event_id]])[-max(self.threshold * 6,
                                                                      MAX_ITEMS * 2):]
        state["items"] = items
        window = densest_window(items, now, span, distinct=1)
        if len(window) < self.threshold:
            return []
        return [Hit(self, subject, subject_kind, event, float(len(window)),
                    related=_related([i for i in window if i[2] != event.event_id]))]


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

    def conditions(self) -> tuple[Conditions, ...]:
        return (self.when, *(s.when for s in self.scores))

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any], facts: Facts = NO_FACTS) -> list[Hit]:
        """The score at time T is the decayed sum of contributions at or before T, so the
        answer does not depend on the order events arrive in; a late contribution is
        checked at its own time and at every later one it adds to."""
        if not self.when.matches(event, facts):
            return []
        now = event.timestamp.timestamp()
        items: list[list[Any]] = list(state.get("items", []))
        if event.event_id in [i[1] for i in items]:
            return []
        half_life = self.half_life.total_seconds()
        credited: list[str] = list(state.get("credited", []))
        added: list[list[Any]] = []
        for idx, s in enumerate(self.scores):
            if not s.when.matches(event, facts):
                continue
            if s.once:  # once per half-life bucket, dated at the bucket's start
                bucket = int(now // half_life)
                key = f"{idx}:{bucket}"
                if key in credited:
                    continue
                credited = [*credited, key][-MAX_ITEMS:]
                added.append([bucket * half_life, event.event_id, s.score])
            else:
                added.append([now, event.event_id, s.score])
        if not added:
            return []
        items = sorted([*items, *added])[-MAX_ITEMS:]
        state.update(items=items, credited=credited)
        earliest = min(a[0] for a in added)
        for t in sorted({i[0] for i in items if i[0] >= earliest}):
            score = sum(i[2] * 0.5 ** ((t - i[0]) / half_life) for i in items if i[0] <= t)
            if score >= self.threshold:
                return [Hit(self, subject, subject_kind, event, round(score, 3),
                            related=tuple((str(i[1]), i[0]) for i in items
                                          if i[0] <= t and i[1] != event.event_id),
                            at=datetime.fromtimestamp(max(t, now), UTC))]
        return []
