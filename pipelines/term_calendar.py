"""A school's calendar as UTC ranges: terms, school days, hour slots, kinds of time.

Everything is decided on local dates and wall-clock times in the school's zone and only
then converted to UTC, so a day across a clock change is 23 or 25 hours long and
"16:00" is 16:00 on both sides of it. The warehouse stores naive UTC; so do these tables.

Kinds of time (one per instant, by its local date, first match wins):
  holiday        a date outside every term, or inside a half term (weekends included)
  weekend        Saturday or Sunday in term
  school-hours   a school day from `school_day.start` until `school_day.end`
  evening        from the end of the school day until 22:00
  before-school  from 06:00 until the school day starts
  night          22:00 until 06:00 (by the date the instant falls on)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pyarrow as pa

from safeguard.directory import School, Term
from safeguard.errors import ConfigError

EVENING_ENDS = time(22, 0)
NIGHT_ENDS = time(6, 0)
KINDS = ("school-hours", "before-school", "evening", "night", "weekend", "holiday")
OUT_OF_HOURS_KINDS = KINDS[1:]
_TS = pa.timestamp("us")


@dataclass(frozen=True)
class TermPeriod:
    """A term's local dates and its `[start_utc, end_utc)` range (naive UTC)."""

    name: str
    start: date
    end: date
    half_term: tuple[date, date] | None
    start_utc: datetime
    end_utc: datetime


def utc_of(school: School, day: date, at: time = time(0)) -> datetime:
    """The naive-UTC instant of a local wall-clock time (the earlier one if it repeats)."""
    return datetime.combine(day, at, tzinfo=school.tz).astimezone(UTC).replace(tzinfo=None)


def find_term(school: School, name: str) -> Term:
    for term in school.terms:
        if term.name == name:
            return term
    known = ", ".join(t.name for t in school.terms) or "none"
    raise ConfigError(f"no term named {name!r} (terms: {known})", source="school.yaml",
                      field="terms")


def term_period(school: School, term: Term | str) -> TermPeriod:
    """From local midnight of the first day to local midnight after the last."""
    t = find_term(school, term) if isinstance(term, str) else term
    return TermPeriod(t.name, t.start, t.end, t.half_term, utc_of(school, t.start),
                      utc_of(school, t.end + timedelta(days=1)))


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def day_kind(school: School, day: date) -> str:
    """'holiday', 'weekend' or 'school-day' for a local date."""
    if not any(t.contains(day) for t in school.terms):
        return "holiday"
    return "weekend" if day.weekday() >= 5 else "school-day"


def classify_instant(school: School, ts: datetime) -> str:
    """The kind of time (see the module docstring) of an aware instant."""
    local = school.local(ts)
    kind = day_kind(school, local.date())
    if kind != "school-day":
        return kind
    now = local.time()
    if school.day_start <= now < school.day_end:
        return "school-hours"
    if school.day_end <= now < max(EVENING_ENDS, school.day_end):
        return "evening"
    if min(NIGHT_ENDS, school.day_start) <= now < school.day_start:
        return "before-school"
    return "night"


def calendar_days(school: School, first: date, last: date) -> pa.Table:
    """One row per local date: its kind and its boundaries in UTC, the same rules as
    `classify_instant` for SQL (`warehouse.termly.out_of_hours`)."""
    rows: dict[str, list[object]] = {k: [] for k in (
        "day", "kind", "lo", "hi", "early", "opens", "closes", "late")}
    for day in _days(first, last):
        rows["day"].append(day)
        rows["kind"].append(day_kind(school, day))
        rows["lo"].append(utc_of(school, day))
        rows["hi"].append(utc_of(school, day + timedelta(days=1)))
        rows["early"].append(utc_of(school, day, min(NIGHT_ENDS, school.day_start)))
        rows["opens"].append(utc_of(school, day, school.day_start))
        rows["closes"].append(utc_of(school, day, school.day_end))
        rows["late"].append(utc_of(school, day, max(EVENING_ENDS, school.day_end)))
    types = {"day": pa.date32(), "kind": pa.string()}
    return pa.table({k: pa.array(v, type=types.get(k, _TS)) for k, v in rows.items()})


def school_days(school: School, period: TermPeriod) -> list[date]:
    """Weekdays of the term outside its half term."""
    return [d for d in _days(period.start, period.end)
            if day_kind(school, d) == "school-day"]


def school_slots(school: School, period: TermPeriod, minutes: int = 60) -> pa.Table:
    """The school day cut into `minutes`-long slots (the last one may be shorter), for
    every school day of the term: (slot_start, slot_end) in naive UTC."""
    if minutes < 1:
        raise ValueError("slot length must be at least one minute")
    starts: list[datetime] = []
    ends: list[datetime] = []
    step = timedelta(minutes=minutes)
    for day in school_days(school, period):
        at = datetime.combine(day, school.day_start)
        close = datetime.combine(day, school.day_end)
        while at < close:
            nxt = min(at + step, close)
            starts.append(utc_of(school, day, at.time()))
            ends.append(utc_of(school, day, nxt.time()))
            at = nxt
    return pa.table({"slot_start": pa.array(starts, type=_TS),
                     "slot_end": pa.array(ends, type=_TS)})


def bucket_seconds(slots: pa.Table, origin: datetime) -> int:
    """The longest bucket, counted from `origin`, on whose boundaries every slot starts and
    ends: gap detection then only needs which buckets have events (an integer key)."""
    g = 0
    for column in ("slot_start", "slot_end"):
        for t in slots.column(column).to_pylist():
            g = math.gcd(g, int((t - origin).total_seconds()))
    return g or 60


def local_iso(school: School, naive_utc: datetime) -> str:
    """A stored instant as the school's local time, ISO 8601 with its offset."""
    return naive_utc.replace(tzinfo=UTC).astimezone(school.tz).isoformat(timespec="minutes")
