"""Backtest reads: stored events back as `Event`s, a rule's stored alerts, DSL outcomes.

Every value is a bound parameter. The only text assembled here is structure: column
names checked against the events schema, operators from a fixed table, and one `?`
per value. A prefilter arrives as plain data (`Predicate`s, see `pipelines.backtest`)
so this module owns all SQL and the pipeline owns what may safely be pushed down.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb
import orjson
import pyarrow as pa

from safeguard.events import Event
from warehouse.arrow import EVENT_SCHEMA
from warehouse.errors import WarehouseError

COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)
# events columns in the order of Event's fields, so a row is Event(*row)
_EVENT_ORDER = tuple("ts" if f.name == "timestamp" else f.name for f in fields(Event))
_POSITION = {name: i for i, name in enumerate(_EVENT_ORDER)}
_LIST_COLUMNS = frozenset({"categories", "themes"})
_FETCH = 20_000
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:@/~ -]+")


class PredicateLike(Protocol):
    """One pushed-down condition: `op` on `column` with `values`, `flag` or a label `key`."""

    @property
    def op(self) -> str: ...
    @property
    def column(self) -> str: ...
    @property
    def values(self) -> tuple[str, ...]: ...
    @property
    def flag(self) -> bool | None: ...
    @property
    def key(self) -> str | None: ...


def _col(name: str) -> str:
    if name not in COLUMNS:
        raise WarehouseError(f"not a column of events: {name!r}")
    return f'"{name}"'


def _need(values: Sequence[Any]) -> Sequence[Any]:
    if not values:
        raise WarehouseError("a pushed-down condition needs at least one value")
    return values


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in _need(values))


def _in(p: PredicateLike) -> tuple[str, list[Any]]:
    return f"{_col(p.column)} IN ({_marks(p.values)})", list(p.values)


def _in_or_unknown(p: PredicateLike) -> tuple[str, list[Any]]:
    # Python reads a missing value as "unknown": `(e.location_kind or "unknown") in ...`
    return (f"coalesce(nullif({_col(p.column)}, ''), 'unknown') IN ({_marks(p.values)})",
            list(p.values))


def _overlap(p: PredicateLike) -> tuple[str, list[Any]]:
    # an OR of list_contains: an order of magnitude faster than list_has_any at term scale
    if p.column not in _LIST_COLUMNS:
        raise WarehouseError(f"{p.column!r} is not a list column")
    col = _col(p.column)
    return ("(" + " OR ".join(f"list_contains({col}, ?)" for _ in _need(p.values)) + ")",
            list(p.values))


def _flag(p: PredicateLike) -> tuple[str, list[Any]]:
    return f"coalesce({_col(p.column)}, false) = ?", [bool(p.flag)]


def _not_null(p: PredicateLike) -> tuple[str, list[Any]]:
    return f"{_col(p.column)} IS NOT NULL", []


def _registered(p: PredicateLike) -> tuple[str, list[Any]]:
    col = _col(p.column)
    return f"({col} IS NOT NULL AND ({col} <> 'unregistered') = ?)", [bool(p.flag)]


def _other_owner(p: PredicateLike) -> tuple[str, list[Any]]:
    owner, person = _col("asset_owner"), _col("person_id")
    return (f"((coalesce({owner}, '') <> '' AND coalesce({person}, '') <> '' "
            f"AND {owner} <> {person}) = ?)", [bool(p.flag)])


def _domain(p: PredicateLike) -> tuple[str, list[Any]]:
    col = f"lower({_col(p.column)})"
    parts, params = [], []
    for suffix in _need(p.values):
        parts.append(f"{col} = ? OR ends_with({col}, ?)")
        params.extend([suffix, "." + suffix])
    return "(" + " OR ".join(parts) + ")", params


def _path_suffix(p: PredicateLike) -> tuple[str, list[Any]]:
    path = f"lower(split_part(coalesce({_col(p.column)}, ''), '?', 1))"
    return ("(" + " OR ".join(f"ends_with({path}, ?)" for _ in _need(p.values)) + ")",
            [v.lower() for v in p.values])


def _label_in(p: PredicateLike) -> tuple[str, list[Any]]:
    if p.column != "labels" or not p.key:
        raise WarehouseError("label_in applies to the labels column with a key")
    col = _col("labels")
    pointer = "/" + p.key.replace("~", "~0").replace("/", "~1")  # JSON Pointer: no path syntax
    sql = f"json_extract_string({col}, ?) IN ({_marks(p.values)})"
    params: list[Any] = [pointer, *p.values]
    if _PLAIN_KEY.fullmatch(p.key):  # every JSON writer spells such a key the same way:
        sql = f"(contains({col}, ?) AND {sql})"  # a substring test skips parsing most rows
        params = [f'"{p.key}"', *params]
    return sql, params


_OPS: dict[str, Callable[[PredicateLike], tuple[str, list[Any]]]] = {
    "in": _in, "in_or_unknown": _in_or_unknown, "overlap": _overlap, "flag": _flag,
    "not_null": _not_null, "registered": _registered, "other_owner": _other_owner,
    "domain": _domain, "path_suffix": _path_suffix, "label_in": _label_in,
}


def where_of(terms: Sequence[Sequence[PredicateLike]] | None) -> tuple[str, list[Any]]:
    """An OR of ANDs of predicates as SQL; None (nothing safe to push down) is TRUE."""
    if terms is None:
        return "TRUE", []
    if not terms:
        return "FALSE", []
    ors, params = [], []
    for term in terms:
        ands = []
        for p in term:
            render = _OPS.get(p.op)
            if render is None:
                raise WarehouseError(f"unknown prefilter operator {p.op!r}")
            sql, values = render(p)
            ands.append(sql)
            params.extend(values)
        ors.append("(" + (" AND ".join(ands) or "TRUE") + ")")
    return "(" + " OR ".join(ors) + ")", params


@dataclass(frozen=True, slots=True)
class Memory:
    """Events the detector's per-subject memory needs beyond the rule's own conditions.

    `devices`: successful sign-ins naming a device (the `new_device` fact). `domains`:
    categorised web requests (the `first_use` fact); with `domains_by_person`, only those
    of people the rule could alert on, up to their last candidate event, and a request
    to the same domain as that person's previous one is skipped (remembering it again
    changes nothing). Unresolved subjects' requests are always kept whole."""

    devices: bool = False
    domains: bool = False
    domains_by_person: bool = False


