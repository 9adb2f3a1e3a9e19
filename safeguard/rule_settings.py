"""IT's live rule settings: overrides of a profile's tunable values, validated on entry.

A change is a `RuleChange` (who, when, why, what); the effective rules are the profile's
with every stored override applied. The same function serves the embedded runner
(settings read from the warehouse) and the Faust workers (settings from `config.rules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from safeguard.errors import ConfigError
from safeguard.events import parse_timestamp
from safeguard.policy import Profile
from safeguard.rules import Rule


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One edit of one rule's settings; `settings` empty means back to the profile's values."""

    school_id: str
    rule_id: str
    settings: Mapping[str, Any]
    changed_by: str
    changed_at: datetime
    reason: str = ""
    previous: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.changed_by.strip():
            raise ConfigError("a rule change needs the name of who made it", field="changed_by")

    @property
    def key(self) -> str:
        """Compacted-topic key: the latest change per school and rule is what counts."""
        return f"{self.school_id}/{self.rule_id}"

    def to_dict(self) -> dict[str, Any]:
        return {"school_id": self.school_id, "rule_id": self.rule_id,
                "settings": dict(self.settings), "changed_by": self.changed_by,
                "changed_at": self.changed_at.isoformat(), "reason": self.reason,
                "previous": dict(self.previous)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleChange:
        return cls(str(data["school_id"]), str(data["rule_id"]), dict(data["settings"]),
                   str(data["changed_by"]), parse_timestamp(data["changed_at"]),
                   str(data.get("reason", "")), dict(data.get("previous", {})))


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """`["threshold=5", "within=15m"]` -> {"threshold": "5", "within": "15m"}."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected key=value, got {pair!r}", field="--set")
        out[key.strip()] = value.strip()
    return out


def validated_change(profile: Profile, school_id: str, rule_id: str,
                     settings: Mapping[str, Any], *, changed_by: str, changed_at: datetime,
                     reason: str = "", current: Mapping[str, Mapping[str, Any]] | None = None,
                     ) -> RuleChange:
    """A change checked against the rule (unknown keys and bad values are refused)."""
    try:
        rule = profile.rule(rule_id)
    except KeyError:
        raise ConfigError(f"no rule {rule_id!r} in profile {profile.id}",
                          field="rule") from None
    before = dict((current or {}).get(rule_id, {}))
    merged = {**before, **settings}
    changed = rule.with_settings(merged)  # raises ConfigError naming the bad key
    clean = {k: changed.settings()[k] for k in merged}
    return RuleChange(school_id, rule_id, clean, changed_by, changed_at, reason, before)


def effective_rules(profile: Profile, overrides: Mapping[str, Mapping[str, Any]],
                    ) -> tuple[Rule, ...]:
    """The profile's rules with IT's overrides applied; unknown rule ids are ignored
    (a rule removed from the profile keeps no ghost settings)."""
    out = []
    for rule in profile.rules:
        settings = overrides.get(rule.id)
        out.append(rule.with_settings(settings) if settings else rule)
    return tuple(out)
