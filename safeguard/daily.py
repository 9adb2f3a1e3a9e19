"""Events the directory itself implies, once per school day of event time.

Some breaches have no event of their own: a leaver's laptop that was never handed back
is a fact of the asset register and the leave date. On the first event of each local
school day the pipeline derives one `iam` event per such fact, with an id and a time
stable per (person, asset, day), so every worker that derives it produces the same event.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

from safeguard.directory import Directory
from safeguard.events import Event, stable_event_id

DATASET = "safeguard.directory"


class DailyFacts:
    """Remembers which local days it has seen; yields the day's derived events once."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.seen: set[date] = set()

    def events_for(self, ts: datetime) -> list[Event]:
        day = self.directory.school.local(ts).date()
        if day in self.seen:
            return []
        self.seen.add(day)
        school_id = self.directory.school.id
        # dated at the day's local midnight, not at whichever event came first: every
        # worker (and a restarted one) must derive the very same event, or the sink, which
        # dedupes an event id within its time range, stores it again at another time
        at = datetime.combine(day, time(0), self.directory.school.tz).astimezone(UTC)
        out = []
        for person, asset in self.directory.leavers_holding_assets(day):
            raw = json.dumps({"fact": "asset-held-after-leave", "day": day.isoformat(),
                              "person_id": person.person_id, "asset_tag": asset.asset_tag,
                              "leave_date": str(person.leave_date)}, sort_keys=True)
            out.append(Event(
                timestamp=at, event_id=stable_event_id(school_id, DATASET, raw),
                category="iam", type="info", action="asset-held-after-leave",
                outcome="unknown", dataset=DATASET, school_id=school_id, raw=raw,
                person_id=person.person_id, person_role=person.role,
                user_name=person.accounts[0] if person.accounts else None,
                host_name=asset.device_id or None, asset_tag=asset.asset_tag,
                labels={"leave_date": str(person.leave_date)}))
        return out
