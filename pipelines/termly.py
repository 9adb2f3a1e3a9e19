"""Termly figures for governors: one `TermReport` per term, and trends across terms.

Definitions (all per term, a term being local midnight of its first day to local midnight
after its last, in the school's zone; an alert belongs to the term its `first_seen` is in):

* alerts by category, severity and year group: the year group is the alert subject's in
  the directory snapshot in force at the term's end (the latest taken before it), else as
  enrichment wrote it on the term's events; staff subjects count as 'staff', subjects
  that are accounts, devices or addresses as 'unresolved'.
* time to acknowledge: from `alerts.raised_at` (when the warehouse first stored the alert)
  to the first triage step (acknowledge, assign, escalate, outcome, note or close);
  time to close: to the first 'close' or 'outcome'. Median and 90th percentile (linear
  interpolation) in minutes, per severity and overall, over the alerts that have the step.
* out of hours: an alert whose `first_seen` is not in school hours (see
  `pipelines.term_calendar` for before-school, evening, night, weekend, holiday), counted
  by kind, with how fast those alerts were seen.
* filter block rate per category: blocked web events / all web events (blocked: action
  'blocked', which every filter parser writes for its format's block or deny verdict,
  with outcome 'failure'; an 'error' also fails but is no block).
* filter gaps: hour slots of school days (weekdays in term, not half term) with no web
  event at all: the filter or its logging was down. Merged into ranges, with the total.
* coverage: the share of pupils on roll in the term seen in filter or sign-in events
  (web, authentication, session) by year group, and of school-owned devices on the asset
  register seen in them (by the asset tag enrichment resolved from the host name).

Privacy: the report holds aggregates only, so no person id, name, account or device
leaves this module. Counts of 1-4 are 'suppressed', never the number. So a hidden cell
cannot be had by subtraction, a breakdown with exactly one hidden cell hides its next
smallest cell too, and a part-of-whole figure (seen of on roll, blocked of all) also
hides the part when the remainder is 1-4. Times and shares over fewer than 5 are hidden.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.term_calendar import (
    KINDS,
    OUT_OF_HOURS_KINDS,
    TermPeriod,
    bucket_seconds,
    calendar_days,
    local_iso,
    school_days,
    school_slots,
    term_period,
)
from safeguard.alerts import ALERT_CATEGORIES
from safeguard.directory import Directory, School, Term
from warehouse import termly as q

SUPPRESSED = "suppressed"
MIN_COUNT = 5
Count = int | str
Value = float | str | None


def suppress(n: int, min_count: int = MIN_COUNT) -> Count:
    """A count of 1 to min_count-1 is reported as suppressed; 0 and larger ones as they are."""
    return SUPPRESSED if 0 < n < min_count else n


def protect(counts: Mapping[str, int], min_count: int = MIN_COUNT,
            hidden: Iterable[str] = ()) -> dict[str, Count]:
    """A breakdown with small cells suppressed, and with `hidden` ones forced; when exactly
    cell is hidden, the next smallest non-zero cells are hidden too until the hidden cells
    add up to at least `min_count`, so no hidden count follows by subtraction from the
    total (one hidden cell, or two hidden 1s beside a shown total of 20)."""
    force = set(hidden)
    out: dict[str, Count] = {k: SUPPRESSED if k in force else suppress(v, min_count)
                             for k, v in counts.items()}
    gone = {k for k, v in out.items() if v == SUPPRESSED}
    rest = sorted((v, k) for k, v in counts.items() if k not in gone and v > 0)
    while gone and rest and (len(gone) == 1 or sum(counts[k] for k in gone) < min_count):
        _, key = rest.pop(0)
        out[key] = SUPPRESSED
        gone.add(key)
    return out


@dataclass(frozen=True)
class Share:
    """`part` of `total` (seen of on roll, blocked of all events) and their ratio."""

    total: Count
    part: Count
    share: Value

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "part": self.part, "share": self.share}


def share_of(part: int, total: int, min_count: int = MIN_COUNT) -> Share:
    """Hide the part (and the ratio) when it or the remainder is 1 to min_count-1."""
    if 0 < total < min_count:
        return Share(SUPPRESSED, SUPPRESSED, SUPPRESSED)
    if 0 < part < min_count or 0 < total - part < min_count:
        return Share(total, SUPPRESSED, SUPPRESSED)
    return Share(total, part, round(part / total, 4) if total else None)


@dataclass(frozen=True)
class Timing:
    """How fast a group of alerts was seen and closed (minutes)."""

    alerts: Count
    seen: Count
    seen_median_min: Value
    seen_p90_min: Value
    closed: Count
    closed_median_min: Value
    closed_p90_min: Value

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Gap:
    """School-day time with no filter event, in the school's local time."""

    start: str
    end: str
    hours: float

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "hours": self.hours}


