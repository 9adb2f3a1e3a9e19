"""What a backtest reads for one rule: a conservative SQL prefilter, the columns the
detector looks at, and a prune that only drops events which cannot change the result.

The prefilter is an OR over every condition set the rule evaluates (its `when` AND each
step / score / start / expect), keeping only conditions whose SQL reading can never reject
an event Python accepts, plus the rows the detector's per-subject memory needs
(`new_device`, `first_use`). Facts and unknown rule kinds are never pushed down.

The prune (rendered by `warehouse.events_prune`) works per subject key, the detector's
own subject wherever SQL can spell it exactly (rows it cannot are never pruned); each is
exact, the report comes out the same as over every candidate (tests/test_backtest.py
compares them; `docs/benchmarks.md` has the argument):

- density (event_count, value_count, sequence): a hit at time t only counts candidates of
  its subject in [t - within, t], so it needs that window to hold enough of them
  (`threshold` events or distinct values, or one of every step; `new_device` and
  `first_use` bounded by first sightings). Candidates inside such a window are kept, the
  rest cannot fire and cannot change what fires.
- edges (match rules whose conditions SQL evaluates exactly): an alert of a subject and
  alert window shows its first and last matching event (first_seen, last_seen); the ones
  between only add versions and evidence, so only the first and last are replayed.
- memory: only what the detector's per-subject memory of devices and domains can still
  use; rows without the rule's key (an IP rule, no source IP) never reach the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from safeguard.detection import MAX_REMEMBERED
from safeguard.rules import (
    AbsenceRule,
    Conditions,
    EventCountRule,
    MatchRule,
    RiskRule,
    Rule,
    SequenceRule,
    ValueCountRule,
)
from warehouse.events_prune import Density, Edges, Need, Prune
from warehouse.events_read import COLUMNS, Memory


@dataclass(frozen=True, slots=True)
class Predicate:
    """One condition in a form SQL can test (rendered by `warehouse.events_read`)."""

    op: str
    column: str
    values: tuple[str, ...] = ()
    flag: bool | None = None
    key: str | None = None


# Operators whose SQL reading accepts exactly the events Python accepts. The others
# (`domain`, `path_suffix`: SQL and Python lower-case some scripts differently;
# `label_in`: JSON text against a parsed value) only ever accept more.
EXACT_OPS = frozenset({"in", "in_or_unknown", "overlap", "flag", "not_null", "registered",
                       "other_owner"})
_SETS = (("event_category", "category", "in"), ("action", "action", "in"),
         ("dataset", "dataset", "in"), ("year_group", "year_group", "in"),
         ("device_category", "asset_category", "in"),
         ("role", "person_role", "in_or_unknown"),
         ("location_kind", "location_kind", "in_or_unknown"),
         ("device_ownership", "asset_ownership", "in_or_unknown"),
         ("categories", "categories", "overlap"), ("themes", "themes", "overlap"))
_DEFAULTS = (("outcome", "outcome", "unknown"), ("event_type", "type", "info"))
_FLAGS = ("boarder", "school_hours", "term_time", "after_leave")


def _in(column: str, values: frozenset[str], op: str = "in") -> Predicate:
    return Predicate(op, column, tuple(sorted(values)))


def _pushed(c: Conditions) -> tuple[list[Predicate], set[str]]:
    """The predicates of `c` and the names of the conditions they render exactly."""
    out: list[Predicate] = []
    exact: set[str] = set()
    for attr, column, op in _SETS:
        value = getattr(c, attr)
        if value is not None:
            out.append(_in(column, value, op))
            exact.add(attr)
    for attr, column, default in _DEFAULTS:
        value = getattr(c, attr)
        if value is not None and default not in value:  # NULL reads as the default
            out.append(_in(column, value))
            exact.add(attr)
    for attr in _FLAGS:
        if getattr(c, attr) is not None:
            out.append(Predicate("flag", attr, flag=getattr(c, attr)))
            exact.add(attr)
    if c.device_registered is not None:
        out.append(Predicate("registered", "asset_ownership", flag=c.device_registered))
        exact.add("device_registered")
    if c.device_of_other is not None:
        out.append(Predicate("other_owner", "asset_owner", flag=c.device_of_other))
        exact.add("device_of_other")
    if c.domains is not None:
        out.append(_in("url_domain", c.domains, "domain"))
    if c.url_extensions is not None:
        out.append(_in("url_original", c.url_extensions, "path_suffix"))
    for key, allowed in sorted((c.labels or {}).items()):
        out.append(Predicate("label_in", "labels", tuple(sorted(allowed)), key=key))
    return out, exact


def predicates(c: Conditions) -> tuple[Predicate, ...]:
    """The pushable part of `c`. Facts (incident_role, new_device, first_use) are not
    columns, so they are left to Python; `outcome`/`type` read NULL as their defaults."""
    return tuple(_pushed(c)[0])


def exactly_pushed(c: Conditions) -> bool:
    """True when SQL accepts exactly the events `c` accepts (every condition set in `c`
    is rendered, by an exact operator, and none is a fact)."""
    exact = _pushed(c)[1]
    return all(getattr(c, f.name) is None or f.name in exact for f in fields(c))


# Condition sets each kind evaluates besides `when` (any one suffices), by exact type: a
# subclass may evaluate differently, and an unknown kind gets no prefilter at all.
_PARTS: dict[type[Rule], Callable[[Any], tuple[Conditions, ...]]] = {
    MatchRule: lambda r: (Conditions(),), EventCountRule: lambda r: (Conditions(),),
    ValueCountRule: lambda r: (Conditions(),), SequenceRule: lambda r: r.steps,
    AbsenceRule: lambda r: tuple(c for c in (r.start, r.expect, r.expect_end) if c),
    RiskRule: lambda r: tuple(s.when for s in r.scores),
}


def warmup_of(rule: Rule) -> timedelta:
    """How far before the range the rule's state reaches (counting, chains, decay)."""
    if isinstance(rule, EventCountRule | ValueCountRule | SequenceRule):
        return rule.within
    if isinstance(rule, AbsenceRule):
        return rule.within + rule.lookback
    if isinstance(rule, RiskRule):
        return rule.half_life * 6  # older contributions count for under 2%
    return timedelta(0)


