"""Which severe alerts are due to be sent by email or webhook, and what became of each send.

The `notifications` table (one row per alert and channel) is the memory: an alert is
sent at most once per channel however many versions it grows, a failed send is retried
with back-off until `RetryPolicy.max_attempts`, and a restarted owner carries on where
the table says. Only alerts *raised* recently (`max_age`) about recent *evidence*
(`max_event_age`) are due, so turning notifications on, or replaying old logs into a new
file, does not mail the DSL a year of history. Only the owner of the file calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from safeguard.notification import DEFAULT_RETRY, NotifiableAlert, RetryPolicy
from warehouse.sqlutil import transaction

SENT = "sent"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Due:
    alert: NotifiableAlert
    channel: str
    attempts: int  # failed tries so far


@dataclass(frozen=True, slots=True)
class Outcome:
    alert_id: str
    channel: str
    ok: bool
    error: str | None = None  # a short reason with no personal data


def _naive_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("notification times must be timezone-aware")
    return ts.astimezone(UTC).replace(tzinfo=None)


def due_notifications(con: duckdb.DuckDBPyConnection, channels: Sequence[str], *,
                      now: datetime, min_severity: int = 4,
                      max_age: timedelta = timedelta(hours=24),
                      max_event_age: timedelta = timedelta(days=7),
                      retry: RetryPolicy = DEFAULT_RETRY, limit: int = 50) -> list[Due]:
    """Sends to make now, oldest alert first: never tried, or failed and past back-off."""
    if not channels:
        return []
    at = _naive_utc(now)
    rows = con.execute(
        """SELECT a.alert_id, a.severity, a.category, a.school_id, a.raised_at, c.channel,
                  coalesce(n.attempts, 0)
           FROM alerts a
           CROSS JOIN (SELECT unnest($channels::VARCHAR[]) AS channel) c
           LEFT JOIN notifications n ON n.alert_id = a.alert_id AND n.channel = c.channel
           WHERE a.severity >= $min_severity
             AND a.raised_at >= $raised_after
             AND a.last_seen >= $seen_after
             AND (n.alert_id IS NULL
                  OR (n.status = 'failed' AND n.attempts < $max_attempts
                      AND n.updated_at + to_seconds(least($cap, $base
                          * pow(2, greatest(n.attempts - 1, 0)))) <= $now))
           ORDER BY a.raised_at, a.alert_id, c.channel
           LIMIT $limit""",
        {"channels": list(channels), "min_severity": min_severity,
         "raised_after": at - max_age, "seen_after": at - max_event_age,
         "max_attempts": retry.max_attempts, "cap": retry.cap, "base": retry.base,
         "now": at, "limit": limit}).fetchall()
    return [Due(NotifiableAlert(alert_id=r[0], severity=int(r[1]), category=r[2],
                                school_id=r[3], raised_at=r[4].replace(tzinfo=UTC)),
                channel=r[5], attempts=int(r[6])) for r in rows]


def record_outcomes(con: duckdb.DuckDBPyConnection, outcomes: Sequence[Outcome],
                    now: datetime) -> None:
    """One more attempt per outcome; a row once sent stays sent (a late duplicate result
    changes nothing). The last error is kept after a later success, for the record."""
    if not outcomes:
        return
    at = _naive_utc(now)
    with transaction(con):
        for o in outcomes:
            con.execute(
                """INSERT INTO notifications
                       (alert_id, channel, status, attempts, last_error, sent_at, updated_at)
                   VALUES ($alert_id, $channel, $status, 1, $error, $sent_at, $now)
                   ON CONFLICT (alert_id, channel) DO UPDATE SET
                       status = excluded.status, attempts = notifications.attempts + 1,
                       last_error = coalesce(excluded.last_error, notifications.last_error),
                       sent_at = excluded.sent_at, updated_at = excluded.updated_at
                   WHERE notifications.status <> 'sent'""",
                {"alert_id": o.alert_id, "channel": o.channel,
                 "status": SENT if o.ok else FAILED,
                 "error": None if o.ok else (o.error or "failed")[:300],
                 "sent_at": at if o.ok else None, "now": at})


def notification_rows(con: duckdb.DuckDBPyConnection,
                      alert_id: str | None = None) -> list[dict[str, object]]:
    """The table as records (for pages and tests), one alert's or all, oldest first."""
    cur = con.execute(
        """SELECT alert_id, channel, status, attempts, last_error, sent_at, updated_at
           FROM notifications WHERE $alert_id IS NULL OR alert_id = $alert_id
           ORDER BY updated_at, alert_id, channel""", {"alert_id": alert_id})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