@dataclass(frozen=True)
class TermReport:
    """Every figure of one term (see the module docstring for definitions)."""

    school_id: str
    term: str
    start: date
    end: date
    half_term: tuple[date, date] | None
    school_days: int
    year_groups_from: str                          # 'snapshot' or 'events'
    alerts_total: Count
    alerts_by_category: Mapping[str, Count]
    alerts_by_severity: Mapping[str, Count]
    alerts_by_year_group: Mapping[str, Count]
    response_times: Mapping[str, Timing]           # 'all', '1' .. '5'
    alerts_by_time: Mapping[str, Count]            # kinds of time, school-hours included
    out_of_hours_total: Count
    out_of_hours_response: Mapping[str, Timing]    # each out-of-hours kind, 'out-of-hours'
    block_rates: Mapping[str, Share]               # per filter category: blocked of all
    filter_gaps: tuple[Gap, ...]
    filter_gap_hours: float
    school_day_hours: float
    pupil_coverage: Mapping[str, Share]            # 'all' and each year group: seen of roll
    device_coverage: Share | None                  # seen of school-owned devices
    min_count: int = MIN_COUNT

    def to_dict(self) -> dict[str, Any]:
        def rows(m: Mapping[str, Any]) -> dict[str, Any]:
            return {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in m.items()}
        return {
            "school_id": self.school_id, "term": self.term, "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "half_term": [d.isoformat() for d in self.half_term] if self.half_term else None,
            "school_days": self.school_days, "year_groups_from": self.year_groups_from,
            "min_count": self.min_count, "alerts_total": self.alerts_total,
            "alerts_by_category": dict(self.alerts_by_category),
            "alerts_by_severity": dict(self.alerts_by_severity),
            "alerts_by_year_group": dict(self.alerts_by_year_group),
            "response_times": rows(self.response_times),
            "alerts_by_time": dict(self.alerts_by_time),
            "out_of_hours_total": self.out_of_hours_total,
            "out_of_hours_response": rows(self.out_of_hours_response),
            "block_rates": rows(self.block_rates),
            "filter_gaps": [g.to_dict() for g in self.filter_gaps],
            "filter_gap_hours": self.filter_gap_hours,
            "school_day_hours": self.school_day_hours,
            "pupil_coverage": rows(self.pupil_coverage),
            "device_coverage": self.device_coverage.to_dict() if self.device_coverage
            else None,
        }


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _minutes(seconds: Any, n: int, min_count: int) -> Value:
    value = _num(seconds)
    if value is None or n == 0:
        return None
    return SUPPRESSED if n < min_count else round(value / 60, 1)


def _timings(df: pd.DataFrame, key: str, groups: Sequence[str], whole: str,
             alerts: Mapping[str, Count], min_count: int) -> dict[str, Timing]:
    """Timings per group and for `whole` (the groups together). Seen and closed counts are
    protected like a breakdown, since the groups' counts add up to the whole's."""
    rows = {str(getattr(r, key)): r for r in df.itertuples(index=False)}
    rows = {g: r for g, r in rows.items() if g in groups or g == whole}
    n = {g: int(r.alerts) for g, r in rows.items()}

    def column(name: str) -> dict[str, Count]:
        raw = {g: int(getattr(r, name)) for g, r in rows.items()}
        parts = {g: share_of(raw[g], n[g], min_count).part for g in raw}
        out = protect({g: v for g, v in raw.items() if g != whole}, min_count,
                      hidden=[g for g, v in parts.items() if v == SUPPRESSED and g != whole])
        if whole in raw:
            out[whole] = parts[whole]
        return out

    seen, closed = column("acknowledged"), column("closed")
    return {g: Timing(
        alerts=alerts.get(g, suppress(n[g], min_count)), seen=seen[g],
        seen_median_min=_minutes(r.ack_median_s, int(r.acknowledged), min_count),
        seen_p90_min=_minutes(r.ack_p90_s, int(r.acknowledged), min_count),
        closed=closed[g],
        closed_median_min=_minutes(r.close_median_s, int(r.closed), min_count),
        closed_p90_min=_minutes(r.close_p90_s, int(r.closed), min_count))
        for g, r in sorted(rows.items())}


