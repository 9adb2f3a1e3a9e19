"""Backtest: what a changed rule would have raised over stored events, with the same code.

The warehouse holds every enriched event, so a rule can be replayed as it ran live:
`effective_rules` with the proposed settings, the real `Detector` (only that rule),
events in time order, absence deadlines judged by `Detector.advance` as event time passes
them and finally at the watermark. A term is tens of millions of rows and Python replays
some 30k events/s, so SQL first selects the rule's candidates (a conservative prefilter
from its conditions) and prunes those that cannot change the result (a density or
first-and-last prune per subject key), reading only the columns the detector looks at;
see `pipelines.backtest_plan` and `warehouse.events_prune`. It reads the readers' copy
(`open_reader`), so it runs while ingest holds the writer's lock.

An alert is in the range when its latest hit (last_seen) is. Events are replayed from a
window (plus the rule's reach: `within`, lookback, decay) before the range to a window
after it, so alerts straddling either edge come out as they were live. Limits: state
older than that (a checkout due weeks later, a device seen long before) is not rebuilt.
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipelines.backtest_plan import Predicate, Prefilter, predicates, prefilter_for, warmup_of
from pipelines.backtest_report import (
    FALSE_POSITIVE_OUTCOMES,
    TRUE_POSITIVE_OUTCOMES,
    AlertLine,
    BacktestReport,
    Level,
    NoiseKind,
    NoiseLimits,
    NoiseWarning,
    format_report,
    line_of,
    noise_warnings,
    precision_of,
    verdict_of,
)
from safeguard.alerts import Alert
from safeguard.detection import Detector
from safeguard.errors import ConfigError
from safeguard.events import Event
from safeguard.policy import Profile
from safeguard.rule_settings import effective_rules, validated_change
from safeguard.rules import Rule
from warehouse import events_read
from warehouse.archive import MANIFEST, archive_dir
from warehouse.errors import WarehouseError
from warehouse.reader import WarehouseReader

__all__ = ["FALSE_POSITIVE_OUTCOMES", "TRUE_POSITIVE_OUTCOMES", "AlertLine", "BacktestReport",
           "Level", "NoiseKind", "NoiseLimits", "NoiseWarning", "Predicate", "Prefilter",
           "Replay", "format_report", "noise_warnings", "open_reader", "predicates",
           "prefilter_for", "replay", "run_backtest", "verdict_of", "warmup_of"]


def open_reader(db_path: Path, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A reader connection for backtests: the published snapshot and the per-day event
    archive, never the writer's file (so it works while ingest holds its lock). The
    archive's day files never change, so its scans may use every core."""
    reader = WarehouseReader(Path(db_path))
    if reader.manifest() is None or not (archive_dir(reader.db_path) / MANIFEST).exists():
        raise WarehouseError("no published snapshot and event archive to backtest over; "
                             "the ingest or sink that owns the file publishes them (run "
                             "an ingest first)", path=str(db_path))
    con = reader.connect()
    con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
    return con


@dataclass(frozen=True)
class Replay:
    alerts: tuple[Alert, ...]
    events: int
    events_in_range: int
    detect_seconds: float


class _Deadlines:
    """Subjects by their earliest pending absence deadline (the rule's JSON state), so
    `Detector.advance`, which changes nothing for a subject with none passed, is asked
    about only those whose deadline event time has passed; a state it cannot read is
    treated as due at once."""

    def __init__(self, rule_id: str) -> None:
        self.rule_id = rule_id
        self.heap: list[tuple[float, str]] = []
        self.next: dict[str, float] = {}

    def note(self, subject: str, state: Mapping[str, Any]) -> None:
        own = ((state.get(subject) or {}).get("rules") or {}).get(self.rule_id)
        try:
            pending = own.get("pending") if own else []
            earliest = min((float(p["deadline"]) for p in pending or ()), default=None)
        except (AttributeError, KeyError, TypeError, ValueError):
            earliest = float("-inf")
        if earliest is None:
            self.next.pop(subject, None)
        elif self.next.get(subject) != earliest:
            self.next[subject] = earliest
            heapq.heappush(self.heap, (earliest, subject))

    def first_before(self, t: float) -> tuple[float, str] | None:
        """The earliest (deadline, subject) with a deadline before `t`, taken off."""
        while self.heap and self.heap[0][0] < t:
            deadline, subject = heapq.heappop(self.heap)
            if self.next.get(subject) == deadline:
                del self.next[subject]
                return deadline, subject
        return None


_PREFIXES = {"ip": "ip:", "device": "device:", "location": "location:"}  # `keys_of`