_DEVICE_MEMORY = ("(category = 'authentication' AND outcome = 'success' "
                  "AND coalesce(host_name, '') <> '')")
_DOMAIN_MEMORY = "(category = 'web' AND coalesce(url_domain, '') <> '' AND len(categories) > 0)"


def _range() -> str:
    """The school and time range: three parameters."""
    return "school_id = ? AND ts >= ? AND ts < ?"


def _naive(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise WarehouseError("backtest times must be timezone-aware")
    return ts.astimezone(UTC).replace(tzinfo=None)


def _picked(terms: Sequence[Sequence[PredicateLike]] | None, memory: Memory,
            rng: list[Any]) -> tuple[str, list[Any]]:
    """SQL for the rowids to replay, reading only the columns the filter tests."""
    where, params = where_of(terms)
    extra = [_DEVICE_MEMORY] if memory.devices else []
    if memory.domains and not memory.domains_by_person:
        extra.append(_DOMAIN_MEMORY)
    own = " OR ".join([where, *extra])
    if not (memory.domains and memory.domains_by_person):
        return (f"SELECT rowid FROM events WHERE {_range()} AND ({own})",  # noqa: S608 - structure only
                [*rng, *params])
    # memory rows in their own partition per person: a repeat of the previous domain goes
    sql = f"""WITH reach AS (SELECT person_id, max(ts) AS until FROM events
                             WHERE {_range()} AND ({own}) AND coalesce(person_id, '') <> ''
                             GROUP BY person_id),
        rows AS (SELECT events.rowid AS r, person_id, ts, event_id, url_domain,
                        ({own}) AS is_own, {_DOMAIN_MEMORY} AS is_memory,
                        coalesce(person_id, '') = '' AS unresolved
                 FROM events LEFT JOIN reach USING (person_id)
                 WHERE {_range()} AND (({own}) OR ({_DOMAIN_MEMORY} AND (
                       coalesce(person_id, '') = '' OR ts <= reach.until))))
        SELECT r FROM (SELECT *, lag(url_domain) OVER (PARTITION BY person_id, is_memory
                                                       ORDER BY ts, event_id) AS before
                       FROM rows)
        WHERE is_own OR unresolved OR before IS DISTINCT FROM url_domain"""  # noqa: S608 - structure only
    return sql, [*rng, *params, *params, *rng, *params]


def _query(terms: Sequence[Sequence[PredicateLike]] | None, memory: Memory, cols: str,
           rng: list[Any]) -> tuple[str, list[Any]]:
    """Pick rowids on the filter's columns, then read whole rows for those alone (a
    filter over several columns is not pushed into DuckDB's scan: read directly, every
    column of every row in the range would be decoded)."""
    picked, params = _picked(terms, memory, rng)
    return (f"SELECT {cols} FROM events WHERE rowid IN ({picked}) "  # noqa: S608 - structure only
            "ORDER BY ts, event_id", params)


def _events(batch: pa.RecordBatch) -> list[Event]:
    """A batch of rows (columns in `Event` field order) as Events, column by column:
    twice as fast as a dict per row at term scale."""
    cols = [c.to_pylist() for c in batch.columns]
    at = _POSITION
    cols[at["ts"]] = [t.replace(tzinfo=UTC) for t in cols[at["ts"]]]  # stored naive UTC
    for name in ("categories", "themes"):
        cols[at[name]] = [tuple(v) if v else () for v in cols[at[name]]]
    cols[at["labels"]] = [orjson.loads(v) if v else {} for v in cols[at["labels"]]]
    for name, default in (("type", "info"), ("outcome", "unknown")):  # the Event defaults
        cols[at[name]] = [default if v is None else v for v in cols[at[name]]]
    return list(map(Event, *cols))


def load_events(con: duckdb.DuckDBPyConnection, school_id: str, start: datetime,
                end: datetime, terms: Sequence[Sequence[PredicateLike]] | None,
                memory: Memory | None = None, *, with_raw: bool = False) -> Iterator[Event]:
    """Events of [start, end) matching any term (or needed by `memory`), by time.

    `raw` (the evidence text, often a kilobyte of JSON) is read only on request: no
    rule looks at it, and at term scale it is most of the bytes a backtest would read."""
    rng = [school_id, _naive(start), _naive(end)]
    cols = ", ".join("'' AS raw" if c == "raw" and not with_raw else _col(c)
                     for c in _EVENT_ORDER)
    sql, params = _query(terms, memory or Memory(), cols, rng)
    for batch in con.sql(sql, params=params).to_arrow_reader(_FETCH):
        yield from _events(batch)


@dataclass(frozen=True, slots=True)
class RangeTotals:
    events: int
    school_days: int
    watermark: datetime | None


def range_totals(con: duckdb.DuckDBPyConnection, school_id: str, start: datetime,
                 end: datetime) -> RangeTotals:
    """Events in the range, the days with school-hours activity, and the school's newest
    event anywhere (the watermark: live, no deadline after it can have been judged)."""
    rows = con.execute(
        f"""SELECT count(*), count(DISTINCT ts::DATE) FILTER (WHERE school_hours),
                   (SELECT max(ts) FROM events WHERE school_id = ?)
            FROM events WHERE {_range()}""",  # noqa: S608 - fixed text
        [school_id, school_id, _naive(start), _naive(end)]).fetchall()
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
        [school_id, rule_id, _naive(start), _naive(end)]).fetchall()
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