def _pupil_roll(con: duckdb.DuckDBPyConnection, snapshot: str | None,
                directory: Directory | None, period: TermPeriod) -> pa.Table | None:
    if snapshot:
        return q.pupils_on_roll(con, snapshot, period.start, period.end)
    if directory is None:
        return None
    pupils = [p for p in directory.people if p.role == "pupil"
              and (p.start_date is None or p.start_date <= period.end)
              and (p.leave_date is None or p.leave_date >= period.start)]
    return pa.table({"person_id": pa.array([p.person_id for p in pupils], pa.string()),
                     "year_group": pa.array([p.year_group for p in pupils], pa.string())})


def _coverage(df: pd.DataFrame, min_count: int) -> dict[str, Share]:
    on_roll = {str(r.year_group): int(r.on_roll) for r in df.itertuples(index=False)}
    seen = {str(r.year_group): int(r.seen) for r in df.itertuples(index=False)}
    groups = [g for g in on_roll if g != "all"]
    roll_c = protect({g: on_roll[g] for g in groups}, min_count)
    raw = {g: share_of(seen[g], on_roll[g], min_count) for g in groups}
    seen_c = protect({g: seen[g] for g in groups}, min_count,
                     hidden=[g for g, s in raw.items() if s.part == SUPPRESSED])
    out = {g: Share(roll_c[g], seen_c[g], raw[g].share
                    if SUPPRESSED not in (roll_c[g], seen_c[g]) else SUPPRESSED)
           for g in groups}
    if "all" in on_roll:
        out["all"] = share_of(seen["all"], on_roll["all"], min_count)
    return dict(sorted(out.items()))


