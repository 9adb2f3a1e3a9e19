"""`match`: one event meets the conditions (category, role, time of day, location, term time)."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from safeguard.events import Event
from safeguard.rules.base import NO_FACTS, Facts, Hit, Rule, register_rule_kind


@register_rule_kind("match")
@dataclass(frozen=True)
class MatchRule(Rule):
    """Stateless: every matching event is a hit; the alert window groups them per subject."""

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any], facts: Facts = NO_FACTS) -> list[Hit]:
        if not self.when.matches(event, facts):
            return []
        return [Hit(rule=self, subject=subject, subject_kind=subject_kind, event=event,
                     score=float(self.severity))]
