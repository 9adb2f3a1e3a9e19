"""Rule kinds, registered by name; a profile's YAML names the kind of each rule."""

from safeguard.rules.base import (
           RULE_KINDS,
           Conditions,
           Hit,
           Rule,
           register_rule_kind,
           rule_from_dict,
)
from safeguard.rules.match import MatchRule

__all__ = ["RULE_KINDS", "Conditions", "Hit", "MatchRule", "Rule", "register_rule_kind",
           "rule_from_dict"]
