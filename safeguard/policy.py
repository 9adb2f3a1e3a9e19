"""Policy profiles: a school's AUP as code (clause catalogue + rules), parsed from YAML text.

Every rule cites clause ids of its own profile; clauses no event can show are kept
as not-monitorable with the reason, so coverage figures are honest. Structural faults
raise `ConfigError` naming file, line and field; softer findings come back from
`validate_profile` as typed `ProfileIssue`s with a severity (as pySigma's validators do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from safeguard.errors import ConfigError
from safeguard.rules import Rule, rule_from_dict
from safeguard.yamltext import LineDict, load_yaml, require_mapping

BUILTIN_PROFILES = ("beaudesert-park", "twerton-infant")

# The clause ids DESIGN requires of each built-in profile: a profile may add clauses,
# never drop these.
REQUIRED_CLAUSES: dict[str, frozenset[str]] = {
    "beaudesert-park": frozenset({
        "bps.password-sharing", "bps.unauthorised-access", "bps.proxy", "bps.software-download",
        "bps.copyright", "bps.inappropriate-content", "bps.chat", "bps.pupil-social-networking",
        "bps.monitored-language", "bps.cyberbullying", "bps.boarding-devices",
        "bps.staff-laptop-return", "bps.mis-offsite", "bps.computer-room-supervision",
        "bps.staff-pupil-contact", "bps.staff-personal-use",
    }),
    "twerton-infant": frozenset({
        "tis.one-account", "tis.report-breach", "tis.new-technology", "tis.illegal-content",
        "tis.filter-bypass", "tis.offsite-devices", "tis.software-install",
        "tis.staff-social-hours", "tis.personal-device-network", "tis.email-personal-device",
        "tis.private-email", "tis.school-cameras", "tis.filter-gaps",
    }),
}

_CLAUSE_ID = re.compile(r"^[a-z0-9]+\.[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class Clause:
    """One clause of a policy: its id, where it stands, the policy's words, and monitorability."""

    id: str
    section: str
    text: str
    monitorable: bool
    reason: str | None = None

    def __post_init__(self) -> None:
        if not _CLAUSE_ID.match(self.id):
            raise ConfigError(f"clause id {self.id!r} must look like 'bps.proxy'", field="id")
        if not self.text.strip():
            raise ConfigError("clause text (the policy's words) is empty", field="text")
        if not self.monitorable and not (self.reason or "").strip():
            raise ConfigError("a not-monitorable clause needs a reason", field="reason")


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    source: str
    clauses: tuple[Clause, ...]
    rules: tuple[Rule, ...]
    description: str = ""
    _clauses_by_id: dict[str, Clause] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._clauses_by_id.update({c.id: c for c in self.clauses})

    def clause(self, clause_id: str) -> Clause:
        return self._clauses_by_id[clause_id]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


class IssueSeverity(Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class ProfileIssue:
    """A finding about a profile that does not stop it loading."""

    profile_id: str
    severity: IssueSeverity
    code: str
    message: str
    subject: str = ""


def _located(exc: ConfigError, source: str, node: LineDict, prefix: str) -> ConfigError:
    field_name = f"{prefix}.{exc.field}" if exc.field else prefix
    key = (exc.field or "").split(".", 1)[0]
    line = exc.line or (node.line_of(key) if key else node.line)
    return ConfigError(exc.message, source=source, line=line, field=field_name)


def parse_profile(text: str, source: str) -> Profile:
    """Parse and check a profile YAML; errors name `source`, the line and the field."""
    doc = require_mapping(load_yaml(text, source), source, "a profile")
    for key in ("id", "name", "clauses", "rules"):
        if key not in doc:
            raise ConfigError("required key is missing", source=source, line=doc.line, field=key)
    clauses: list[Clause] = []
    seen: set[str] = set()
    if not isinstance(doc["clauses"], list):
        raise ConfigError("clauses must be a list", source=source, line=doc.line_of("clauses"),
                          field="clauses")
    for i, item in enumerate(doc["clauses"]):
        node = require_mapping(item, source, "a clause", doc.line_of("clauses"))
        prefix = f"clauses[{i}]"
        try:
            for key in ("id", "text"):
                if key not in node:
                    raise ConfigError("required key is missing", field=key)
            monitorable = node.get("monitorable", True)
            if not isinstance(monitorable, bool):
                raise ConfigError("monitorable must be true or false", field="monitorable")
            clause = Clause(id=str(node["id"]), section=str(node.get("section", "")),
                            text=str(node["text"]), monitorable=monitorable,
                            reason=node.get("reason"))
        except ConfigError as exc:
            raise _located(exc, source, node, prefix) from exc
        if clause.id in seen:
            raise ConfigError(f"clause {clause.id!r} is defined twice", source=source,
                              line=node.line_of("id"), field=f"{prefix}.id")
        seen.add(clause.id)
        clauses.append(clause)
    rules: list[Rule] = []
    if not isinstance(doc["rules"], list):
        raise ConfigError("rules must be a list", source=source, line=doc.line_of("rules"),
                          field="rules")
    rule_ids: set[str] = set()
    for i, item in enumerate(doc["rules"]):
        node = require_mapping(item, source, "a rule", doc.line_of("rules"))
        prefix = f"rules[{i}]"
        try:
            rule = rule_from_dict(node)
        except ConfigError as exc:
            raise _located(exc, source, node, prefix) from exc
        for cid in rule.clause_ids:
            if cid not in seen:
                raise ConfigError(f"rule {rule.id!r} cites unknown clause {cid!r}", source=source,
                                  line=node.line_of("clause_ids"), field=f"{prefix}.clause_ids")
        if rule.id in rule_ids:
            raise ConfigError(f"rule {rule.id!r} is defined twice", source=source,
                              line=node.line_of("id"), field=f"{prefix}.id")
        rule_ids.add(rule.id)
        rules.append(rule)
    return Profile(id=str(doc["id"]), name=str(doc["name"]), source=str(doc.get("source", "")),
                   description=str(doc.get("description", "")), clauses=tuple(clauses),
                   rules=tuple(rules))


def validate_profile(profile: Profile) -> list[ProfileIssue]:
    """Coverage findings: required clauses missing, monitorable clauses with no rule."""
    issues: list[ProfileIssue] = []
    have = {c.id for c in profile.clauses}
    for cid in sorted(REQUIRED_CLAUSES.get(profile.id, frozenset()) - have):
        issues.append(ProfileIssue(profile.id, IssueSeverity.HIGH, "required-clause-missing",
                                   f"clause {cid} is required for this profile", cid))
    enforced = {cid for r in profile.rules for cid in r.clause_ids}
    for c in profile.clauses:
        if c.monitorable and c.id not in enforced:
            issues.append(ProfileIssue(profile.id, IssueSeverity.MEDIUM, "clause-without-rule",
                                       f"monitorable clause {c.id} has no rule yet", c.id))
    return issues


def coverage(profile: Profile) -> dict[str, Any]:
    """How much of the policy is monitored: counts a governor can read at a glance."""
    enforced = {cid for r in profile.rules if r.enabled for cid in r.clause_ids}
    monitorable = [c for c in profile.clauses if c.monitorable]
    return {
        "clauses": len(profile.clauses),
        "monitorable": len(monitorable),
        "enforced": sum(1 for c in monitorable if c.id in enforced),
        "not_monitorable": len(profile.clauses) - len(monitorable),
    }
