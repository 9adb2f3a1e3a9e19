"""Appending people's records (audit entries, filtering reviews, block/allow changes).

Each kind has its own id, made where the person acted, so `ON CONFLICT DO NOTHING`
turns a re-delivered or re-drained record into a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from safeguard.audit import AuditEntry
from safeguard.review import FilterChange, FilterReview
from warehouse.sqlutil import registered

PeopleRecord = AuditEntry | FilterReview | FilterChange


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None)


def _audit_row(r: AuditEntry) -> dict[str, Any]:
    return {**r.to_dict(), "logged_at": _utc(r.logged_at)}


def _review_row(r: FilterReview) -> dict[str, Any]:
    return {"review_id": r.review_id, "school_id": r.school_id, "review_date": r.review_date,
            "roles": orjson.dumps(dict(r.roles)).decode(),
            "attendees": orjson.dumps(list(r.attendees)).decode(),
            "decisions": orjson.dumps(list(r.decisions)).decode(),
            "next_review": r.next_review, "recorded_by": r.recorded_by,
            "recorded_at": _utc(r.recorded_at)}


def _change_row(r: FilterChange) -> dict[str, Any]:
    return {**r.to_dict(), "changed_at": _utc(r.changed_at), "recorded_at": _utc(r.recorded_at)}


def _row(r: PeopleRecord) -> dict[str, Any]:
    if isinstance(r, AuditEntry):
        return _audit_row(r)
    if isinstance(r, FilterReview):
        return _review_row(r)
    return _change_row(r)


_TABLES = (("audit_log", AuditEntry), ("filter_reviews", FilterReview),
           ("filter_changes", FilterChange))


def insert_records(con: duckdb.DuckDBPyConnection, records: Sequence[PeopleRecord]) -> int:
    """Append every record to its table (inside the caller's transaction)."""
    added = 0
    for table, kind in _TABLES:
        rows = [_row(r) for r in records if isinstance(r, kind)]
        if not rows:
            continue
        with registered(con, "_records", pa.Table.from_pylist(rows)):
            row = con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _records "  # noqa: S608
                              "ON CONFLICT DO NOTHING").fetchone()  # table: fixed names above
        added += int(row[0]) if row else 0
    return added
