"""Termly figures on real DuckDB: calendar, suppression, response times, gaps, coverage."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

from pipelines.term_calendar import (
    calendar_days,
    classify_instant,
    school_days,
    school_slots,
    term_period,
)
from pipelines.termly import (
    SUPPRESSED,
    compare_terms,
    protect,
    share_of,
    suppress,
    term_report,
    term_reports,
)
from safeguard.directory import Asset, Directory, Person, parse_school_yaml
from safeguard.errors import ConfigError
from warehouse import termly as q
from warehouse.rollup import add_to_rollups
from warehouse.schema import migrate

LONDON = ZoneInfo("Europe/London")
SCHOOL = parse_school_yaml("""\
id: termly-school
name: Termly Test School
profile: beaudesert-park
timezone: Europe/London
school_day: {start: "08:30", end: "16:00"}
terms:
  - {name: Autumn 2026, start: 2026-09-03, end: 2026-12-16, half_term: [2026-10-26, 2026-10-30]}
  - {name: Spring 2027, start: 2027-01-05, end: 2027-03-26, half_term: [2027-02-15, 2027-02-19]}
""")
SID = SCHOOL.id


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    """A London wall-clock time as an aware UTC instant."""
    return datetime(y, mo, d, h, mi, s, tzinfo=LONDON).astimezone(UTC)


def naive(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- factories


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    migrate(c)
    return c


def add_events(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events from dicts (ts aware) in one statement; unnamed columns stay NULL."""
    base: dict[str, Any] = {
        "school_id": SID, "category": "web", "dataset": "squid.access", "action": "allowed",
        "outcome": "success", "categories": [], "person_id": None, "host_name": None,
        "asset_tag": None, "year_group": None, "person_role": None}
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["ts"] = [naive(t) for t in df["ts"]]
    df["event_id"] = [f"ev-{i}" for i in range(len(df))]
    df["raw"] = "raw"
    con.register("_new_events", df)
    con.execute("INSERT INTO events BY NAME SELECT * FROM _new_events")
    add_to_rollups(con, "_new_events")  # as the writer does with every batch
    con.unregister("_new_events")


