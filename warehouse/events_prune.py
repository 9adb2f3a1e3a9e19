"""Which of a backtest's candidate events to replay: a prune computed in SQL, on a few
narrow columns, before any event becomes a Python object.

Plain data in (`Prune`, from `pipelines.backtest_plan`, which decides what is safe for a
rule kind), SQL out. Rows are grouped by a *subject key*, the detector's own subject
where SQL can spell it exactly: `person_id`, else `account:` and the lower-cased account
name, for a person rule; the source IP for an IP rule. Rows it cannot spell (a person id
shaped like another key, a non-ASCII account name, a device) get NULL and are never
pruned.

- `Density`: an event at time t "ends" a dense window when [t - within, t] holds, for its
  key, at least `at_least` candidates (or distinct values) of every `Need`. A candidate is
  kept when some dense window ends in [ts, ts + within]. Any hit of a counting or chain
  rule is such a window, and all the events it could count are kept, so the live
  detector decides exactly as over every candidate (`docs/benchmarks.md` has the argument).
- `Edges`: the first and last candidate of each key and alert window (and any within a
  millisecond of a window edge); for match rules SQL evaluates exactly.
- Memory rows (sign-ins naming a device, categorised web) only matter to a key up to its
  last kept candidate (NULL keys: the last NULL-key candidate). The detector remembers
  the last `Memory.remembered` distinct devices (domains) of a subject; a key with no
  more distinct ones than that in the range never forgets one, so only each one's first
  row changes what it knows, and otherwise a row repeating the key's previous one
  changes nothing. The same first sightings bound the `new_device` / `first_use` facts a
  `Need` asks for. Rows without the rule's key (an IP rule, no source IP) never reach the
  rule and are dropped.

The candidates are read in one scan, with the columns the replay needs, and pruned on
their narrow columns before any row leaves DuckDB.

Durations and thresholds are bound parameters like every other value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from warehouse.errors import WarehouseError
from warehouse.events_where import (
    DEVICE_MEMORY,
    DOMAIN_MEMORY,
    Memory,
    PredicateLike,
    quoted,
    range_sql,
    where_of,
)

MARGIN = timedelta(milliseconds=1)  # Python compares float seconds: widen every bound


@dataclass(frozen=True, slots=True)
class Need:
    """At least `at_least` candidates matching `term` (None: any), or with `distinct`,
    that many distinct values of that column; `new_device` / `first_use`: only rows for
    which that fact can be true."""

    term: Sequence[PredicateLike] | None
    at_least: int = 1
    distinct: str | None = None
    new_device: bool = False
    first_use: bool = False


@dataclass(frozen=True, slots=True)
class Density:
    within: timedelta
    needs: tuple[Need, ...]


@dataclass(frozen=True, slots=True)
class Edges:
    window: timedelta


@dataclass(frozen=True, slots=True)
class Prune:
    """`group`: the rule's `group_by`; `keyed`: SQL's key is the detector's subject for
    that grouping (else every key is NULL and only keyless rows and memory are pruned:
    a person rule whose candidates may be incidents, which name pupils as keys too)."""

    group: str
    keyed: bool
    shape: Density | Edges | None = None

    def describe(self) -> str:
        if isinstance(self.shape, Density):
            what = f"density over {self.shape.within}"
        elif isinstance(self.shape, Edges):
            what = f"first and last per {self.shape.window} window"
        else:
            what = "memory and keyless rows"
        return f"{what} by {self.group if self.keyed else 'no'} key"


_RESERVED = ("account:", "device:", "ip:")  # the detector's keys for unresolved subjects
_HAS_KEY = {"person": "TRUE", "ip": "coalesce(source_ip, '') <> ''",
            "device": "(coalesce(host_name, '') <> '' OR coalesce(asset_tag, '') <> '')",
            "location": "coalesce(location, '') <> ''"}
# `subject_of` lower-cases an unresolved account's name. SQL's lower() agrees with
# Python's on ASCII; the one other character Python lower-cases to ASCII is the Kelvin
# sign (tests/test_backtest.py checks this), so it is folded first. Other names get no key.
_ACCOUNT = "replace(user_name, '\u212a', 'k')"


def _key(prune: Prune) -> str:
    """The subject key: the detector's own subject where SQL can spell it, else NULL."""
    if prune.keyed and prune.group == "person":
        reserved = " OR ".join(f"starts_with(person_id, '{r}')" for r in _RESERVED)
        return f"""CASE WHEN coalesce(person_id, '') <> '' THEN
                      CASE WHEN person_id <> 'unknown' AND NOT ({reserved}) THEN person_id END
                    WHEN coalesce(user_name, '') <> '' THEN
                      CASE WHEN strlen({_ACCOUNT}) = length({_ACCOUNT})
                           THEN 'account:' || lower({_ACCOUNT}) END END"""
    if prune.keyed and prune.group == "ip":
        return "nullif(source_ip, '')"
    return "NULL::VARCHAR"


