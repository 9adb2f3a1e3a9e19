"""The detector: rules over enriched events, hits grouped into versioned alerts.

State is one dict per subject (`state[subject]`), so the same code runs on a plain
dict in the embedded runner and on a Faust table partitioned by subject in workers;
the caller must write the dict back (`state[subject] = ...`, done here) so a
changelog-backed table records it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from safeguard.alerts import MAX_EVIDENCE, Alert, alert_id_for
from safeguard.enrichment import subject_of
from safeguard.events import Event
from safeguard.policy import Profile
from safeguard.rules import Hit, Rule

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# how long a closed window's accumulator is kept, for late events, before it is pruned
WINDOW_GRACE = timedelta(hours=1)


def window_of(ts: datetime, window: timedelta) -> tuple[datetime, datetime]:
    """The fixed, epoch-aligned window holding `ts` (same answer on every worker)."""
    size = window.total_seconds()
    start = _EPOCH + timedelta(seconds=((ts - _EPOCH).total_seconds() // size) * size)
    return start, start + window


class Detector:
    """Runs a profile's enabled rules over events and keeps per-subject alert state."""

    def __init__(self, profile: Profile, school_id: str) -> None:
        self.profile = profile
        self.school_id = school_id
        self.rules: tuple[Rule, ...] = tuple(r for r in profile.rules if r.enabled)

    def process(self, event: Event, state: MutableMapping[str, Any]) -> list[Alert]:
        """Alert versions this event creates or updates (usually none)."""
        subject, kind = subject_of(event)
        subject_state: dict[str, Any] = dict(state.get(subject) or {})
        rule_state: dict[str, Any] = subject_state.setdefault("rules", {})
        alerts_state: dict[str, Any] = subject_state.setdefault("alerts", {})
        out: list[Alert] = []
        for rule in self.rules:
            own = rule_state.setdefault(rule.id, {})
            for hit in rule.evaluate(event, subject, kind, own):
                alert = self._accumulate(hit, alerts_state)
                if alert is not None:
                    out.append(alert)
            if not own:
                del rule_state[rule.id]
        self._prune(alerts_state, event.timestamp)
        state[subject] = subject_state
        return out

    def _accumulate(self, hit: Hit, alerts_state: dict[str, Any]) -> Alert | None:
        rule, ev = hit.rule, hit.event
        start, end = window_of(ev.timestamp, rule.window)
        aid = alert_id_for(self.school_id, rule.id, hit.subject, start)
        acc = alerts_state.get(aid)
        if acc is None:
            acc = {"version": 0, "first": ev.timestamp.isoformat(),
                   "last": ev.timestamp.isoformat(), "count": 0, "score": 0.0,
                   "evidence": [], "end": end.isoformat()}
        elif ev.event_id in acc["evidence"]:
            return None  # a re-delivered event: nothing new to say
        acc["version"] += 1
        acc["count"] += 1
        acc["score"] += hit.score
        acc["first"] = min(acc["first"], ev.timestamp.isoformat())
        acc["last"] = max(acc["last"], ev.timestamp.isoformat())
        if len(acc["evidence"]) < MAX_EVIDENCE:
            acc["evidence"].append(ev.event_id)
        alerts_state[aid] = acc
        return Alert(
            alert_id=aid, version=acc["version"], school_id=self.school_id,
            profile_id=self.profile.id, rule_id=rule.id, title=rule.title,
            clause_ids=rule.clause_ids, severity=rule.severity, category=rule.category,
            routing=rule.route, subject=hit.subject, subject_kind=hit.subject_kind,
            score=round(acc["score"], 3),
            first_seen=datetime.fromisoformat(acc["first"]),
            last_seen=datetime.fromisoformat(acc["last"]),
            window_start=start, window_end=end, event_count=acc["count"],
            evidence_event_ids=tuple(acc["evidence"]),
        )

    @staticmethod
    def _prune(alerts_state: dict[str, Any], now: datetime) -> None:
        cutoff = (now - WINDOW_GRACE).isoformat()
        for aid in [a for a, acc in alerts_state.items() if acc["end"] < cutoff]:
            del alerts_state[aid]


def latest_versions(alerts: list[Alert]) -> Mapping[str, Alert]:
    """The newest version of each alert id, as a sink would keep it."""
    newest: dict[str, Alert] = {}
    for a in alerts:
        if a.alert_id not in newest or a.version > newest[a.alert_id].version:
            newest[a.alert_id] = a
    return newest