def add_alerts(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert alerts from dicts: `first_seen` (aware) is required, the rest defaults."""
    out = []
    for i, r in enumerate(rows):
        first = r["first_seen"]
        out.append({
            "alert_id": r.get("alert_id", f"alert-{i}"), "version": 1, "school_id": SID,
            "profile_id": "beaudesert-park", "rule_id": "bps.rule", "title": "A title",
            "clause_ids": ["bps.proxy"], "severity": r.get("severity", 3),
            "category": r.get("category", "security"), "routing": "dsl",
            "subject": r.get("subject", "PUPIL-A001"), "subject_kind": r.get("kind", "person"),
            "score": 1.0, "first_seen": naive(first), "last_seen": naive(first),
            "window_start": naive(first), "window_end": naive(first), "event_count": 1,
            "evidence_event_ids": ["ev-0"], "status": "new",
            "raised_at": naive(r.get("raised_at", first))})
    con.register("_new_alerts", pd.DataFrame(out))
    con.execute("INSERT INTO alerts BY NAME SELECT * FROM _new_alerts")
    con.unregister("_new_alerts")


def add_actions(con: duckdb.DuckDBPyConnection,
                rows: Iterable[tuple[str, str, datetime]]) -> None:
    """(alert_id, action, acted_at) triage steps by a synthetic DSL."""
    df = pd.DataFrame([{"action_id": f"act-{i}", "alert_id": a, "school_id": SID,
                        "action": act, "actor": "dsl-one", "actor_role": "dsl",
                        "acted_at": naive(at), "stored_at": naive(at)}
                       for i, (a, act, at) in enumerate(rows)])
    con.register("_new_actions", df)
    con.execute("INSERT INTO alert_actions BY NAME SELECT * FROM _new_actions")
    con.unregister("_new_actions")


def add_snapshot(con: duckdb.DuckDBPyConnection, snapshot_id: str, taken_at: datetime,
                 people: Sequence[tuple[str, str, str | None, date | None, date | None]]) -> None:
    """A directory snapshot: (person_id, role, year_group, start_date, leave_date)."""
    con.execute("INSERT INTO directory_snapshots VALUES (?, ?, ?, ?, 0, 0)",
                [snapshot_id, SID, naive(taken_at), len(people)])
    df = pd.DataFrame([{"snapshot_id": snapshot_id, "person_id": p, "role": role,
                        "year_group": yg, "boarder": False, "start_date": s, "leave_date": e}
                       for p, role, yg, s, e in people])
    con.register("_new_people", df)
    con.execute("INSERT INTO directory_people BY NAME SELECT * FROM _new_people")
    con.unregister("_new_people")


# ---------------------------------------------------------------- calendar


def test_term_bounds_and_school_days_follow_local_dates() -> None:
    autumn = term_period(SCHOOL, "Autumn 2026")
    assert autumn.start_utc == datetime(2026, 9, 2, 23, 0)     # midnight BST
    assert autumn.end_utc == datetime(2026, 12, 17, 0, 0)      # midnight GMT, exclusive
    days = school_days(SCHOOL, autumn)
    assert len(days) == 70                                      # 75 weekdays less half term
    assert date(2026, 10, 26) not in days and date(2026, 10, 23) in days
    assert date(2026, 9, 5) not in days                         # a Saturday
    kinds = dict(zip(*[calendar_days(SCHOOL, date(2026, 10, 23), date(2026, 11, 2))
                       .column(c).to_pylist() for c in ("day", "kind")], strict=True))
    assert kinds[date(2026, 10, 23)] == "school-day"
    assert kinds[date(2026, 10, 24)] == "weekend"
    assert kinds[date(2026, 10, 27)] == "holiday"               # half term
    assert kinds[date(2026, 10, 31)] == "weekend"
    with pytest.raises(ConfigError, match="Summer 2027"):
        term_period(SCHOOL, "Summer 2027")


# (instant, kind): boundaries either side of the clock change on Sunday 25 October 2026
BOUNDARIES = [
    (local(2026, 10, 23, 8, 29, 59), "before-school"),
    (local(2026, 10, 23, 8, 30), "school-hours"),
    (datetime(2026, 10, 23, 14, 59, 59, tzinfo=UTC), "school-hours"),   # 15:59:59 BST
    (datetime(2026, 10, 23, 15, 0, tzinfo=UTC), "evening"),             # 16:00 BST
    (local(2026, 10, 23, 21, 59, 59), "evening"),
    (local(2026, 10, 23, 22, 0), "night"),
    (datetime(2026, 10, 24, 0, 30, tzinfo=UTC), "weekend"),             # Saturday 01:30 BST
    (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "weekend"),             # 01:30 BST, repeated
    (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "weekend"),             # 01:30 GMT
    (local(2026, 10, 27, 11, 0), "holiday"),                            # half term
    (datetime(2026, 11, 2, 5, 59, 59, tzinfo=UTC), "night"),            # Monday, GMT now
    (datetime(2026, 11, 2, 6, 0, tzinfo=UTC), "before-school"),
    (datetime(2026, 11, 2, 8, 30, tzinfo=UTC), "school-hours"),
    (datetime(2026, 11, 2, 15, 0, tzinfo=UTC), "school-hours"),         # was 16:00 in BST
    (datetime(2026, 11, 2, 16, 0, tzinfo=UTC), "evening"),
    (datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC), "night"),
    (local(2026, 12, 16, 15, 59), "school-hours"),                      # last day of term
]


@pytest.mark.parametrize(("instant", "kind"), BOUNDARIES)
def test_python_classification_at_boundaries(instant: datetime, kind: str) -> None:
    assert classify_instant(SCHOOL, instant) == kind


def test_sql_classification_agrees_at_every_boundary(con: duckdb.DuckDBPyConnection) -> None:
    period = term_period(SCHOOL, "Autumn 2026")
    days = calendar_days(SCHOOL, period.start, period.end)
    for instant, kind in BOUNDARIES:
        con.execute("DELETE FROM alerts")
        add_alerts(con, [{"first_seen": instant}])
        df = q.out_of_hours(con, SID, period.start_utc, period.end_utc, days)
        kinds = set(df.loc[df["alerts"] == 1, "kind"]) - {"out-of-hours", "in-hours"}
        assert kinds == {kind}, instant


# ---------------------------------------------------------------- suppression


def test_suppression_hides_one_to_four_and_the_cell_that_would_reveal_them() -> None:
    assert [suppress(n) for n in (0, 1, 4, 5, 6)] == [0, SUPPRESSED, SUPPRESSED, 5, 6]
    assert protect({"a": 4, "b": 3, "c": 5, "d": 0}) == {
        "a": SUPPRESSED, "b": SUPPRESSED, "c": 5, "d": 0}
    # one small cell alone could be had from the total: its smallest neighbour goes too
    assert protect({"a": 4, "b": 9, "c": 20}) == {"a": SUPPRESSED, "b": SUPPRESSED, "c": 20}
    # two hidden 1s beside a shown total would give themselves away (1 + 1 < 5)
    assert protect({"a": 18, "b": 1, "c": 1}) == {"a": SUPPRESSED, "b": SUPPRESSED,
                                                  "c": SUPPRESSED}
    assert share_of(5, 10).to_dict() == {"total": 10, "part": 5, "share": 0.5}
    assert share_of(8, 10) == share_of(2, 10)                   # 2 unseen, derivable
    assert share_of(8, 10).part == SUPPRESSED and share_of(8, 10).total == 10
    assert share_of(1, 3).total == SUPPRESSED


# ---------------------------------------------------------------- alerts and times

PUPILS = [f"PUPIL-A{i:03d}" for i in range(1, 40)]


def _alert_set(con: duckdb.DuckDBPyConnection) -> None:
    """24 alerts in autumn: bullying 4, violence 3, sexual 5, security 12; year groups from
    the snapshot in force at the end of term; response times for severity 4."""
    t0 = local(2026, 11, 10, 10, 0)
    rows: list[dict[str, Any]] = []
    plan = [("bullying", 4, 2), ("violence", 3, 2), ("sexual", 5, 3), ("security", 12, 4)]
    n = 0
    for category, count, severity in plan:
        for _ in range(count):
            rows.append({"alert_id": f"al-{n}", "first_seen": t0 + timedelta(hours=n),
                         "category": category, "severity": severity,
                         "subject": PUPILS[n % 12] if n < 21 else "STAFF-S001"})
            n += 1
    rows[-1].update(subject="account:guest7", kind="account")
    add_alerts(con, rows)
    sev4 = [r for r in rows if r["severity"] == 4][:5]
    steps = [(r["alert_id"], "acknowledge", r["first_seen"] + timedelta(minutes=10 * (i + 1)))
             for i, r in enumerate(sev4)]
    steps[0] = (sev4[0]["alert_id"], "note", steps[0][2])            # any step means seen
    steps += [(r["alert_id"], "outcome" if i % 2 else "close",
               r["first_seen"] + timedelta(minutes=60 + 10 * i)) for i, r in enumerate(sev4)]
    steps += [("al-0", "reopen", t0 + timedelta(minutes=1)),         # reopen is not seeing
              ("al-1", "acknowledge", t0 + timedelta(hours=1, minutes=5))]
    add_actions(con, steps)
    term = [(p, "pupil", "Year 7" if i < 8 else "Year 9", None, None)
            for i, p in enumerate(PUPILS[:12])] + [("STAFF-S001", "staff", None, None, None)]
    add_snapshot(con, "snap-old", local(2026, 8, 1), [(p, r, "Year 6", s, e)
                                                       for p, r, _, s, e in term])
    add_snapshot(con, "snap-term", local(2026, 9, 1), term)
    add_snapshot(con, "snap-next", local(2027, 1, 2), [(p, r, "Year 10", s, e)
                                                        for p, r, _, s, e in term])


def test_alert_figures_suppress_small_counts_and_use_the_terms_year_groups(
        con: duckdb.DuckDBPyConnection) -> None:
    _alert_set(con)
    report = term_report(con, SCHOOL, "Autumn 2026")
    assert report.year_groups_from == "snapshot"
    assert report.alerts_total == 24
    cats = report.alerts_by_category
    assert (cats["bullying"], cats["violence"], cats["sexual"], cats["security"]) == (
        SUPPRESSED, SUPPRESSED, 5, 12)
    assert cats["extremism"] == 0
    assert dict(report.alerts_by_severity) == {"1": 0, "2": 7, "3": 5, "4": 12, "5": 0}
    # subjects 0..20 cycle over 12 pupils (8 in Year 7), 21-22 staff, 23 an account
    # staff (2) and unresolved (1) hide only 3 together: Year 9 (5) goes too, or the total
    # would give their sum away
    assert dict(report.alerts_by_year_group) == {
        "Year 7": 16, "Year 9": SUPPRESSED, "staff": SUPPRESSED, "unresolved": SUPPRESSED}
    spring = term_report(con, SCHOOL, "Spring 2027")
    assert spring.alerts_total == 0


def test_times_to_acknowledge_and_close(con: duckdb.DuckDBPyConnection) -> None:
    _alert_set(con)
    rt = term_report(con, SCHOOL, "Autumn 2026").response_times
    sev4 = rt["4"]
    assert sev4.alerts == 12
    assert sev4.seen_median_min == 30.0                 # 10, 20, 30, 40, 50 minutes
    assert sev4.seen_p90_min == 46.0                    # linear interpolation
    assert sev4.closed_median_min == 80.0
    assert sev4.closed_p90_min == 96.0
    two = rt["2"]                                       # one seen of 7: hidden
    assert two.seen == SUPPRESSED and two.seen_median_min == SUPPRESSED
    assert rt["all"].seen == 6 and rt["all"].seen_median_min == 25.0   # 5 min for al-1
    assert rt["3"].seen == 0 and rt["3"].seen_median_min is None
    # severity 4's 5 seen is hidden too, or 6 - 5 - 0 would give severity 2's 1 away
    assert sev4.seen == SUPPRESSED
    assert sev4.closed == 5 and rt["all"].closed == 5   # nothing small to give away


def test_out_of_hours_alerts_by_kind_and_how_fast_they_were_seen(
        con: duckdb.DuckDBPyConnection) -> None:
    evening = [local(2026, 11, 11, 19, 0) + timedelta(days=7 * i) for i in range(6)]
    weekend = [local(2026, 11, 14, 12, 0) + timedelta(days=7 * i) for i in range(3)]
    add_alerts(con, [{"alert_id": f"ev-{i}", "first_seen": t} for i, t in enumerate(evening)]
               + [{"alert_id": f"we-{i}", "first_seen": t} for i, t in enumerate(weekend)]
               + [{"alert_id": "day", "first_seen": local(2026, 11, 11, 11, 0)}])
    add_actions(con, [(f"ev-{i}", "acknowledge", t + timedelta(minutes=60 * (i + 1)))
                      for i, t in enumerate(evening)])
    report = term_report(con, SCHOOL, "Autumn 2026")
    # weekend (3) and school hours (1) hide 4 together: evening goes too
    assert report.alerts_by_time["evening"] == SUPPRESSED
    assert report.alerts_by_time["weekend"] == SUPPRESSED
    assert report.alerts_by_time["school-hours"] == SUPPRESSED
    assert report.alerts_by_time["night"] == 0
    assert report.alerts_total == 10
    assert report.out_of_hours_total == SUPPRESSED      # 10 - 9 would give the 1 away
    assert report.out_of_hours_response["evening"].seen_median_min == 210.0
    ooh = report.out_of_hours_response["out-of-hours"]
    assert ooh.seen == SUPPRESSED                       # 6 of 9: the 3 unseen are derivable
    assert ooh.seen_median_min == 210.0


# ---------------------------------------------------------------- filter


def _every_half_hour(first: date, last: date) -> list[datetime]:
    """A web event every 30 minutes of every school day (London, 08:30 to 15:30)."""
    out = []
    day = first
    while day <= last:
        if day.weekday() < 5 and not date(2026, 10, 26) <= day <= date(2026, 10, 30):
            out += [local(day.year, day.month, day.day, 8, 30) + timedelta(minutes=30 * k)
                    for k in range(15)]
        day += timedelta(days=1)
    return out


def test_filter_gaps_are_school_hours_without_any_filter_event(
        con: duckdb.DuckDBPyConnection) -> None:
    times = _every_half_hour(date(2026, 9, 3), date(2026, 12, 16))
    down = (local(2026, 11, 10, 10, 30), local(2026, 11, 10, 13, 30))  # GMT, 3 h
    split = (local(2026, 11, 12, 10, 30), local(2026, 11, 12, 13, 30))
    kept = [t for t in times if not down[0] <= t < down[1] and not split[0] <= t < split[1]
            and t.astimezone(LONDON).date() != date(2026, 10, 2)]     # a BST day, all down
    kept += [local(2026, 11, 12, 12, 29, 59),                          # covers 11:30-12:30
             local(2026, 10, 27, 11, 0), local(2026, 10, 3, 11, 0)]    # half term, Saturday
    add_events(con, [{"ts": t} for t in kept])
    add_events(con, [{"ts": local(2026, 11, 10, 11, 0), "category": "authentication"},
                     {"ts": local(2026, 11, 10, 11, 0), "school_id": "another-school"}])
    report = term_report(con, SCHOOL, "Autumn 2026")
    gaps = [(g.start, g.end, g.hours) for g in report.filter_gaps]
    assert gaps == [
        ("2026-10-02T08:30+01:00", "2026-10-02T16:00+01:00", 7.5),
        ("2026-11-10T10:30+00:00", "2026-11-10T13:30+00:00", 3.0),
        ("2026-11-12T10:30+00:00", "2026-11-12T11:30+00:00", 1.0),
        ("2026-11-12T12:30+00:00", "2026-11-12T13:30+00:00", 1.0)]
    assert report.filter_gap_hours == 12.5
    finer = term_report(con, SCHOOL, "Autumn 2026", slot_minutes=45)   # 15-minute buckets
    assert [(g.start[:16], g.end[:16]) for g in finer.filter_gaps][1:] == [
        ("2026-11-10T10:45", "2026-11-10T13:00"), ("2026-11-12T10:45", "2026-11-12T12:15")]
    assert report.school_day_hours == 70 * 7.5
    assert school_slots(SCHOOL, term_period(SCHOOL, "Autumn 2026")).num_rows == 70 * 8


def test_block_rate_by_category(con: duckdb.DuckDBPyConnection) -> None:
    t = local(2026, 11, 10, 10, 0)
    rows: list[dict[str, Any]] = []

    def web(n: int, cats: list[str], action: str = "allowed") -> None:
        rows.extend({"ts": t, "categories": cats, "action": action} for _ in range(n))

    web(12, ["social_networks"])
    web(8, ["social_networks"], "blocked")
    web(10, ["vpn"], "blocked")
    web(3, ["adult"])
    web(3, ["adult"], "blocked")
    web(2, ["games"])
    web(5, ["games"], "blocked")
    web(5, ["chat", "webmail"], "blocked")      # counts in both
    web(5, ["chat"])
    web(30, [])
    web(6, [], "error")                         # an error is no block
    rows.append({"ts": local(2026, 12, 17, 10, 0), "categories": ["vpn"], "action": "blocked"})
    add_events(con, rows)
    rates = term_report(con, SCHOOL, "Autumn 2026").block_rates
    assert rates["social_networks"].to_dict() == {"total": 20, "part": 8, "share": 0.4}
    assert rates["vpn"].to_dict() == {"total": 10, "part": 10, "share": 1.0}
    assert rates["adult"].part == SUPPRESSED and rates["adult"].share == SUPPRESSED
    assert rates["games"].part == SUPPRESSED            # 2 allowed is derivable
    assert rates["chat"].to_dict() == {"total": 10, "part": 5, "share": 0.5}
    assert rates["webmail"].to_dict() == {"total": 5, "part": 5, "share": 1.0}
    assert rates["uncategorised"].to_dict() == {"total": 36, "part": 0, "share": 0.0}


# ---------------------------------------------------------------- coverage and privacy


def _coverage_set(con: duckdb.DuckDBPyConnection) -> Directory:
    y7 = [f"PUPIL-C{i:03d}" for i in range(12)]
    y8 = [f"PUPIL-D{i:03d}" for i in range(6)]
    y9 = [f"PUPIL-F{i:03d}" for i in range(10)]
    people = ([(p, "pupil", "Year 7", None, None) for p in y7]
              + [(p, "pupil", "Year 8", None, None) for p in y8]
              + [(p, "pupil", "Year 9", None, None) for p in y9]
              + [("PUPIL-LEFT", "pupil", "Year 7", None, date(2026, 7, 20)),
                 ("PUPIL-LATER", "pupil", "Year 7", date(2027, 1, 4), None),
                 ("STAFF-C001", "staff", None, None, None)])
    add_snapshot(con, "snap-c", local(2026, 9, 1), people)
    t = local(2026, 11, 10, 10, 0)
    add_events(con, [{"ts": t, "person_id": p, "user_name": f"acct-{p.lower()}"}
                     for p in y7[:5] + y8[:3] + y9 + ["PUPIL-LEFT", "STAFF-C001"]]
               + [{"ts": t, "person_id": y7[5], "category": "authentication"},
                  {"ts": t, "person_id": y7[6], "category": "incident"},   # not monitoring
                  {"ts": t, "person_id": y7[7], "category": "web",
                   "school_id": "another-school"}]
               # devices as enrichment leaves them: the register's tag on school devices
               + [{"ts": t, "category": "authentication", "asset_tag": "A-0001",
                   "host_name": "LT-0001.school.lan"}]
               + [{"ts": t, "asset_tag": f"A-{i:04d}", "host_name": f"lt-{i:04d}"}
                  for i in (2, 3, 4, 5)]
               + [{"ts": t, "category": "device", "asset_tag": "A-0006"},   # a checkout
                  {"ts": t, "asset_tag": "A-0099", "host_name": "PHONE-9"},  # personal
                  {"ts": t, "host_name": "UNKNOWN-7"}])
    assets = [Asset(f"A-{i:04d}", f"SN{i}", "laptop", "Book", "school",
                    f"{'PC' if i == 3 else 'LT'}-{i:04d}", None) for i in range(1, 13)]
    assets.append(Asset("A-0099", "SN99", "phone", "Phone", "personal-registered", "PHONE-9",
                        None))
    person = Person("PUPIL-C000", "Pupil Zero", "pupil", "Year 7", False, None, None,
                    ("acct-pupil-c000",))
    return Directory(SCHOOL, (person,), tuple(assets))


def test_coverage_of_pupils_on_roll_and_of_school_devices(
        con: duckdb.DuckDBPyConnection) -> None:
    directory = _coverage_set(con)
    report = term_report(con, SCHOOL, "Autumn 2026", directory=directory)
    cov = {k: v.to_dict() for k, v in report.pupil_coverage.items()}
    assert cov["Year 8"] == {"total": 6, "part": SUPPRESSED, "share": SUPPRESSED}
    # 6 of 12 seen, but 'all' minus Year 7 and Year 9 would give Year 8's 3 away
    assert cov["Year 7"] == {"total": 12, "part": SUPPRESSED, "share": SUPPRESSED}
    assert cov["Year 9"] == {"total": 10, "part": 10, "share": 1.0}
    assert cov["all"] == {"total": 28, "part": 19, "share": 0.6786}
    assert report.device_coverage is not None           # 5 of the 12 school-owned
    assert report.device_coverage.to_dict() == {"total": 12, "part": 5, "share": 0.4167}


def test_without_a_snapshot_the_directory_and_events_stand_in(
        con: duckdb.DuckDBPyConnection) -> None:
    t = local(2026, 11, 10, 10, 0)
    add_events(con, [{"ts": t, "person_id": f"PUPIL-E{i:03d}", "year_group": "Year 5",
                      "person_role": "pupil"} for i in range(6)])
    add_alerts(con, [{"alert_id": f"e-{i}", "first_seen": t, "subject": f"PUPIL-E{i:03d}"}
                     for i in range(6)])
    people = tuple(Person(f"PUPIL-E{i:03d}", f"Pupil {i}", "pupil", "Year 5", False, None,
                          None, ()) for i in range(12))
    report = term_report(con, SCHOOL, "Autumn 2026", directory=Directory(SCHOOL, people))
    assert report.year_groups_from == "events"
    assert dict(report.alerts_by_year_group) == {"Year 5": 6}
    assert report.pupil_coverage["Year 5"].to_dict() == {"total": 12, "part": 6, "share": 0.5}


def test_no_identity_leaves_the_report_or_the_trend(con: duckdb.DuckDBPyConnection) -> None:
    _alert_set(con)
    directory = _coverage_set(con)
    reports = [term_report(con, SCHOOL, name, directory=directory)
               for name in ("Autumn 2026", "Spring 2027")]
    text = json.dumps([r.to_dict() for r in reports] + [compare_terms(reports)])
    ids = {str(v) for (v,) in con.execute(
        """SELECT person_id FROM directory_people UNION SELECT subject FROM alerts
           UNION SELECT alert_id FROM alerts UNION SELECT user_name FROM events
           UNION SELECT host_name FROM events UNION SELECT person_id FROM events
           UNION SELECT actor FROM alert_actions""").fetchall() if v is not None}
    ids |= {"Pupil Zero", "guest7", "PUPIL-", "STAFF-", "acct-"}
    leaked = sorted(i for i in ids if i.lower() in text.lower())
    assert leaked == []
    assert "Year 7" in text                                     # the figures are there


def test_trend_puts_the_same_figure_side_by_side(con: duckdb.DuckDBPyConnection) -> None:
    _alert_set(con)
    add_alerts(con, [{"alert_id": f"sp-{i}", "first_seen": local(2027, 1, 12, 10, i),
                      "category": "bullying", "severity": 5} for i in range(7)])
    trend = compare_terms(term_reports(con, SCHOOL))     # every term, in calendar order
    assert trend["terms"] == ["Autumn 2026", "Spring 2027"]
    assert trend["series"]["alerts_total"] == [24, 7]
    assert trend["series"]["alerts_by_category.bullying"] == [SUPPRESSED, 7]
    assert trend["series"]["alerts_by_severity.5"] == [0, 7]
    assert trend["series"]["alerts_by_year_group.Year 7"] == [16, 0]
    assert trend["series"]["alerts_by_year_group.Year 10"] == [0, 7]   # next year's snapshot
    assert trend["series"]["response_times.4.seen_median_min"] == [30.0, None]
