"""Termly figures for governors: every SQL statement, as functions returning frames.

Each function takes a connection holding the warehouse tables and a term's UTC range
`[lo, hi)` (naive UTC, as stored) and aggregates in DuckDB: events are filtered on `ts`
first (zone maps skip other terms' row groups) and only the needed columns are read.
Calendar facts (school days, hour slots) arrive as small Arrow tables built by
`pipelines.term_calendar` and are registered under fixed names for the duration of one query.

These functions return raw counts and may see person ids internally; suppression and
the guarantee that no identity leaves happen in `pipelines.termly`, the only caller.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import pyarrow as pa

from warehouse.rollup import BUCKET_SECONDS as ROLLUP_BUCKET
from warehouse.sqlutil import registered

# any of these steps means a person has seen the alert; 'reopen' does not
SEEN_STEPS = ("acknowledge", "assign", "escalate", "outcome", "note", "close")
CLOSE_STEPS = ("close", "outcome")
# block counts and coverage come from the writer's rollups (see warehouse.rollup)


def snapshot_before(con: duckdb.DuckDBPyConnection, school_id: str,
                    before: datetime) -> str | None:
    """The directory snapshot in force at the end of a term: the latest taken before it."""
    rows = con.execute(
        """SELECT snapshot_id FROM directory_snapshots
           WHERE school_id = ? AND taken_at < ?
           ORDER BY taken_at DESC, snapshot_id LIMIT 1""", [school_id, before]).fetchall()
    return str(rows[0][0]) if rows else None


# Who an alert's subject is: from the snapshot (the term's own year groups) or, with no
# snapshot, from what enrichment wrote on the term's events.
_PEOPLE_SNAPSHOT = """people AS (
    SELECT person_id, role, year_group FROM directory_people WHERE snapshot_id = $snapshot)"""
_PEOPLE_EVENTS = """people AS (
    SELECT person_id, any_value(person_role) AS role, max(year_group) AS year_group
    FROM events WHERE ts >= $lo AND ts < $hi AND school_id = $school
    GROUP BY person_id)"""  # no semi-join on the subjects: it doubles the cost at scale
_ALERTS_IN_TERM = """a AS (
    SELECT alert_id, severity, category, subject, subject_kind, first_seen,
           coalesce(raised_at, last_seen) AS raised_at
    FROM alerts WHERE school_id = $school AND first_seen >= $lo AND first_seen < $hi)"""


def alert_breakdowns(con: duckdb.DuckDBPyConnection, school_id: str, lo: datetime,
                     hi: datetime, snapshot_id: str | None) -> pd.DataFrame:
    """Alerts first seen in the term: (dimension, key, n) for total, category, severity and
    year group. A subject that is not a person is 'unresolved'; staff count as 'staff'."""
    people = _PEOPLE_SNAPSHOT if snapshot_id else _PEOPLE_EVENTS
    sql = f"""WITH {_ALERTS_IN_TERM}, {people},
        labelled AS (
            SELECT a.category, a.severity::VARCHAR AS severity,
                   CASE WHEN a.subject_kind <> 'person' THEN 'unresolved'
                        WHEN p.person_id IS NULL THEN 'unknown'
                        WHEN p.role = 'pupil' THEN coalesce(p.year_group, 'unknown')
                        ELSE p.role END AS year_group
            FROM a LEFT JOIN people p ON p.person_id = a.subject)
        SELECT CASE WHEN grouping(category) = 0 THEN 'category'
                    WHEN grouping(severity) = 0 THEN 'severity'
                    WHEN grouping(year_group) = 0 THEN 'year_group' ELSE 'total' END
                   AS dimension,
               coalesce(category, severity, year_group, 'all') AS key, count(*) AS n
        FROM labelled
        GROUP BY GROUPING SETS ((category), (severity), (year_group), ())
        ORDER BY dimension, key"""  # noqa: S608 - two fixed fragments, values are bound
    params = {"school": school_id, "lo": lo, "hi": hi}
    if snapshot_id:
        params["snapshot"] = snapshot_id
    return con.execute(sql, params).df()


_TIMES = """t AS (
    SELECT a.*,
           -- greatest() skips NULLs, so an alert never seen must stay NULL explicitly;
           -- a step stamped before the alert was stored (clock skew) counts as 0
           CASE WHEN x.seen_at IS NOT NULL
                THEN greatest(0, epoch(x.seen_at - a.raised_at)) END AS ack_s,
           CASE WHEN x.closed_at IS NOT NULL
                THEN greatest(0, epoch(x.closed_at - a.raised_at)) END AS close_s
    FROM a LEFT JOIN (
        SELECT alert_id,
               min(acted_at) FILTER (WHERE action IN $seen) AS seen_at,
               min(acted_at) FILTER (WHERE action IN $closing) AS closed_at
        FROM alert_actions WHERE alert_id IN (SELECT alert_id FROM a)
        GROUP BY alert_id) x USING (alert_id))"""
_STATS = """count(*) AS alerts, count(ack_s) AS acknowledged,
    quantile_cont(ack_s, 0.5) AS ack_median_s, quantile_cont(ack_s, 0.9) AS ack_p90_s,
    count(close_s) AS closed,
    quantile_cont(close_s, 0.5) AS close_median_s, quantile_cont(close_s, 0.9) AS close_p90_s"""


def _steps(params: dict[str, object]) -> dict[str, object]:
    return {**params, "seen": list(SEEN_STEPS), "closing": list(CLOSE_STEPS)}


def response_times(con: duckdb.DuckDBPyConnection, school_id: str, lo: datetime,
                   hi: datetime) -> pd.DataFrame:
    """Per severity (and 'all'): alerts, how many were seen/closed, and the median and 90th
    percentile seconds from `raised_at` to the first seeing step / first close or outcome."""
    sql = f"""WITH {_ALERTS_IN_TERM}, {_TIMES}
        SELECT CASE WHEN grouping(severity) = 1 THEN 'all' ELSE severity::VARCHAR END
                   AS grp, {_STATS}
        FROM t GROUP BY GROUPING SETS ((severity), ()) ORDER BY grp"""  # noqa: S608 - fixed
    return con.execute(sql, _steps({"school": school_id, "lo": lo, "hi": hi})).df()


# One row per local calendar day (see `pipelines.term_calendar.calendar_days`): an instant's kind
# is decided by the day it falls in and that day's UTC boundaries, so DST is exact.
_KIND = """CASE WHEN d.kind <> 'school-day' THEN d.kind
    WHEN t.first_seen >= d.opens AND t.first_seen < d.closes THEN 'school-hours'
    WHEN t.first_seen >= d.closes AND t.first_seen < d.late THEN 'evening'
    WHEN t.first_seen >= d.early AND t.first_seen < d.opens THEN 'before-school'
    ELSE 'night' END"""


def out_of_hours(con: duckdb.DuckDBPyConnection, school_id: str, lo: datetime, hi: datetime,
                 days: pa.Table) -> pd.DataFrame:
    """Alerts by the kind of time they were first seen in (school-hours, before-school,
    evening, night, weekend, holiday), plus 'out-of-hours' (all but school hours), with
    how fast they were seen."""
    sql = f"""WITH {_ALERTS_IN_TERM}, {_TIMES},
        k AS (SELECT t.ack_s, t.close_s, {_KIND} AS kind
              FROM t JOIN _termly_days d ON t.first_seen >= d.lo AND t.first_seen < d.hi),
        g AS (SELECT kind, kind <> 'school-hours' AS ooh, ack_s, close_s FROM k)
        SELECT CASE WHEN grouping(kind) = 0 THEN kind
                    WHEN ooh THEN 'out-of-hours' ELSE 'in-hours' END AS kind, {_STATS}
        FROM g GROUP BY GROUPING SETS ((kind), (ooh)) ORDER BY kind"""  # noqa: S608 - fixed
    with registered(con, "_termly_days", days):
        return con.execute(sql, _steps({"school": school_id, "lo": lo, "hi": hi})).df()


def block_rates(con: duckdb.DuckDBPyConnection, school_id: str, lo: datetime,
                hi: datetime) -> pd.DataFrame:
    """Web events and blocked web events per filter category ('uncategorised' when none),
    from the writer's 15-minute `web_rollup` (an event with several categories counts in
    each). Term bounds are local midnights, whole UTC hours: bucket-aligned."""
    return con.execute(
        """SELECT category, sum(events)::BIGINT AS events, sum(blocked)::BIGINT AS blocked
           FROM web_rollup WHERE bucket >= $lo AND bucket < $hi AND school_id = $school
           GROUP BY category ORDER BY category""",
        {"school": school_id, "lo": lo, "hi": hi}).df()


def filter_gaps(con: duckdb.DuckDBPyConnection, school_id: str, lo: datetime, hi: datetime,
                slots: pa.Table, bucket_seconds: int) -> pd.DataFrame:
    """School-day slots with no web event at all, merged into ranges (start, end, hours).

    Events are reduced to the distinct `bucket_seconds`-long buckets, counted from `lo`,
    that have any (an integer key: far cheaper at term scale than distinct timestamps);
    every slot boundary must fall on a bucket boundary (`term_calendar.bucket_seconds`)."""
    aligned = (bucket_seconds % ROLLUP_BUCKET == 0
               and int((lo if lo.tzinfo else lo.replace(tzinfo=UTC)).timestamp())
               % ROLLUP_BUCKET == 0)
    # the rollup's buckets nest in the slots' buckets when aligned; else read the events
    source = ("""SELECT DISTINCT (epoch_us(bucket) - epoch_us($lo)) // $bucket AS b
                 FROM web_rollup WHERE bucket >= $lo AND bucket < $hi
                   AND school_id = $school AND events > 0""" if aligned else
              """SELECT DISTINCT (epoch_us(ts) - epoch_us($lo)) // $bucket AS b FROM events
                 WHERE ts >= $lo AND ts < $hi AND category = 'web' AND school_id = $school""")
    sql = "WITH hit AS (" + source + """),
        s AS (
            SELECT slot_start, slot_end, (epoch_us(slot_start) - epoch_us($lo)) // $bucket AS b0,
                   (epoch_us(slot_end) - epoch_us($lo)) // $bucket AS b1
            FROM _termly_slots),
        covered AS (
            SELECT DISTINCT s.slot_start FROM s JOIN hit ON hit.b >= s.b0 AND hit.b < s.b1),
        gap AS (
            SELECT s.slot_start, s.slot_end,
                   CASE WHEN lag(s.slot_end) OVER (ORDER BY s.slot_start) = s.slot_start
                        THEN 0 ELSE 1 END AS starts_run
            FROM s ANTI JOIN covered c ON c.slot_start = s.slot_start),
        runs AS (
            SELECT *, sum(starts_run) OVER (ORDER BY slot_start) AS run FROM gap)
        SELECT min(slot_start) AS gap_start, max(slot_end) AS gap_end,
               sum(epoch(slot_end - slot_start)) / 3600.0 AS hours
        FROM runs GROUP BY run ORDER BY gap_start"""  # noqa: S608 - fixed fragments
    with registered(con, "_termly_slots", slots):
        return con.execute(sql, {"school": school_id, "lo": lo, "hi": hi,
                                 "bucket": bucket_seconds * 1_000_000}).df()


def pupils_on_roll(con: duckdb.DuckDBPyConnection, snapshot_id: str, first_day: date,
                   last_day: date) -> pa.Table:
    """(person_id, year_group) of the snapshot's pupils on roll at any time in the term."""
    df = con.execute(
        """SELECT person_id, year_group FROM directory_people
           WHERE snapshot_id = ? AND role = 'pupil'
             AND (start_date IS NULL OR start_date <= ?)
             AND (leave_date IS NULL OR leave_date >= ?)""",
        [snapshot_id, last_day, first_day]).df()
    return pa.Table.from_pandas(df, preserve_index=False)