def _us(d: timedelta) -> int:
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def _density(shape: Density) -> tuple[str, str, list[Any], list[Any]]:
    """(base columns, CTEs ending in keep_own, params of the columns, of the CTEs).

    Windows over every candidate are costly, so candidates are first bucketed by the
    window's span: a window ending in bucket b lies in buckets b-1 and b, so it can only
    be dense where those two buckets' counts (distinct counts: their sum bounds the
    distinct count of the union) reach every need. Rows of buckets that cannot start
    nor end one are set aside before the exact windows, which every row of any dense
    window survives."""
    cols, col_params, counts, sums, aggs, tests, params = [], [], [], [], [], [], []
    for i, need in enumerate(shape.needs):
        picked = "1"
        if need.distinct:
            cols.append(f"{quoted(need.distinct)} AS _v{i}")
            picked = f"_v{i}"
        test = [f"_new{kind}" for kind, on in (("dev", need.new_device),
                                                ("dom", need.first_use)) if on]
        if need.term is not None:
            sql, term_params = where_of([need.term])
            cols.append(f"{sql} AS _s{i}")
            col_params += term_params
            test.append(f"_s{i}")
        if test:
            picked = f"CASE WHEN {' AND '.join(test)} THEN {picked} END"
        count = f"count({'DISTINCT ' if need.distinct else ''}{picked})"
        counts.append(f"{count} AS _c{i}")
        sums.append(f"coalesce(p._c{i}, 0) + b._c{i} >= ?")
        aggs.append(f"{count} OVER w AS _n{i}")
        tests.append(f"_n{i} >= ?")
        params.append(int(need.at_least))
    span = _us(shape.within + MARGIN)
    cte = f"""bucket AS (SELECT _k, epoch_us(ts) // ? AS _b, {', '.join(counts)}
                    FROM cand GROUP BY ALL),
        ending AS (SELECT b._k, b._b FROM bucket b
                   LEFT JOIN bucket p ON p._k = b._k AND p._b = b._b - 1
                   WHERE {' AND '.join(sums)}),
        near AS (SELECT _k, _b FROM ending UNION SELECT _k, _b - 1 FROM ending),
        close AS (SELECT c.* FROM cand c SEMI JOIN near n
                  ON n._k = c._k AND n._b = epoch_us(c.ts) // ?),
        ends AS (SELECT ts, event_id, _k, ({' AND '.join(tests)}) AS _end
                 FROM (SELECT ts, event_id, _k, {', '.join(aggs)} FROM close
                       WINDOW w AS (PARTITION BY _k ORDER BY ts RANGE BETWEEN
                                    to_microseconds(?) PRECEDING AND CURRENT ROW))),
        keep_own AS (SELECT ts, event_id, _k FROM (
                 SELECT ts, event_id, _k, bool_or(_end) OVER (PARTITION BY _k ORDER BY ts
                     RANGE BETWEEN CURRENT ROW AND to_microseconds(?) FOLLOWING) AS _keep
                 FROM ends) WHERE _keep)"""  # noqa: S608 - structure only
    return (", ".join(cols), cte, col_params,
            [span, *params, span, *params, span, span])


