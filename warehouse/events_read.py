"""Backtest reads: stored events back as `Event`s, a rule's stored alerts, DSL outcomes.

Works on the writer's file and on a reader connection alike (`events` a view over the
per-day Parquet archive): rows are identified by (ts, event_id), never by rowid. A
prefilter arrives as plain data (`Predicate`s and a `Prune`, see `pipelines.backtest_plan`)
so the warehouse owns all SQL (`events_where`, `events_prune`) and the pipeline owns what
may safely be pushed down.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from safeguard.events import Event
from warehouse.events_prune import Prune, pruned_sql
from warehouse.events_where import (
    COLUMNS,
    DEVICE_MEMORY,
    DOMAIN_MEMORY,
    EVENT_ORDER,
    POSITION,
    Memory,
    PredicateLike,
    naive,
    quoted,
    range_sql,
    where_of,
)

__all__ = ["COLUMNS", "Memory", "PredicateLike", "where_of"]  # re-exported
_FETCH = 20_000


def _events(batch: pa.RecordBatch) -> list[Event]:
    """A batch of rows (columns in `Event` field order) as Events, column by column:
    twice as fast as a dict per row at term scale. Columns not read arrive as NULLs
    and take the Event's defaults."""
    n = batch.num_rows
    cols: list[list[Any]] = [[None] * n if c.null_count == n else c.to_pylist()
                             for c in batch.columns]
    at = POSITION
    cols[at["ts"]] = [t.replace(tzinfo=UTC) for t in cols[at["ts"]]]  # stored naive UTC
    for name in ("categories", "themes"):
        cols[at[name]] = [tuple(v) if v else () for v in cols[at[name]]]
    cols[at["labels"]] = [orjson.loads(v) if v else {} for v in cols[at["labels"]]]
    for name, default in (("type", "info"), ("outcome", "unknown"), ("raw", "")):
        cols[at[name]] = [default if v is None else v for v in cols[at[name]]]
    return list(map(Event, *cols))


class Candidates:
    """The rows to replay, in time order (iterate `events` once), and how many rows the
    prefilter selected as candidates, in all and in the counted range: known once
    `events` has started, or None when every selected row is replayed (count those)."""

    def __init__(self, batches: Iterator[pa.RecordBatch], summary: bool) -> None:
        self._batches = batches
        self._summary = summary
        self.selected: int | None = None
        self.selected_in_range: int | None = None

    @property
    def events(self) -> Iterator[Event]:
        for batch in self._batches:
            if self._summary and self.selected is None and batch.num_rows:
                first = batch.slice(0, 1).to_pylist()[0]  # ts NULL sorts first
                self.selected, self.selected_in_range = first["_n_all"], first["_n_in"]
                batch = batch.slice(1)
            if batch.num_rows:
                yield from _events(batch.select(list(EVENT_ORDER)))


def _phased(prune: Prune | None, memory: Memory) -> bool:
    """Whether the prune runs (else every selected row is read)."""
    return prune is not None and (prune.shape is not None or memory.devices
                                  or memory.domains or prune.group != "person")


def read_candidates(con: duckdb.DuckDBPyConnection, school_id: str, start: datetime,
                    end: datetime, terms: Sequence[Sequence[PredicateLike]] | None,
                    memory: Memory | None = None, *, columns: frozenset[str] | None = None,
                    prune: Prune | None = None,
                    counted: tuple[datetime, datetime] | None = None,
                    with_raw: bool = False) -> Candidates:
    """Events of [start, end) matching any term (or needed by `memory`), by time, with
    only `columns` read (all but `raw` by default), after `prune` (see `events_prune`).
    `counted` is the range whose candidates `selected_in_range` counts."""
    memory = memory or Memory()
    rng = [school_id, naive(start), naive(end)]
    own = where_of(terms)
    wanted = set(COLUMNS) - {"raw"} if columns is None else set(columns)
    wanted |= {"ts", "event_id"} | ({"raw"} if with_raw else set())
    read = [c for c in EVENT_ORDER if c in wanted]
    select = ", ".join(quoted(c) if c in wanted else f"NULL AS {quoted(c)}"
                       for c in EVENT_ORDER)
    if prune is not None and _phased(prune, memory):
        lo, hi = counted or (start, end)
        sql, params = pruned_sql(terms, memory, prune, rng, [naive(lo), naive(hi)], read,
                                 select)
        return Candidates(_batches(con, sql, params), summary=True)
    ors = [own[0]] + [m for m, on in ((DEVICE_MEMORY, memory.devices),
                                      (DOMAIN_MEMORY, memory.domains)) if on]
    sql = (f"SELECT {select} FROM events WHERE {range_sql()} "  # noqa: S608 - structure only
           f"AND ({' OR '.join(ors)}) ORDER BY ts, event_id")
    loaded = Candidates(_batches(con, sql, [*rng, *own[1]]), summary=False)
    if len(ors) > 1 and counted is not None:  # memory rows are no candidates: count apart
        (n_all, n_in), = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE ts >= ? AND ts < ?) "  # noqa: S608
            f"FROM events WHERE {range_sql()} AND {own[0]}",
            [naive(counted[0]), naive(counted[1]), *rng, *own[1]]).fetchall()
        loaded.selected, loaded.selected_in_range = int(n_all), int(n_in)
    return loaded


