"""Backtest: what a changed rule would have raised over stored events, with the same code.

The warehouse holds every enriched event, so a rule can be replayed as it ran live:
`effective_rules` with the proposed settings, the real `Detector` (only that rule),
events in time order, absence deadlines judged by `Detector.advance` up to the watermark.
A term is tens of millions of rows and Python replays some 100k events/s, so the rule's
conditions are first compiled into a *conservative* SQL prefilter: an OR over every
condition set the rule evaluates (its `when` AND each step / score / start / expect),
keeping only conditions whose SQL reading can never reject an event Python accepts, plus
the rows the detector's per-subject memory needs (`new_device`, `first_use`). Facts and
unknown rule kinds are never pushed down.

An alert is in the range when its latest hit (last_seen) is. Events are replayed from a
window (plus the rule's reach: `within`, lookback, decay) before the range to a window
after it, so alerts straddling either edge come out as they were live. Limits: state
older than that (a checkout due weeks later, a device seen long before) is not rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import duckdb

from safeguard.alerts import Alert
from safeguard.detection import Detector
from safeguard.errors import ConfigError
from safeguard.events import Event
from safeguard.policy import Profile
from safeguard.rule_settings import effective_rules, validated_change
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
from warehouse import events_read
from warehouse.events_read import Memory, StoredAlert

# The DSL's outcomes (alert_actions.action = 'outcome'), read as the rule being right or not.
TRUE_POSITIVE_OUTCOMES = frozenset({"pastoral", "early-help", "social-care-referral",
                                    "prevent-referral", "police"})
FALSE_POSITIVE_OUTCOMES = frozenset({"no-concern"})
ADVANCE_EVERY = timedelta(minutes=10)  # event time between absence deadline checks


def verdict_of(outcome: str | None) -> str | None:
    """'tp', 'fp', or None (no outcome, or one that says nothing about the rule)."""
    if outcome in TRUE_POSITIVE_OUTCOMES:
        return "tp"
    if outcome in FALSE_POSITIVE_OUTCOMES:
        return "fp"
    return None


@dataclass(frozen=True, slots=True)
class Predicate:
    """One condition in a form SQL can test (rendered by `warehouse.events_read`)."""

    op: str
    column: str
    values: tuple[str, ...] = ()
    flag: bool | None = None
    key: str | None = None


def _in(column: str, values: frozenset[str], op: str = "in") -> Predicate:
    return Predicate(op, column, tuple(sorted(values)))


def predicates(c: Conditions) -> tuple[Predicate, ...]:
    """The pushable part of `c`. Facts (incident_role, new_device, first_use) are not
    columns, so they are left to Python; `outcome`/`type` read NULL as their defaults."""
    out: list[Predicate] = []
    sets = (("event_category", "category", "in"), ("action", "action", "in"),
            ("dataset", "dataset", "in"), ("year_group", "year_group", "in"),
            ("device_category", "asset_category", "in"), ("role", "person_role",
                                                          "in_or_unknown"),
            ("location_kind", "location_kind", "in_or_unknown"),
            ("device_ownership", "asset_ownership", "in_or_unknown"),
            ("categories", "categories", "overlap"), ("themes", "themes", "overlap"))
    for attr, column, op in sets:
        value = getattr(c, attr)
        if value is not None:
            out.append(_in(column, value, op))
    for attr, default in (("outcome", "unknown"), ("event_type", "info")):
        value = getattr(c, attr)
        if value is not None and default not in value:  # NULL reads as the default
            out.append(_in("outcome" if attr == "outcome" else "type", value))
    for attr in ("boarder", "school_hours", "term_time", "after_leave"):
        if getattr(c, attr) is not None:
            out.append(Predicate("flag", attr, flag=getattr(c, attr)))
    if c.device_registered is not None:
        out.append(Predicate("registered", "asset_ownership", flag=c.device_registered))
    if c.device_of_other is not None:
        out.append(Predicate("other_owner", "asset_owner", flag=c.device_of_other))
    if c.domains is not None:
        out.append(_in("url_domain", c.domains, "domain"))
    if c.url_extensions is not None:
        out.append(_in("url_original", c.url_extensions, "path_suffix"))
    for key, allowed in sorted((c.labels or {}).items()):
        out.append(Predicate("label_in", "labels", tuple(sorted(allowed)), key=key))
    return tuple(out)


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


@dataclass(frozen=True)
class Prefilter:
    """What to load: rows matching any term (None: every row) and the memory rows."""

    terms: tuple[tuple[Predicate, ...], ...] | None
    memory: Memory
    warmup: timedelta

    def describe(self) -> str:
        if self.terms is None:
            return "every event (nothing safe to push down)"
        text = " OR ".join("(" + (" AND ".join(
            f"{p.column}[{p.key}]" if p.key else f"{p.column} {p.op}" for p in t)
            or "any") + ")" for t in self.terms)
        mem = [n for n, on in (("sign-ins on devices", self.memory.devices),
                               ("categorised web", self.memory.domains)) if on]
        return text + (f" + memory: {', '.join(mem)}" if mem else "")


def prefilter_for(rule: Rule) -> Prefilter:
    of = _PARTS.get(type(rule))
    parts = of(rule) if of else None
    conds = [rule.when, *(parts or ())]
    memory = Memory(devices=any(c.new_device is not None for c in conds),
                    domains=any(c.first_use is not None for c in conds),
                    domains_by_person=rule.group_by == "person")
    if parts is None:
        return Prefilter(None, memory, warmup_of(rule))
    base = predicates(rule.when)
    extra: tuple[Predicate, ...] = ()
    if isinstance(rule, ValueCountRule):
        extra = (Predicate("not_null", rule.field),)
    terms = tuple(base + predicates(p) + extra for p in parts)
    # a condition set with nothing pushable matches anything: load everything
    return Prefilter(terms if all(terms) else None, memory, warmup_of(rule))


@dataclass(frozen=True)
class Replay:
    alerts: tuple[Alert, ...]
    events: int
    events_in_range: int
    detect_seconds: float


def replay(profile: Profile, school_id: str, rule: Rule, events: Iterable[Event],
           *, start: datetime, end: datetime, until: datetime) -> Replay:
    """Run the live detector with only `rule` over `events` (time order), judging absence
    deadlines as event time passes and finally at `until`; the newest version per id."""
    detector = Detector(profile, school_id)
    detector.set_rules((rule,))
    state: dict[str, Any] = {}
    newest: dict[str, Alert] = {}
    timed = rule.kind == "absence" and rule.enabled
    holders: set[str] = set()
    checked: datetime | None = None
    seen = in_range = 0
    busy = 0.0

    def keep(alerts: list[Alert]) -> None:
        for a in alerts:
            if a.alert_id not in newest or a.version > newest[a.alert_id].version:
                newest[a.alert_id] = a

    def advance(now: datetime) -> None:
        keep(detector.advance(now, state, sorted(holders)))
        done = {s for s in holders if rule.id not in (state.get(s) or {}).get("rules", {})}
        holders.difference_update(done)

    for event in events:
        t0 = time.perf_counter()
        seen += 1
        in_range += start <= event.timestamp < end
        if timed and (checked is None or event.timestamp - checked >= ADVANCE_EVERY):
            advance(event.timestamp)
            checked = event.timestamp
        for key in detector.keys(event):  # what Detector.process does, noting the keys
            keep(detector.process_key(event, key, state))
            if timed and key.group == rule.group_by:
                holders.add(key.subject)
        busy += time.perf_counter() - t0
    t0 = time.perf_counter()
    if timed:
        advance(until)
    busy += time.perf_counter() - t0
    return Replay(tuple(newest.values()), seen, in_range, busy)


class NoiseKind(StrEnum):
    ALERT_RATE = "alert-rate"          # more alerts per school week than anyone can triage
    RATE_INCREASE = "rate-increase"    # many times what the rule raises now
    LOW_PRECISION = "low-precision"    # the DSL's outcomes say most would be false alarms


class Level(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"  # twice past the limit (or half the precision floor)


@dataclass(frozen=True)
class NoiseLimits:
    alerts_per_week: float = 25.0
    increase: float = 3.0
    min_precision: float = 0.5
    min_alerts: int = 5  # fewer new alerts than this is never called an increase


@dataclass(frozen=True)
class NoiseWarning:
    kind: NoiseKind
    level: Level
    value: float | None  # None: an increase from nothing
    limit: float
    message: str


@dataclass(frozen=True)
class AlertLine:
    alert_id: str
    subject: str
    severity: int
    first_seen: datetime
    last_seen: datetime
    outcome: str | None = None
    verdict: str | None = None  # 'tp' | 'fp' | None


@dataclass(frozen=True)
class BacktestReport:
    """Everything `safeguard backtest` prints; `to_dict()` is its `--json`."""

    school_id: str
    rule_id: str
    rule_kind: str
    old_settings: Mapping[str, Any]
    new_settings: Mapping[str, Any]
    start: datetime
    end: datetime
    events_total: int
    events_considered: int
    context_events: int  # replayed from before and after the range, for state
    school_weeks: float
    prefilter: str
    would_raise: tuple[AlertLine, ...]
    raised: tuple[AlertLine, ...]
    kept: tuple[str, ...]
    new: tuple[str, ...]
    dropped: tuple[str, ...]
    raised_outcomes: Mapping[str, int]
    precision_current: float | None
    precision: float | None
    true_positives_lost: tuple[str, ...]
    warnings: tuple[NoiseWarning, ...]
    elapsed_seconds: float
    detect_seconds: float
    notes: tuple[str, ...] = field(default=())

    @property
    def rate_current(self) -> float:
        return len(self.raised) / self.school_weeks

    @property
    def rate_new(self) -> float:
        return len(self.would_raise) / self.school_weeks

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value
        out: dict[str, Any] = plain(asdict(self))
        out.update(rate_current=round(self.rate_current, 3), rate_new=round(self.rate_new, 3))
        return out


def _line(a: Alert | StoredAlert, outcomes: Mapping[str, str]) -> AlertLine:
    outcome = outcomes.get(a.alert_id)
    return AlertLine(a.alert_id, a.subject, a.severity, a.first_seen, a.last_seen, outcome,
                     verdict_of(outcome))


def _precision(lines: Iterable[AlertLine]) -> float | None:
    verdicts = [a.verdict for a in lines if a.verdict is not None]
    return verdicts.count("tp") / len(verdicts) if verdicts else None


def noise_warnings(raised: int, would: int, weeks: float, precision: float | None,
                   limits: NoiseLimits) -> tuple[NoiseWarning, ...]:
    """Critical when twice past a limit (half the precision floor), else a warning."""
    out, rate = [], would / weeks
    if rate > limits.alerts_per_week:
        out.append(NoiseWarning(
            NoiseKind.ALERT_RATE, _level(rate >= 2 * limits.alerts_per_week), round(rate, 2),
            limits.alerts_per_week,
            f"{rate:.1f} alerts per school week (limit {limits.alerts_per_week:g})"))
    factor = would / raised if raised else None
    if would >= limits.min_alerts and would > raised and (
            factor is None or factor > limits.increase):
        out.append(NoiseWarning(
            NoiseKind.RATE_INCREASE, _level(not factor or factor >= 2 * limits.increase),
            round(factor, 2) if factor else None, limits.increase,
            (f"{factor:.1f}x the current rate" if factor else f"{would} alerts where the "
             f"current setting raises none") + f" (limit {limits.increase:g}x)"))
    if precision is not None and precision < limits.min_precision:
        out.append(NoiseWarning(
            NoiseKind.LOW_PRECISION, _level(precision < limits.min_precision / 2),
            round(precision, 3), limits.min_precision,
            f"estimated precision {precision:.0%} (floor {limits.min_precision:.0%})"))
    return tuple(out)


def _level(critical: bool) -> Level:
    return Level.CRITICAL if critical else Level.WARNING


def run_backtest(con: duckdb.DuckDBPyConnection, profile: Profile, school_id: str,
                 rule_id: str, assignments: Mapping[str, str], start: datetime,
                 end: datetime, *, limits: NoiseLimits | None = None,
                 warmup: timedelta | None = None) -> BacktestReport:
    """Replay `rule_id` with IT's current settings changed by `assignments` over the
    school's events in [start, end) and compare with what it raised there."""
    began = time.perf_counter()
    limits = limits or NoiseLimits()
    if not start < end:
        raise ConfigError("the range is empty: --from must be before --to", field="--from")
    overrides = events_read.rule_overrides(con, school_id)
    change = validated_change(profile, school_id, rule_id, assignments, changed_by="backtest",
                              changed_at=datetime.now(UTC), current=overrides)
    old = next(r for r in effective_rules(profile, overrides) if r.id == rule_id)
    rule = next(r for r in effective_rules(profile, {**overrides, rule_id: change.settings})
                if r.id == rule_id)
    spec = prefilter_for(rule)
    totals = events_read.range_totals(con, school_id, start, end)
    # An alert is in the range when its latest hit is (last_seen). Replaying on to the end
    # of any window open at `end` gives an alert straddling it the last_seen it has live,
    # so both sides leave it out alike; absence deadlines are judged up to the watermark.
    # Likewise from the start of a window open at `start` (plus the rule's own reach
    # back): an alert's first_seen and evidence come out as they were live.
    window = max(rule.window, old.window)
    stop = end + window
    until = min(stop, totals.watermark) if totals.watermark else start
    lead = spec.warmup + window if warmup is None else warmup
    events = events_read.load_events(con, school_id, start - lead, stop, spec.terms,
                                     spec.memory)
    run = replay(profile, school_id, rule, events, start=start, end=end, until=until)
    would = [a for a in run.alerts if start <= a.last_seen < end]
    stored = events_read.stored_alerts(con, school_id, rule_id, start, end)
    outcomes = events_read.latest_outcomes(
        con, school_id, sorted({a.alert_id for a in would} | {a.alert_id for a in stored}))
    would_lines = tuple(sorted((_line(a, outcomes) for a in would),
                               key=lambda a: (a.first_seen, a.alert_id)))
    raised_lines = tuple(_line(a, outcomes) for a in stored)
    would_ids, raised_ids = {a.alert_id for a in would}, {a.alert_id for a in stored}
    weeks = (totals.school_days / 5 if totals.school_days
             else (end - start) / timedelta(days=7))
    weeks = max(weeks, 0.2)  # at least a school day
    precision = _precision(would_lines)
    verdicts = [a.verdict for a in raised_lines]
    notes = []
    if rule.window != old.window:
        notes.append("the window changed: alert ids depend on it, so kept/new/dropped "
                     "compare different windows")
    return BacktestReport(
        school_id=school_id, rule_id=rule_id, rule_kind=rule.kind,
        old_settings=old.settings(), new_settings=rule.settings(), start=start, end=end,
        events_total=totals.events, events_considered=run.events_in_range,
        context_events=run.events - run.events_in_range, school_weeks=round(weeks, 3),
        prefilter=spec.describe(), would_raise=would_lines, raised=raised_lines,
        kept=tuple(a.alert_id for a in would_lines if a.alert_id in raised_ids),
        new=tuple(a.alert_id for a in would_lines if a.alert_id not in raised_ids),
        dropped=tuple(a.alert_id for a in raised_lines if a.alert_id not in would_ids),
        raised_outcomes={"tp": verdicts.count("tp"), "fp": verdicts.count("fp"),
                         "none": verdicts.count(None)},
        precision_current=_precision(raised_lines), precision=precision,
        true_positives_lost=tuple(a.alert_id for a in raised_lines
                                  if a.verdict == "tp" and a.alert_id not in would_ids),
        warnings=noise_warnings(len(stored), len(would), weeks, precision, limits),
        elapsed_seconds=round(time.perf_counter() - began, 3),
        detect_seconds=round(run.detect_seconds, 3), notes=tuple(notes))