def _edges(shape: Edges) -> tuple[str, list[Any]]:
    size, margin = _us(shape.window), _us(MARGIN)
    if size <= 2 * margin:
        raise WarehouseError("an alert window must be longer than two milliseconds")
    cte = """edges AS (SELECT min({'t': ts, 'e': event_id}) AS _a,
                             max({'t': ts, 'e': event_id}) AS _z
                      FROM cand GROUP BY _k, epoch_us(ts) // ?),
        edge_rows AS (SELECT _a.t AS ts, _a.e AS event_id FROM edges
                      UNION SELECT _z.t, _z.e FROM edges),
        keep_own AS (SELECT ts, event_id, _k FROM cand SEMI JOIN edge_rows
                     USING (ts, event_id)
                     UNION SELECT ts, event_id, _k FROM cand
                     WHERE epoch_us(ts) % ? < ? OR epoch_us(ts) % ? > ?)"""
    return cte, [size, size, margin, size, size - margin]


def _implied(term: Sequence[PredicateLike], facts: dict[str, str]) -> bool:
    """Every predicate of `term` holds for any row with these column values."""
    return all(p.op == "in" and facts.get(p.column) in p.values for p in term)


def _covered(terms: Sequence[Sequence[PredicateLike]] | None, memory: Memory) -> bool:
    """Whether every memory row is a candidate anyway (a term asks no more of a row than
    being a successful sign-in, or a web request): then no memory row needs reading."""
    needs = [f for f, on in ((_DEVICE_FACTS, memory.devices), (_DOMAIN_FACTS, memory.domains))
             if on]
    return terms is None or all(any(_implied(t, f) for t in terms) for f in needs)


_DEVICE_FACTS = {"category": "authentication", "outcome": "success"}  # of DEVICE_MEMORY
_DOMAIN_FACTS = {"category": "web"}  # of DOMAIN_MEMORY