def _batches(con: duckdb.DuckDBPyConnection, sql: str,
             params: list[Any]) -> Iterator[pa.RecordBatch]:
    yield from con.sql(sql, params=params).to_arrow_reader(_FETCH)


def load_events(con: duckdb.DuckDBPyConnection, school_id: str, start: datetime,
                end: datetime, terms: Sequence[Sequence[PredicateLike]] | None,
                memory: Memory | None = None, *, with_raw: bool = False,
                columns: frozenset[str] | None = None,
                prune: Prune | None = None) -> Iterator[Event]:
    """Events of [start, end) matching any term (or needed by `memory`), by time.

    `raw` (the evidence text, often a kilobyte of JSON) is read only on request: no
    rule looks at it, and at term scale it is most of the bytes a backtest would read."""
    return read_candidates(con, school_id, start, end, terms, memory, columns=columns,
                           prune=prune, with_raw=with_raw).events


@dataclass(frozen=True, slots=True)
class RangeTotals:
    events: int
    school_days: int
    watermark: datetime | None


def range_totals(con: duckdb.DuckDBPyConnection, school_id: str, start: datetime,
                 end: datetime) -> RangeTotals:
    """Events in the range, the days with school-hours activity, and the school's newest
    event anywhere (the watermark: live, no deadline after it can have been judged)."""
    lo, hi = naive(start), naive(end)
    rows = con.execute(  # one scan of the school's events
        """SELECT count(*) FILTER (WHERE ts >= ? AND ts < ?),
                  count(DISTINCT epoch_us(ts) // 86400000000)
                      FILTER (WHERE ts >= ? AND ts < ? AND school_hours),
                  max(ts)
           FROM events WHERE school_id = ?""",
        [lo, hi, lo, hi, school_id]).fetchall()
    total, days, last = rows[0] if rows else (0, 0, None)
    return RangeTotals(int(total), int(days), last.replace(tzinfo=UTC) if last else None)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: str
    subject: str
    severity: int
    first_seen: datetime
    last_seen: datetime


def stored_alerts(con: duckdb.DuckDBPyConnection, school_id: str, rule_id: str,
                  start: datetime, end: datetime) -> list[StoredAlert]:
    """Alerts of the rule whose latest hit (last_seen) is in [start, end)."""
    rows = con.execute(
        """SELECT alert_id, subject, severity, first_seen, last_seen FROM alerts
           WHERE school_id = ? AND rule_id = ? AND last_seen >= ? AND last_seen < ?
           ORDER BY first_seen, alert_id""",
        [school_id, rule_id, naive(start), naive(end)]).fetchall()
    return [StoredAlert(a, s, int(sev), f.replace(tzinfo=UTC), la.replace(tzinfo=UTC))
            for a, s, sev, f, la in rows]


def latest_outcomes(con: duckdb.DuckDBPyConnection, school_id: str,
                    alert_ids: Sequence[str]) -> dict[str, str]:
    """The DSL's latest recorded outcome per alert (action 'outcome'), for these ids."""
    if not alert_ids:
        return {}
    rows = con.execute(
        """SELECT alert_id, outcome FROM alert_actions
           WHERE school_id = ? AND action = 'outcome' AND outcome IS NOT NULL
             AND alert_id IN (SELECT unnest(?::VARCHAR[]))
           QUALIFY row_number() OVER (PARTITION BY alert_id
                                      ORDER BY acted_at DESC, stored_at DESC,
                                               action_id DESC) = 1""",
        [school_id, list(alert_ids)]).fetchall()
    return {a: str(o) for a, o in rows}


def rule_overrides(con: duckdb.DuckDBPyConnection,
                   school_id: str) -> dict[str, Mapping[str, Any]]:
    """IT's current settings per rule, as the live runner applies them."""
    rows = con.execute("SELECT rule_id, settings FROM rule_settings WHERE school_id = ?",
                       [school_id]).fetchall()
    return {rule_id: orjson.loads(text) for rule_id, text in rows}
