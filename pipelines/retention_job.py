"""Retention as a job of the warehouse's owner: on demand (`safeguard retention`) and daily.

Only the owner of the write connection deletes (the sink, the embedded follower, or the
command when nobody holds the file). After a run the readers' event archive re-exports
the days the deletions reached and a snapshot is published, so the dashboard stops
showing what was deleted; every run is logged in `retention_runs` and in the log (counts
per table, never rows).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from warehouse.archive import current_files
from warehouse.retention import (
    RetentionPolicy,
    RetentionResult,
    last_retention_run,
    retention_due,
    run_retention,
)
from warehouse.writer import Warehouse

log = logging.getLogger(__name__)
EVENT_KEYS = ("web_events", "other_events", "incidents")
CHECK_EVERY = 3600.0  # seconds between looks at whether the daily run is due


def apply_retention(wh: Warehouse, policy: RetentionPolicy, now: datetime,
                    ran_by: str) -> list[RetentionResult]:
    """Run the policy now, refresh what readers see, and log the counts."""
    results = run_retention(wh.con, policy, now, ran_by)
    cutoffs = [c for k, c in policy.cutoffs(now).items() if k in EVENT_KEYS and c is not None]
    if cutoffs:
        newest = max(cutoffs).astimezone(UTC).date()
        archived = {date.fromisoformat(f.name[:10]) for f in current_files(wh.path)}
        wh.mark_days({d for d in archived if d <= newest})
    wh.publish(force=True)
    for r in results:
        log.info("retention %s: %s deleted %d rows older than %s", r.run_id, r.table_name,
                 r.deleted, r.cutoff.isoformat())
    return results


@dataclass
class RetentionSchedule:
    """Called from the owner's loop; runs the policy once a day."""

    policy: RetentionPolicy
    _next_check: float = field(default=0.0, init=False)

    def run_if_due(self, wh: Warehouse, now: datetime | None = None) -> list[RetentionResult]:
        clock = time.monotonic()
        if clock < self._next_check:
            return []
        self._next_check = clock + CHECK_EVERY
        at = now or datetime.now(UTC)
        if not retention_due(last_retention_run(wh.con), at):
            return []
        return apply_retention(wh, self.policy, at, "scheduler")