# The columns each condition reads (the facts: what the detector derives them from).
_CONDITION_COLUMNS: dict[str, tuple[str, ...]] = {
    "event_category": ("category",), "event_type": ("type",), "action": ("action",),
    "outcome": ("outcome",), "dataset": ("dataset",), "categories": ("categories",),
    "themes": ("themes",), "domains": ("url_domain",), "role": ("person_role",),
    "year_group": ("year_group",), "boarder": ("boarder",),
    "location_kind": ("location_kind",), "school_hours": ("school_hours",),
    "term_time": ("term_time",), "device_ownership": ("asset_ownership",),
    "device_category": ("asset_category",), "device_registered": ("asset_ownership",),
    "device_of_other": ("asset_owner", "person_id"), "after_leave": ("after_leave",),
    "incident_role": ("labels",), "new_device": ("host_name",),
    "first_use": ("url_domain", "categories"), "labels": ("labels",),
    "url_extensions": ("url_original",),
}
# What every replay reads: identity and time, the subject (`subject_of`), the facts'
# own tests (`Detector._facts`) and the fields an event cannot be built without.
_ALWAYS = ("ts", "event_id", "school_id", "category", "dataset", "type", "action",
           "outcome", "person_id", "user_name", "host_name", "source_ip")
_GROUP_COLUMNS = {"person": (), "ip": ("labels",), "device": ("asset_tag", "labels"),
                  "location": ("location", "labels")}  # labels: `session.person`


def columns_for(rule: Rule, parts: tuple[Conditions, ...] | None) -> frozenset[str]:
    """The events columns the detector can read for `rule`; every other field is left at
    its default. An unknown condition or rule kind reads every column but `raw`."""
    everything = frozenset(COLUMNS) - {"raw"}
    if parts is None:
        return everything
    out = set(_ALWAYS) | set(_GROUP_COLUMNS.get(rule.group_by, everything))
    for c in (rule.when, *parts):
        for f in fields(c):
            if getattr(c, f.name) is not None:
                if f.name not in _CONDITION_COLUMNS:
                    return everything
                out.update(_CONDITION_COLUMNS[f.name])
    if incidents_possible(rule.when, parts):
        out.add("labels")  # an incident's named pupils are keys (`keys_of`)
    if isinstance(rule, ValueCountRule):
        out.add(rule.field)
    if isinstance(rule, AbsenceRule):
        out.update(c for c in (rule.correlate_on,) if c)
        if rule.deadline_label:
            out.add("labels")
    return frozenset(out)