def _pct(value: float | None) -> str:
    return "unknown (no outcomes)" if value is None else f"{value:.0%}"


def format_report(report: BacktestReport, limit: int = 20) -> str:
    """The terminal rendering: summary first, then the alerts that change."""
    r = report
    changed = {k: (r.old_settings.get(k), v) for k, v in r.new_settings.items()
               if r.old_settings.get(k) != v}
    lines = [
        f"Backtest of {r.rule_id} ({r.rule_kind}) for {r.school_id}, "
        f"{r.start.isoformat()} to {r.end.isoformat()}",
        "settings: " + (", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
                        or "unchanged (current settings)"),
        f"events: {r.events_total:,} in range, {r.events_considered:,} replayed after the "
        f"prefilter ({r.events_considered / max(r.events_total, 1):.2%})"
        + (f", {r.context_events:,} around it for context" if r.context_events else ""),
        f"alerts: {len(r.raised)} raised ({r.rate_current:.1f}/school week) -> "
        f"{len(r.would_raise)} would be raised ({r.rate_new:.1f}/school week); "
        f"kept {len(r.kept)}, new {len(r.new)}, dropped {len(r.dropped)}",
        f"DSL outcomes of raised alerts: {r.raised_outcomes['tp']} true positive, "
        f"{r.raised_outcomes['fp']} false positive, {r.raised_outcomes['none']} none",
        f"estimated precision: now {_pct(r.precision_current)}, with the change "
        f"{_pct(r.precision)}; true positives lost: {len(r.true_positives_lost)}",
    ]
    lines += [f"{w.level.value.upper()} {w.kind.value}: {w.message}" for w in r.warnings]
    lines += [f"note: {n}" for n in r.notes]
    new, gone = set(r.new), set(r.dropped)  # + new, = kept, - dropped
    rows = [("+" if a.alert_id in new else "=", a) for a in r.would_raise]
    rows += [("-", a) for a in r.raised if a.alert_id in gone]
    lines += [f"  {mark} {a.alert_id} {a.subject} sev {a.severity} "
              f"{a.first_seen:%Y-%m-%d %H:%M}..{a.last_seen:%Y-%m-%d %H:%M}"
              + (f" [{a.outcome}]" if a.outcome else "") for mark, a in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more (--json lists all)")
    replayed = r.events_considered + r.context_events
    rate = replayed / r.detect_seconds if r.detect_seconds else 0.0
    lines.append(f"took {r.elapsed_seconds:.2f} s (detector {r.detect_seconds:.2f} s, "
                 f"{rate:,.0f} events/s); prefilter: {r.prefilter}")
    return "\n".join(lines)
