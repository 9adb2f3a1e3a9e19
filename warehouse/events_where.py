"""Backtest SQL text: a rule's pushed-down conditions (`Predicate`s, plain data from
`pipelines.backtest_plan`) as a WHERE clause, and the memory rows the detector needs.

Every value is a bound parameter. The only text assembled here is structure: column
names checked against the events schema, operators from a fixed table, and one `?`
per value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from safeguard.events import Event
from warehouse.arrow import EVENT_SCHEMA
from warehouse.errors import WarehouseError

COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)
# events columns in the order of Event's fields, so a row is Event(*row)
EVENT_ORDER = tuple("ts" if f.name == "timestamp" else f.name for f in fields(Event))
POSITION = {name: i for i, name in enumerate(EVENT_ORDER)}
_LIST_COLUMNS = frozenset({"categories", "themes"})
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


def quoted(name: str) -> str:
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
    return f"{quoted(p.column)} IN ({_marks(p.values)})", list(p.values)


def _in_or_unknown(p: PredicateLike) -> tuple[str, list[Any]]:
    # Python reads a missing value as "unknown": `(e.location_kind or "unknown") in ...`
    return (f"coalesce(nullif({quoted(p.column)}, ''), 'unknown') IN ({_marks(p.values)})",
            list(p.values))


def _overlap(p: PredicateLike) -> tuple[str, list[Any]]:
    # an OR of list_contains: an order of magnitude faster than list_has_any at term scale
    if p.column not in _LIST_COLUMNS:
        raise WarehouseError(f"{p.column!r} is not a list column")
    col = quoted(p.column)
    return ("(" + " OR ".join(f"list_contains({col}, ?)" for _ in _need(p.values)) + ")",
            list(p.values))


def _flag(p: PredicateLike) -> tuple[str, list[Any]]:
    return f"coalesce({quoted(p.column)}, false) = ?", [bool(p.flag)]


def _not_null(p: PredicateLike) -> tuple[str, list[Any]]:
    return f"{quoted(p.column)} IS NOT NULL", []


def _registered(p: PredicateLike) -> tuple[str, list[Any]]:
    col = quoted(p.column)
    return f"({col} IS NOT NULL AND ({col} <> 'unregistered') = ?)", [bool(p.flag)]


def _other_owner(p: PredicateLike) -> tuple[str, list[Any]]:
    owner, person = quoted("asset_owner"), quoted("person_id")
    return (f"((coalesce({owner}, '') <> '' AND coalesce({person}, '') <> '' "
            f"AND {owner} <> {person}) = ?)", [bool(p.flag)])


def _domain(p: PredicateLike) -> tuple[str, list[Any]]:
    col = f"lower({quoted(p.column)})"
    parts, params = [], []
    for suffix in _need(p.values):
        parts.append(f"{col} = ? OR ends_with({col}, ?)")
        params.extend([suffix, "." + suffix])
    return "(" + " OR ".join(parts) + ")", params


def _path_suffix(p: PredicateLike) -> tuple[str, list[Any]]:
    # one regular expression (of escaped literals, bound as a parameter): the path is
    # lower-cased once per row, not once per suffix, and a row without a URL costs nothing
    col = quoted(p.column)
    pattern = "(?:" + "|".join(re.escape(v.lower()) for v in _need(p.values)) + ")$"
    return (f"({col} IS NOT NULL AND regexp_matches(lower(split_part({col}, '?', 1)), ?))",
            [pattern])


def _label_in(p: PredicateLike) -> tuple[str, list[Any]]:
    if p.column != "labels" or not p.key:
        raise WarehouseError("label_in applies to the labels column with a key")
    col = quoted("labels")
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
    categorised web requests (the `first_use` fact). Only those of a subject key up to
    its last replayed candidate are read, and a request to the same domain as the key's
    previous one is skipped (remembering it again changes nothing); see
    `warehouse.events_prune`."""

    devices: bool = False
    domains: bool = False
    remembered: int = 0  # distinct ones the detector keeps per subject (0: unknown)


DEVICE_MEMORY = ("(category = 'authentication' AND outcome = 'success' "
                 "AND coalesce(host_name, '') <> '')")
DOMAIN_MEMORY = "(category = 'web' AND coalesce(url_domain, '') <> '' AND len(categories) > 0)"


def range_sql() -> str:
    """The school and time range: three parameters."""
    return "school_id = ? AND ts >= ? AND ts < ?"


def naive(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise WarehouseError("backtest times must be timezone-aware")
    return ts.astimezone(UTC).replace(tzinfo=None)