def term_report(con: duckdb.DuckDBPyConnection, school: School, term: Term | str, *,
                directory: Directory | None = None, min_count: int = MIN_COUNT,
                slot_minutes: int = 60) -> TermReport:
    """Compute one term's figures from the warehouse on `con`.

    `directory` supplies the asset register for device coverage, and the pupil roll when
    the warehouse has no directory snapshot from before the term's end."""
    period = term_period(school, term)
    lo, hi, sid = period.start_utc, period.end_utc, school.id
    snapshot = q.snapshot_before(con, sid, hi)

    dims: dict[str, dict[str, int]] = {"category": {c: 0 for c in sorted(ALERT_CATEGORIES)},
                                       "severity": {str(s): 0 for s in range(1, 6)},
                                       "year_group": {}, "total": {"all": 0}}
    for r in q.alert_breakdowns(con, sid, lo, hi, snapshot).itertuples(index=False):
        dims[str(r.dimension)][str(r.key)] = int(r.n)
    total = suppress(dims["total"]["all"], min_count)
    by_severity = protect(dims["severity"], min_count)

    times = q.response_times(con, sid, lo, hi)
    response = _timings(times, "grp", list(dims["severity"]), "all",
                        {**by_severity, "all": total}, min_count)

    ooh = q.out_of_hours(con, sid, lo, hi, calendar_days(school, period.start, period.end))
    kind_counts = {k: 0 for k in KINDS}
    kind_counts.update({str(r.kind): int(r.alerts) for r in ooh.itertuples(index=False)
                        if r.kind in kind_counts})
    ooh_total = int(ooh.loc[ooh["kind"] == "out-of-hours", "alerts"].sum())
    by_time = protect(kind_counts, min_count)
    # total - out of hours = school hours: hide it when that difference is small
    ooh_count = share_of(ooh_total, dims["total"]["all"], min_count).part
    ooh_response = _timings(ooh, "kind", OUT_OF_HOURS_KINDS, "out-of-hours",
                            {**by_time, "out-of-hours": ooh_count}, min_count)

    blocks = {str(r.category): share_of(int(r.blocked), int(r.events), min_count)
              for r in q.block_rates(con, sid, lo, hi).itertuples(index=False)}

    slots = school_slots(school, period, slot_minutes)
    gaps_df = q.filter_gaps(con, sid, lo, hi, slots, bucket_seconds(slots, lo))
    gaps = tuple(Gap(local_iso(school, r.gap_start.to_pydatetime()),
                     local_iso(school, r.gap_end.to_pydatetime()), round(float(r.hours), 2))
                 for r in gaps_df.itertuples(index=False))
    day_hours = sum((e - s).total_seconds() for s, e in zip(
        slots["slot_start"].to_pylist(), slots["slot_end"].to_pylist(), strict=True)) / 3600

    roll = _pupil_roll(con, snapshot, directory, period)
    pupils = (_coverage(q.pupil_coverage(con, sid, lo, hi, roll), min_count)
              if roll is not None else {})
    devices = None
    if directory is not None:
        register = pa.table({"asset_tag": pa.array(
            [a.asset_tag for a in directory.assets if a.ownership == "school"], pa.string())})
        on_register, seen = q.device_coverage(con, sid, lo, hi, register)
        devices = share_of(seen, on_register, min_count)

    ro = MappingProxyType
    return TermReport(
        school_id=sid, term=period.name, start=period.start, end=period.end,
        half_term=period.half_term, school_days=len(school_days(school, period)),
        year_groups_from="snapshot" if snapshot else "events", alerts_total=total,
        alerts_by_category=ro(protect(dims["category"], min_count)),
        alerts_by_severity=ro(by_severity),
        alerts_by_year_group=ro(protect(dict(sorted(dims["year_group"].items())), min_count)),
        response_times=ro(response), alerts_by_time=ro(by_time),
        out_of_hours_total=ooh_count, out_of_hours_response=ro(ooh_response),
        block_rates=ro(blocks), filter_gaps=gaps,
        filter_gap_hours=round(float(gaps_df["hours"].sum()), 2) if len(gaps_df) else 0.0,
        school_day_hours=round(day_hours, 2), pupil_coverage=ro(pupils),
        device_coverage=devices, min_count=min_count)


def term_reports(con: duckdb.DuckDBPyConnection, school: School,
                 terms: Sequence[str] | None = None, **kwargs: Any) -> list[TermReport]:
    """Reports for the named terms (all of the school's by default), in calendar order."""
    chosen = [t for t in school.terms if terms is None or t.name in terms]
    return [term_report(con, school, t, **kwargs) for t in sorted(chosen, key=lambda t: t.start)]


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif not isinstance(value, list):
        out[prefix] = value


_TREND_SKIP = frozenset({"school_id", "term", "start", "end", "half_term", "min_count",
                         "year_groups_from"})


def compare_terms(reports: Sequence[TermReport]) -> dict[str, Any]:
    """The same figures side by side: `{"terms": [...], "series": {figure: [per term]}}`,
    figure names being dotted paths into `to_dict()` ("alerts_by_category.bullying",
    "response_times.5.seen_median_min"); a figure a term lacks is 0 for counts of alerts
    and None otherwise. Suppressed values stay suppressed."""
    flat = []
    for r in reports:
        one: dict[str, Any] = {}
        _flatten("", {k: v for k, v in r.to_dict().items() if k not in _TREND_SKIP}, one)
        flat.append(one)
    names = sorted({k for f in flat for k in f})
    counts = ("alerts_by_", "alerts_total", "out_of_hours_total")
    series = {n: [f.get(n, 0 if n.startswith(counts) else None) for f in flat] for n in names}
    return {"school_id": reports[0].school_id if reports else None,
            "terms": [r.term for r in reports],
            "starts": [r.start.isoformat() for r in reports], "series": series}
