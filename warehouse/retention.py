"""Retention: how long each kind of record is kept, and the deletions, logged.

A school sets periods in a `retention:` mapping (school.yaml); missing keys keep their
defaults: raw filter events are short-lived, sign-in and device events kept a year, and
safeguarding records (alerts, their triage steps, incident reports) 25 years, because UK
guidance keeps child-protection files until the pupil is 25 and a record cannot know the
pupil's birthday. A period is `<n>d`, `<n>w`, `<n>y` (calendar years), a number of days,
or `forever`. Safeguarding records may not be set below a year: a typo such as `25d` for
`25y` must not destroy them.

`run_retention` deletes everything older than each cutoff in one transaction and writes
one `retention_runs` row per table. Events cited as evidence by an alert that is kept
are never deleted, whatever their own period; triage steps go only with their alert; the
latest directory snapshot of each school is always kept. Running it again deletes
nothing more, so a retried or doubled scheduled run is harmless.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from safeguard.errors import ConfigError
from warehouse.sqlutil import transaction

DEFAULTS: Mapping[str, str] = {
    "web_events": "90d",          # filter logs: the volume, and the least sensitive to lose
    "other_events": "365d",       # sign-in, session, directory and device events
    "incidents": "25y",           # events of category 'incident' (reports about pupils)
    "alerts": "25y",
    "alert_actions": "25y",       # triage steps; also kept while their alert is
    "dead_letters": "90d",
    "ingest_batches": "400d",
    "dq_results": "400d",
    "audit_log": "7y",
    "directory_snapshots": "7y",  # with their people rows; the latest is always kept
}
SAFEGUARDING = frozenset({"alerts", "alert_actions", "incidents"})
SAFEGUARDING_MINIMUM = timedelta(days=365)
_PERIOD = re.compile(r"^\s*(\d+)\s*([dwy])\s*$")
_FOREVER = frozenset({"forever", "never", "keep"})

# One fixed statement per policy key, in the order they run: alerts first, so evidence
# and triage steps of alerts deleted in this run may go in the same run.
_DELETES: tuple[tuple[str, str], ...] = (
    ("alerts", """DELETE FROM alerts WHERE last_seen < $cutoff
        AND coalesce(raised_at, last_seen) < $cutoff
        AND NOT EXISTS (SELECT 1 FROM alert_actions x
                        WHERE x.alert_id = alerts.alert_id AND x.acted_at >= $cutoff)"""),
    ("alert_actions", """DELETE FROM alert_actions WHERE acted_at < $cutoff
        AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.alert_id = alert_actions.alert_id)"""),
    # events cited as evidence by an alert that still exists stay, whatever their age
    ("incidents", """DELETE FROM events WHERE ts < $cutoff AND category = 'incident'
        AND event_id NOT IN (SELECT e FROM (SELECT unnest(evidence_event_ids) AS e
                                            FROM alerts) WHERE e IS NOT NULL)"""),
    ("web_events", """DELETE FROM events WHERE ts < $cutoff AND category = 'web'
        AND event_id NOT IN (SELECT e FROM (SELECT unnest(evidence_event_ids) AS e
                                            FROM alerts) WHERE e IS NOT NULL)"""),
    ("other_events", """DELETE FROM events WHERE ts < $cutoff
        AND category NOT IN ('web', 'incident')
        AND event_id NOT IN (SELECT e FROM (SELECT unnest(evidence_event_ids) AS e
                                            FROM alerts) WHERE e IS NOT NULL)"""),
    ("dead_letters", "DELETE FROM dead_letters WHERE received_at < $cutoff"),
    ("ingest_batches", "DELETE FROM ingest_batches WHERE received_at < $cutoff"),
    ("dq_results", "DELETE FROM dq_results WHERE checked_at < $cutoff"),
    ("audit_log", "DELETE FROM audit_log WHERE logged_at < $cutoff"),
    ("directory_snapshots", """DELETE FROM directory_snapshots WHERE taken_at < $cutoff
        AND snapshot_id NOT IN (SELECT arg_max(snapshot_id, taken_at)
                                FROM directory_snapshots GROUP BY school_id)"""),
)
_ORPHAN_PEOPLE = """DELETE FROM directory_people WHERE snapshot_id NOT IN
    (SELECT snapshot_id FROM directory_snapshots)"""


@dataclass(frozen=True)
class Period:
    """`amount` days, weeks or calendar years."""

    amount: int
    unit: str

    def before(self, now: datetime) -> datetime:
        """The cutoff: records older than this go."""
        if self.unit == "y":
            year = now.year - self.amount
            try:
                return now.replace(year=year)
            except ValueError:  # 29 February in a year without one
                return now.replace(year=year, day=28)
        return now - timedelta(days=self.amount * (7 if self.unit == "w" else 1))

    @property
    def approx(self) -> timedelta:
        return timedelta(days=self.amount * {"d": 1, "w": 7, "y": 365}[self.unit])

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_period(value: Any, key: str, source: str = "school.yaml",
                 line: int | None = None) -> Period | None:
    """A period from YAML (`90d`, `12w`, `7y`, a number of days, `forever` -> None)."""
    def bad(message: str) -> ConfigError:
        return ConfigError(message, source=source, line=line, field=f"retention.{key}")

    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad(f"expected a period like 90d, 12w, 7y or forever, got {value!r}")
    text = f"{value}d" if isinstance(value, int) else value
    if text.strip().lower() in _FOREVER:
        return None
    m = _PERIOD.match(text.lower())
    if not m:
        raise bad(f"expected a period like 90d, 12w, 7y or forever, got {value!r}")
    period = Period(int(m[1]), m[2])
    if period.amount < 1:
        raise bad("a period must be at least 1 (0 would delete everything)")
    if key in SAFEGUARDING and period.approx < SAFEGUARDING_MINIMUM:
        raise bad("safeguarding records are kept at least a year (UK guidance: until the "
                  f"pupil is 25), got {value!r}")
    return period


@dataclass(frozen=True)
class RetentionPolicy:
    """The period of every policy key (None: kept forever)."""

    periods: Mapping[str, Period | None]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None = None,
                     source: str = "school.yaml") -> RetentionPolicy:
        """Defaults overridden by `mapping` (e.g. school.yaml's `retention:`); an unknown
        key is an error, since a misspelt one would silently keep the default."""
        given = dict(mapping or {})
        line_of = getattr(mapping, "line_of", None)
        for key in given:
            if key not in DEFAULTS:
                raise ConfigError(f"unknown retention key (known: {', '.join(DEFAULTS)})",
                                  source=source, field=f"retention.{key}",
                                  line=line_of(key) if line_of else None)
        periods = {}
        for key, default in DEFAULTS.items():
            value = given.get(key, default)
            periods[key] = parse_period(value, key, source,
                                        line_of(key) if line_of and key in given else None)
        return cls(periods=periods)

    def cutoffs(self, now: datetime) -> dict[str, datetime | None]:
        return {k: p.before(now) if p else None for k, p in self.periods.items()}

    def to_dict(self) -> dict[str, str]:
        return {k: str(p) if p else "forever" for k, p in self.periods.items()}


@dataclass(frozen=True)
class RetentionResult:
    run_id: str
    table_name: str
    cutoff: datetime
    deleted: int


def _naive_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("retention times must be timezone-aware")
    return ts.astimezone(UTC).replace(tzinfo=None)


def run_retention(con: duckdb.DuckDBPyConnection, policy: RetentionPolicy, now: datetime,
                  ran_by: str) -> list[RetentionResult]:
    """Delete what the policy no longer keeps, in one transaction, logging each table."""
    stamp = _naive_utc(now)
    run_id = f"{stamp:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    cutoffs = policy.cutoffs(now)
    results: list[RetentionResult] = []
    with transaction(con):
        for key, sql in _DELETES:
            cutoff = cutoffs[key]
            if cutoff is None:
                continue
            rows = con.execute(sql, {"cutoff": _naive_utc(cutoff)}).fetchall()
            results.append(RetentionResult(run_id, key, cutoff, int(rows[0][0]) if rows else 0))
            if key == "directory_snapshots":
                rows = con.execute(_ORPHAN_PEOPLE).fetchall()
                results.append(RetentionResult(run_id, "directory_people", cutoff,
                                               int(rows[0][0]) if rows else 0))
        if results:
            con.executemany("INSERT INTO retention_runs VALUES (?, ?, ?, ?, ?, ?)",
                            [[r.run_id, r.table_name, _naive_utc(r.cutoff), r.deleted, stamp,
                              ran_by] for r in results])
    return results


def last_retention_run(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When retention last ran (aware UTC), for the scheduler."""
    rows = con.execute("SELECT max(ran_at) FROM retention_runs").fetchall()
    last = rows[0][0] if rows else None
    return last.replace(tzinfo=UTC) if last is not None else None


def retention_due(last_run: datetime | None, now: datetime,
                  every: timedelta = timedelta(days=1)) -> bool:
    """Whether a scheduled run is due: never ran, or `every` has passed since it last did."""
    return last_run is None or now - last_run >= every