def pupil_coverage(con: duckdb.DuckDBPyConnection, school_id: str, lo: datetime,
                   hi: datetime, roll: pa.Table) -> pd.DataFrame:
    """Per year group (and 'all'): pupils on roll and how many appear in filter or sign-in
    events of the term (`roll` holds person_id, year_group). Grouping on the person alone,
    with the category test inside the aggregate, keeps DuckDB's dictionary fast path."""
    sql = """WITH seen AS (
            SELECT DISTINCT id AS person_id FROM presence_daily
            WHERE day >= $lo::DATE AND day < $hi::DATE AND school_id = $school
              AND kind = 'person'),
        r AS (SELECT DISTINCT person_id, coalesce(year_group, 'unknown') AS year_group
              FROM _termly_roll)
        SELECT CASE WHEN grouping(r.year_group) = 1 THEN 'all' ELSE r.year_group END
                   AS year_group,
               count(*) AS on_roll, count(seen.person_id) AS seen
        FROM r LEFT JOIN seen USING (person_id)
        GROUP BY GROUPING SETS ((r.year_group), ()) ORDER BY 1"""
    with registered(con, "_termly_roll", roll):
        return con.execute(sql, {"school": school_id, "lo": lo, "hi": hi}).df()


def device_coverage(con: duckdb.DuckDBPyConnection, school_id: str, lo: datetime,
                    hi: datetime, register: pa.Table) -> tuple[int, int]:
    """(school-owned devices on the register, how many appear in filter or sign-in events).

    Enrichment already resolved host names (FQDN or short, any case) and MACs to the
    register's asset tag, so matching on `asset_tag` is matching on host names, at a
    third of the cost of grouping the raw names too. `register` holds asset_tag."""
    sql = """WITH used AS (
            SELECT DISTINCT id AS asset_tag FROM presence_daily
            WHERE day >= $lo::DATE AND day < $hi::DATE AND school_id = $school
              AND kind = 'asset')
        SELECT count(*) AS on_register,
               count(*) FILTER (WHERE asset_tag IN (SELECT asset_tag FROM used)) AS seen
        FROM (SELECT DISTINCT asset_tag FROM _termly_register)"""
    with registered(con, "_termly_register", register):
        got = con.execute(sql, {"school": school_id, "lo": lo, "hi": hi}).fetchall()
    return (int(got[0][0]), int(got[0][1])) if got else (0, 0)