def replay(profile: Profile, school_id: str, rule: Rule, events: Iterable[Event],
           *, start: datetime, end: datetime,
           until: datetime | Callable[[], datetime]) -> Replay:
    """Run the live detector with only `rule` over `events` (time order), judging absence
    deadlines before the first event after them and finally at `until`; the newest
    version per alert id (the first emitted, if two subjects' states give one id the
    same version: a rule kept per device names the person behind it)."""
    detector = Detector(profile, school_id)
    detector.set_rules((rule,))
    state: dict[str, Any] = {}
    newest: dict[str, Alert] = {}
    deadlines = _Deadlines(rule.id) if rule.kind == "absence" and rule.enabled else None
    seen = in_range = 0
    busy = 0.0

    def keep(alerts: list[Alert]) -> None:
        for a in alerts:
            if a.alert_id not in newest or a.version > newest[a.alert_id].version:
                newest[a.alert_id] = a

    def advance(now: datetime) -> None:
        """Judge every deadline before `now`, one subject at a time in deadline order
        (the same order whichever events the prune left), each just after its deadline."""
        if deadlines is None:
            return
        judged: set[str] = set()  # at `now` already (a state `_Deadlines` cannot read)
        while due := deadlines.first_before(now.timestamp()):
            deadline, subject = due
            if subject in judged:
                continue
            at = now if deadline == float("-inf") else min(
                now, datetime.fromtimestamp(deadline, UTC) + timedelta(microseconds=1))
            keep(detector.advance(at, state, [subject]))
            deadlines.note(subject, state)
            if deadlines.next.get(subject, float("inf")) <= deadline:  # still due
                if at != now:
                    keep(detector.advance(now, state, [subject]))
                    deadlines.note(subject, state)
                judged.add(subject)

    # Every event has a person key; for a rule kept per IP, device or room its state is
    # another subject's and cannot change this rule's, unless the two spell alike (an
    # unresolved subject is keyed `device:<host>` or `ip:<address>` too)
    shared = _PREFIXES.get(rule.group_by)
    for event in events:
        t0 = time.perf_counter()
        seen += 1
        in_range += start <= event.timestamp < end
        advance(event.timestamp)
        for key in detector.keys(event):  # what Detector.process does, noting the keys
            if (shared is not None and key.group != rule.group_by
                    and not key.subject.startswith(shared)):
                continue
            keep(detector.process_key(event, key, state))
            if deadlines is not None and key.group == rule.group_by:
                deadlines.note(key.subject, state)
        busy += time.perf_counter() - t0
    t0 = time.perf_counter()
    advance(until() if callable(until) else until)
    busy += time.perf_counter() - t0
    return Replay(tuple(newest.values()), seen, in_range, busy)


def run_backtest(con: duckdb.DuckDBPyConnection, profile: Profile, school_id: str,
                 rule_id: str, assignments: Mapping[str, str], start: datetime,
                 end: datetime, *, limits: NoiseLimits | None = None,
                 warmup: timedelta | None = None, prune: bool = True) -> BacktestReport:
    """Replay `rule_id` with IT's current settings changed by `assignments` over the
    school's events in [start, end) and compare with what it raised there. `prune`
    False replays every candidate the prefilter selects (the same result, slower)."""
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
    if not prune:
        spec = replace(spec, prune=None)
    # the range's totals scan every event of the school: on another cursor, beside the
    # candidates' read and the replay (which needs the watermark only at its end)
    pool = ThreadPoolExecutor(max_workers=1)
    counting = pool.submit(events_read.range_totals, con.cursor(), school_id, start, end)
    pool.shutdown(wait=False)
    # An alert is in the range when its latest hit is (last_seen). Replaying on to the end
    # of any window open at `end` gives an alert straddling it the last_seen it has live,
    # so both sides leave it out alike; absence deadlines are judged up to the watermark.
    # Likewise from the start of a window open at `start` (plus the rule's own reach
    # back): an alert's first_seen and evidence come out as they were live.
    window = max(rule.window, old.window)
    stop = end + window

    def until() -> datetime:
        watermark = counting.result().watermark
        return min(stop, watermark) if watermark else start

    lead = spec.warmup + window if warmup is None else warmup
    loaded = events_read.read_candidates(con, school_id, start - lead, stop, spec.terms,
                                         spec.memory, columns=spec.columns,
                                         prune=spec.prune, counted=(start, end))
    run = replay(profile, school_id, rule, loaded.events, start=start, end=end, until=until)
    totals = counting.result()
    selected = run.events if loaded.selected is None else loaded.selected
    selected_in = (run.events_in_range if loaded.selected_in_range is None
                   else loaded.selected_in_range)
    would = [a for a in run.alerts if start <= a.last_seen < end]
    stored = events_read.stored_alerts(con, school_id, rule_id, start, end)
    outcomes = events_read.latest_outcomes(
        con, school_id, sorted({a.alert_id for a in would} | {a.alert_id for a in stored}))
    would_lines = tuple(sorted((line_of(a, outcomes) for a in would),
                               key=lambda a: (a.first_seen, a.alert_id)))
    raised_lines = tuple(line_of(a, outcomes) for a in stored)
    would_ids, raised_ids = {a.alert_id for a in would}, {a.alert_id for a in stored}
    weeks = (totals.school_days / 5 if totals.school_days
             else (end - start) / timedelta(days=7))
    weeks = max(weeks, 0.2)  # at least a school day
    precision = precision_of(would_lines)
    verdicts = [a.verdict for a in raised_lines]
    notes = []
    if rule.window != old.window:
        notes.append("the window changed: alert ids depend on it, so kept/new/dropped "
                     "compare different windows")
    return BacktestReport(
        school_id=school_id, rule_id=rule_id, rule_kind=rule.kind,
        old_settings=old.settings(), new_settings=rule.settings(), start=start, end=end,
        events_total=totals.events, events_considered=selected_in,
        context_events=selected - selected_in, school_weeks=round(weeks, 3),
        prefilter=spec.describe(), would_raise=would_lines, raised=raised_lines,
        kept=tuple(a.alert_id for a in would_lines if a.alert_id in raised_ids),
        new=tuple(a.alert_id for a in would_lines if a.alert_id not in raised_ids),
        dropped=tuple(a.alert_id for a in raised_lines if a.alert_id not in would_ids),
        raised_outcomes={"tp": verdicts.count("tp"), "fp": verdicts.count("fp"),
                         "none": verdicts.count(None)},
        precision_current=precision_of(raised_lines), precision=precision,
        true_positives_lost=tuple(a.alert_id for a in raised_lines
                                  if a.verdict == "tp" and a.alert_id not in would_ids),
        warnings=noise_warnings(len(stored), len(would), weeks, precision, limits),
        elapsed_seconds=round(time.perf_counter() - began, 3),
        detect_seconds=round(run.detect_seconds, 3), notes=tuple(notes),
        events_replayed=run.events)
