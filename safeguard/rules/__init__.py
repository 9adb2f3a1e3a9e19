"""Rule kinds, registered by name; a profile's YAML names the kind of each rule."""

from safeguard.rules.base import (
    RULE_KINDS,
    Conditions,
    Facts,
    Hit,
    Rule,
    parse_duration,
    register_rule_kind,
    rule_from_dict,
)
from safeguard.rules.counting import EventCountRule, RiskRule, ValueCountRule
from safeguard.rules.match import MatchRule
from safeguard.rules.temporal import AbsenceRule, SequenceRule

__all__ = ["RULE_KINDS", "AbsenceRule", "Conditions", "EventCountRule", "Facts", "Hit",
           "MatchRule", "RiskRule", "Rule", "SequenceRule", "ValueCountRule",
           "parse_duration", "register_rule_kind", "rule_from_dict"]
