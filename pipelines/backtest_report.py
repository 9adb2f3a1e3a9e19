"""A backtest's report: what the changed rule would raise beside what was raised, the
DSL's outcomes read as an estimated precision, noise warnings, and its terminal text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from safeguard.alerts import Alert
from warehouse.events_read import StoredAlert

# The DSL's outcomes (alert_actions.action = 'outcome'), read as the rule being right or not.
TRUE_POSITIVE_OUTCOMES = frozenset({"pastoral", "early-help", "social-care-referral",
                                    "prevent-referral", "police"})
FALSE_POSITIVE_OUTCOMES = frozenset({"no-concern"})


def verdict_of(outcome: str | None) -> str | None:
    """'tp', 'fp', or None (no outcome, or one that says nothing about the rule)."""
    if outcome in TRUE_POSITIVE_OUTCOMES:
        return "tp"
    if outcome in FALSE_POSITIVE_OUTCOMES:
        return "fp"
    return None


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
    events_considered: int  # selected by the prefilter in the range
    context_events: int  # selected before and after the range, for state
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
    events_replayed: int = 0  # what reached the detector after the prune (with context)

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


def line_of(a: Alert | StoredAlert, outcomes: Mapping[str, str]) -> AlertLine:
    outcome = outcomes.get(a.alert_id)
    return AlertLine(a.alert_id, a.subject, a.severity, a.first_seen, a.last_seen, outcome,
                     verdict_of(outcome))


def precision_of(lines: Iterable[AlertLine]) -> float | None:
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
        f"events: {r.events_total:,} in range, {r.events_considered:,} selected by the "
        f"prefilter ({r.events_considered / max(r.events_total, 1):.2%})"
        + (f", {r.context_events:,} around it for context" if r.context_events else "")
        + f"; {r.events_replayed:,} replayed after the prune",
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
    rate = r.events_replayed / r.detect_seconds if r.detect_seconds else 0.0
    lines.append(f"took {r.elapsed_seconds:.2f} s (detector {r.detect_seconds:.2f} s, "
                 f"{rate:,.0f} events/s); prefilter: {r.prefilter}")
    return "\n".join(lines)
