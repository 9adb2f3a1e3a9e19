"""The DfE filtering and monitoring standards' records, read back: annual reviews and the
block/allow change log, as the frozen records `safeguard.review` defines.

Times are stored as naive UTC (see `warehouse.records`) and come back timezone-aware.
Every value is bound as a parameter; the statements are fixed text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import duckdb
import orjson

from safeguard.review import FilterChange, FilterReview

_REVIEW_COLUMNS = ("review_id, school_id, review_date, roles, attendees, decisions, "
                   "recorded_by, recorded_at, next_review")
_CHANGE_COLUMNS = ("change_id, school_id, changed_at, change, target, reason, recorded_by, "
                   "requested_by, approved_by, recorded_at")


def _aware(ts: datetime) -> datetime:
    """A stored naive-UTC instant as an aware one."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _naive(ts: datetime) -> datetime:
    """A bound for a naive-UTC column: aware instants are converted, naive ones are UTC."""
    return ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def _review(row: tuple[Any, ...]) -> FilterReview:
    rid, sid, review_date, roles, attendees, decisions, by, at, nxt = row
    return FilterReview(str(rid), str(sid), review_date,
                        {str(k): str(v) for k, v in dict(orjson.loads(roles)).items()},
                        tuple(str(a) for a in orjson.loads(attendees)),
                        tuple(str(d) for d in orjson.loads(decisions)), str(by),
                        _aware(at), nxt)


def _change(row: tuple[Any, ...]) -> FilterChange:
    cid, sid, changed_at, change, target, reason, by, requested, approved, at = row
    return FilterChange(str(cid), str(sid), _aware(changed_at), str(change), str(target),
                        str(reason), str(by), requested, approved, _aware(at))


def filter_reviews(con: duckdb.DuckDBPyConnection, school_id: str, *,
                   on_or_before: date | None = None) -> list[FilterReview]:
    """The school's annual reviews, newest first (by review date, then when recorded);
    with `on_or_before`, only those held on or before that date."""
    rows = con.execute(
        f"""SELECT {_REVIEW_COLUMNS} FROM filter_reviews
            WHERE school_id = $school AND ($until IS NULL OR review_date <= $until)
            ORDER BY review_date DESC, recorded_at DESC, review_id""",  # noqa: S608 - fixed
        {"school": school_id, "until": on_or_before}).fetchall()
    return [_review(r) for r in rows]


def latest_review(con: duckdb.DuckDBPyConnection, school_id: str, *,
                  on_or_before: date | None = None) -> FilterReview | None:
    """The most recent annual review (see `filter_reviews`), or None when there is none."""
    rows = con.execute(
        f"""SELECT {_REVIEW_COLUMNS} FROM filter_reviews
            WHERE school_id = $school AND ($until IS NULL OR review_date <= $until)
            ORDER BY review_date DESC, recorded_at DESC, review_id
            LIMIT 1""",  # noqa: S608 - fixed column list
        {"school": school_id, "until": on_or_before}).fetchall()
    return _review(rows[0]) if rows else None


def filter_changes(con: duckdb.DuckDBPyConnection, school_id: str,
                   since: datetime | None = None,
                   until: datetime | None = None) -> list[FilterChange]:
    """Block/allow changes made in `[since, until)` (either end open when None), in the
    order they were made (ties: when recorded, then id)."""
    rows = con.execute(
        f"""SELECT {_CHANGE_COLUMNS} FROM filter_changes
            WHERE school_id = $school
              AND ($since IS NULL OR changed_at >= $since)
              AND ($until IS NULL OR changed_at < $until)
            ORDER BY changed_at, recorded_at, change_id""",  # noqa: S608 - fixed column list
        {"school": school_id, "since": _naive(since) if since else None,
         "until": _naive(until) if until else None}).fetchall()
    return [_change(r) for r in rows]