def pruned_sql(terms: Sequence[Sequence[PredicateLike]] | None, memory: Memory,
               prune: Prune, rng: list[Any], counted: list[Any], read: Sequence[str],
               select: str) -> tuple[str, list[Any]]:
    """SQL for the rows to replay (candidates: rows matching any of `terms`), `select`ed
    (event columns, from the `read` ones) in time order, after one summary row (ts NULL)
    whose `_n_all` and `_n_in` count the candidates in all and in `counted` ([start, end)).

    One scan reads the candidates (and the memory rows of keys that have one) with the
    columns the replay needs; the prune works on their narrow columns, by hash
    aggregates where it can and windows only where it must."""
    if prune.group not in _HAS_KEY:
        raise WarehouseError(f"unknown subject grouping {prune.group!r}")
    where, params = where_of(terms)
    key, has_key = _key(prune), _HAS_KEY[prune.group]
    dev = DEVICE_MEMORY if memory.devices else "FALSE"
    dom = DOMAIN_MEMORY if memory.domains else "FALSE"
    extra, keep_own = "", "keep_own AS (SELECT ts, event_id, _k FROM cand)"
    extra_params: list[Any] = []
    keep_params: list[Any] = []
    if isinstance(prune.shape, Density):
        extra, keep_own, extra_params, keep_params = _density(prune.shape)
        extra = ", " + extra if extra else ""
    elif isinstance(prune.shape, Edges):
        keep_own, keep_params = _edges(prune.shape)
    keys, key_params, memory_rows = "", [], "FALSE"
    if not _covered(terms, memory):  # only the memory of keys with a candidate
        keys = f"""own_keys AS (SELECT DISTINCT {key} AS _k FROM events
                               WHERE {range_sql()} AND ({where}) AND {has_key}),"""  # noqa: S608
        key_params = [*rng, *params]
        memory_rows = f"""(({dev} OR {dom}) AND {has_key}
            AND ({key} IN (SELECT _k FROM own_keys WHERE _k IS NOT NULL)
                 OR ({key} IS NULL AND EXISTS (SELECT 1 FROM own_keys WHERE _k IS NULL))))"""  # noqa: S608
    columns = ", ".join(quoted(c) for c in read)
    what = {(True, True): f"CASE WHEN {dev} THEN host_name WHEN {dom} THEN url_domain END",
            (True, False): f"CASE WHEN {dev} THEN host_name END",
            (False, True): f"CASE WHEN {dom} THEN url_domain END",
            (False, False): "NULL::VARCHAR"}[(memory.devices, memory.domains)]
    # memory: each device (domain) a key remembers, its first row, and whether the key
    # has more of them than the detector remembers (then it may forget and relearn)
    sql = f"""WITH {keys} base AS MATERIALIZED (
            SELECT {columns}, {key} AS _k, {has_key} AS _has_key, ({where}) AS _own,
                   {dev} AS _mdev, {dom} AS _mdom,
                   {what} AS _what
                   {extra}
            FROM events WHERE {range_sql()} AND (({where}) OR {memory_rows})),
        firsts AS (SELECT _k, _mdev, _what, min({{'t': ts, 'e': event_id}}) AS _f
                   FROM base WHERE _has_key AND _what IS NOT NULL AND _k IS NOT NULL
                   GROUP BY ALL),
        first_rows AS (SELECT _f.t AS ts, _f.e AS event_id FROM firsts),
        many AS (SELECT _k, _mdev FROM firsts GROUP BY ALL HAVING count(*) > ?),
        memo AS (SELECT b.ts, b.event_id, b._k, b._mdev, b._what,
                        b._k IS NULL OR m._k IS NOT NULL AS _many,
                        (b.ts, b.event_id) IN (SELECT (ts, event_id) FROM first_rows) AS _first
                 FROM base b LEFT JOIN many m ON m._k = b._k AND m._mdev = b._mdev
                 WHERE b._has_key AND b._what IS NOT NULL),
        cand AS (SELECT b.*, b._mdev AND (m._k IS NOT NULL OR _first) AS _newdev,
                        b._mdom AND (m._k IS NOT NULL OR _first) AS _newdom
                 FROM (SELECT *, (ts, event_id) IN (SELECT (ts, event_id) FROM first_rows)
                              AS _first FROM base
                       WHERE _own AND _has_key AND _k IS NOT NULL) b
                 LEFT JOIN many m ON m._k = b._k AND m._mdev = b._mdev),
        {keep_own},
        reach AS (SELECT _k, max(ts) AS _until FROM keep_own GROUP BY _k),
        loose AS (SELECT max(ts) AS _until FROM base WHERE _own AND _has_key AND _k IS NULL),
        remembered AS (SELECT m.* FROM memo m LEFT JOIN reach r ON m._k = r._k
                       WHERE m.ts <= CASE WHEN m._k IS NULL THEN (SELECT _until FROM loose)
                                          ELSE r._until END),
        kept AS (SELECT ts, event_id FROM keep_own
                 UNION SELECT ts, event_id FROM base WHERE _own AND _has_key AND _k IS NULL
                 UNION SELECT ts, event_id FROM remembered WHERE NOT _many AND _first
                 UNION SELECT ts, event_id FROM (
                     SELECT ts, event_id, _k, _what, lag(_what) OVER (
                         PARTITION BY _k, _mdev ORDER BY ts, event_id) AS _before
                     FROM remembered WHERE _many)
                   WHERE _k IS NULL OR _before IS DISTINCT FROM _what)
        SELECT {select}, NULL::BIGINT AS _n_all, NULL::BIGINT AS _n_in
        FROM base SEMI JOIN kept USING (ts, event_id)
        UNION ALL BY NAME
        SELECT NULL AS ts, count(*) FILTER (WHERE _own) AS _n_all,
               count(*) FILTER (WHERE _own AND ts >= ? AND ts < ?) AS _n_in FROM base
        ORDER BY ts NULLS FIRST, event_id"""  # noqa: S608 - structure only
    return sql, [*key_params, *params, *extra_params, *rng, *params, int(memory.remembered),
                 *keep_params, *counted]