def _rejects_incidents(c: Conditions) -> bool:
    return c.event_category is not None and "incident" not in c.event_category


def incidents_possible(when: Conditions, parts: tuple[Conditions, ...] | None) -> bool:
    """Whether a candidate can be an incident (whose named pupils are keys of their own,
    `keys_of`): unless `when`, or every part, rejects the incident category."""
    if parts is None:
        return True
    return not (_rejects_incidents(when) or all(_rejects_incidents(p) for p in parts))


@dataclass(frozen=True)
class Prefilter:
    """What to load: rows matching any term (None: every row), the memory rows, the
    columns to read and how to prune the candidates before replaying them."""

    terms: tuple[tuple[Predicate, ...], ...] | None
    memory: Memory
    warmup: timedelta
    columns: frozenset[str] = frozenset(COLUMNS) - {"raw"}
    prune: Prune | None = None

    def describe(self) -> str:
        if self.terms is None:
            return "every event (nothing safe to push down)"
        text = " OR ".join("(" + (" AND ".join(
            f"{p.column}[{p.key}]" if p.key else f"{p.column} {p.op}" for p in t)
            or "any") + ")" for t in self.terms)
        mem = [n for n, on in (("sign-ins on devices", self.memory.devices),
                               ("categorised web", self.memory.domains)) if on]
        text += f" + memory: {', '.join(mem)}" if mem else ""
        return text + (f"; prune: {self.prune.describe()}" if self.prune else "")


def _need(when: Conditions, part: Conditions, term: tuple[Predicate, ...],
          at_least: int = 1, distinct: str | None = None) -> Need:
    """A density need for the condition set `when` AND `part`, with the facts it asks to
    be true (SQL bounds those by first sightings, see `warehouse.events_prune`)."""
    return Need(term, at_least, distinct,
                new_device=when.new_device is True or part.new_device is True,
                first_use=when.first_use is True or part.first_use is True)


def _shape(rule: Rule, terms: tuple[tuple[Predicate, ...], ...],
           parts: tuple[Conditions, ...]) -> Density | Edges | None:
    # exact types: a subclass may count differently
    if type(rule) is EventCountRule and isinstance(rule, EventCountRule):
        return Density(rule.within, (_need(rule.when, parts[0], terms[0], rule.threshold),))
    if type(rule) is ValueCountRule and isinstance(rule, ValueCountRule):
        return Density(rule.within, (_need(rule.when, parts[0], terms[0], rule.threshold,
                                           rule.field),))
    if type(rule) is SequenceRule and isinstance(rule, SequenceRule):
        return Density(rule.within, tuple(_need(rule.when, p, t) for p, t in zip(
            parts, terms, strict=True)))
    if type(rule) is MatchRule and all(exactly_pushed(c) for c in (rule.when, *parts)):
        return Edges(rule.window)
    return None


def prune_for(rule: Rule, terms: tuple[tuple[Predicate, ...], ...],
              parts: tuple[Conditions, ...]) -> Prune:
    """How to prune `rule`'s candidates. The person key (`person_id`) is a coarsening of
    the detector's only when no candidate is an incident, whose named pupils are keys
    too; the IP key is the detector's own; devices and rooms get no key in SQL (the
    detector shortens and lower-cases their names)."""
    keyed = rule.group_by == "ip" or (rule.group_by == "person"
                                      and not incidents_possible(rule.when, parts))
    return Prune(rule.group_by, keyed, _shape(rule, terms, parts) if keyed else None)


def prefilter_for(rule: Rule) -> Prefilter:
    of = _PARTS.get(type(rule))
    parts = of(rule) if of else None
    conds = [rule.when, *(parts or ())]
    memory = Memory(devices=any(c.new_device is not None for c in conds),
                    domains=any(c.first_use is not None for c in conds),
                    remembered=MAX_REMEMBERED)
    columns = columns_for(rule, parts)
    if parts is None:
        return Prefilter(None, memory, warmup_of(rule), columns)
    base = predicates(rule.when)
    extra: tuple[Predicate, ...] = ()
    if isinstance(rule, ValueCountRule):
        extra = (Predicate("not_null", rule.field),)
    terms = tuple(base + predicates(p) + extra for p in parts)
    # a condition set with nothing pushable matches anything: load everything
    if not all(terms):
        return Prefilter(None, memory, warmup_of(rule), columns)
    return Prefilter(terms, memory, warmup_of(rule), columns, prune_for(rule, terms, parts))
