"""Scoring detection against labelled scenarios (the simulator's `ground_truth.jsonl`).

An alert matches a scenario when it names the scenario's subject, cites at least one of
its clauses, and its evidence overlaps the scenario's time span (widened by `slack`).
Recall is per scenario (was it alerted at all); precision is per alert (did it match a
scenario). Background traffic has no scenarios, so any alert it raises lowers precision.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from safeguard.events import parse_timestamp


@dataclass(frozen=True, slots=True)
class Scenario:
    scenario: str
    clause_ids: frozenset[str]
    subject: str
    start: datetime
    end: datetime

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        return cls(str(data["scenario"]), frozenset(data["clause_ids"]), str(data["subject"]),
                   parse_timestamp(data["start"]), parse_timestamp(data["end"]))


@dataclass
class Score:
    """Counts behind one line of the report."""

    alerts: int = 0
    true_alerts: int = 0
    scenarios: int = 0
    detected: int = 0

    @property
    def precision(self) -> float | None:
        return self.true_alerts / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.scenarios if self.scenarios else None


@dataclass
class Report:
    overall: Score = field(default_factory=Score)
    by_rule: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    by_scenario: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    missed: list[Scenario] = field(default_factory=list)
    false_alerts: list[Mapping[str, Any]] = field(default_factory=list)
    uncited: int = 0


def _matches(alert: Mapping[str, Any], s: Scenario, slack: timedelta) -> bool:
    if alert["subject"] != s.subject or s.clause_ids.isdisjoint(alert["clause_ids"]):
        return False
    first = parse_timestamp(alert["first_seen"]) - slack
    last = parse_timestamp(alert["last_seen"]) + slack
    return first <= s.end and s.start <= last


def evaluate(alerts: Iterable[Mapping[str, Any]], truth: Iterable[Mapping[str, Any]],
             slack: timedelta = timedelta(hours=1)) -> Report:
    scenarios = [Scenario.from_dict(t) for t in truth]
    alerts = list(alerts)
    report = Report()
    detected: set[int] = set()
    for alert in alerts:
        hits = [i for i, s in enumerate(scenarios) if _matches(alert, s, slack)]
        detected.update(hits)
        rule = report.by_rule[str(alert["rule_id"])]
        rule.alerts += 1
        report.overall.alerts += 1
        if not alert["clause_ids"]:
            report.uncited += 1
        if hits:
            rule.true_alerts += 1
            report.overall.true_alerts += 1
        else:
            report.false_alerts.append(alert)
    for i, sc in enumerate(scenarios):
        line = report.by_scenario[sc.scenario]
        line.scenarios += 1
        report.overall.scenarios += 1
        if i in detected:
            line.detected += 1
            report.overall.detected += 1
        else:
            report.missed.append(sc)
    return report


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def format_report(report: Report) -> str:
    lines = [f"{'scenario':<40} {'injected':>8} {'alerted':>8} {'recall':>7}"]
    for name, sc in sorted(report.by_scenario.items()):
        lines.append(f"{name:<40} {sc.scenarios:>8} {sc.detected:>8} {_pct(sc.recall):>7}")
    lines += ["", f"{'rule':<40} {'alerts':>8} {'true':>8} {'precision':>9}"]
    for name, s in sorted(report.by_rule.items()):
        lines.append(f"{name:<40} {s.alerts:>8} {s.true_alerts:>8} {_pct(s.precision):>9}")
    o = report.overall
    lines += ["", f"overall: recall {_pct(o.recall).strip()} ({o.detected}/{o.scenarios} "
              f"scenarios), precision {_pct(o.precision).strip()} ({o.true_alerts}/{o.alerts} "
              f"alerts), alerts without a clause: {report.uncited}"]
    for m in report.missed:
        lines.append(f"missed: {m.scenario} {m.subject} {sorted(m.clause_ids)} "
                     f"{m.start.isoformat()}")
    for a in report.false_alerts[:20]:
        lines.append(f"unmatched alert: {a['rule_id']} {a['subject']} {a['first_seen']}")
    return "\n".join(lines)
