"""The detector: rules over enriched events, hits grouped into versioned alerts.

State is one JSON-able dict per subject key (`state[key]`), so the same code runs on
a plain dict in the embedded runner and on a Faust table partitioned by that key in
workers. An event fans out to the keys its rules group by (`keys_of`): its person (or
unresolved account/device/IP), and where rules ask, its source IP, device, network
location, and each pupil an incident names, with the pupil's role.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from safeguard.alerts import MAX_EVIDENCE, Alert, alert_id_for
from safeguard.enrichment import subject_of
from safeguard.events import Event
from safeguard.identity import short_host
from safeguard.policy import Profile
from safeguard.rules import Facts, Hit, Rule

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# how long a closed window's accumulator is kept, for late events, before it is pruned
WINDOW_GRACE = timedelta(hours=1)
MAX_REMEMBERED = 50
# ids counted after the evidence list is full; more than any rule names in one hit
MAX_RECENT = 100
ID_CACHE = 50_000  # alert windows whose id is remembered (cleared when full)
DISPATCH_CACHE = 10_000  # (grouping, event category, filter categories) -> rules
INCIDENT_ROLES = (("incident.victims", "victim"), ("incident.perpetrators", "perpetrator"),
                  ("incident.witnesses", "witness"), ("incident.subjects", "subject"))


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """One key an event is processed under: the subject, its kind, and the rule grouping."""

    subject: str
    kind: str
    group: str = "person"
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "kind": self.kind, "group": self.group,
                "role": self.role}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubjectKey:
        return cls(str(data["subject"]), str(data["kind"]), str(data["group"]), data.get("role"))


def window_of(ts: datetime, window: timedelta) -> tuple[datetime, datetime]:
    """The fixed, epoch-aligned window holding `ts` (same answer on every worker)."""
    size = window.total_seconds()
    start = _EPOCH + timedelta(seconds=((ts - _EPOCH).total_seconds() // size) * size)
    return start, start + window


def keys_of(event: Event, groups: frozenset[str]) -> list[SubjectKey]:
    """Every key the event must be processed under, given the groupings rules use."""
    keys: list[SubjectKey] = []
    named = [(pid, role) for label, role in INCIDENT_ROLES
             for pid in (event.labels.get(label) or "").split(";") if pid.strip()]
    if event.category == "incident" and named:
        keys.extend(SubjectKey(pid.strip(), "person", "person", role) for pid, role in named)
    else:
        subject, kind = subject_of(event)
        keys.append(SubjectKey(subject, kind))
    if "ip" in groups and event.source_ip:
        keys.append(SubjectKey(f"ip:{event.source_ip}", "ip", "ip"))
    device = short_host(event.host_name) if event.host_name else event.asset_tag
    if "device" in groups and device:
        keys.append(SubjectKey(f"device:{device.lower()}", "device", "device"))
    if "location" in groups and event.location:
        keys.append(SubjectKey(f"location:{event.location}", "location", "location"))
    return keys


class Detector:
    """Runs a profile's enabled rules over events and keeps per-key alert state."""

    def __init__(self, profile: Profile, school_id: str) -> None:
        self.profile = profile
        self.school_id = school_id
        self.rules: tuple[Rule, ...] = ()
        self._ids: dict[tuple[str, float, str, float], tuple[datetime, datetime, str]] = {}
        self.groups: frozenset[str] = frozenset()
        self.set_rules(profile.rules)

    def set_rules(self, rules: tuple[Rule, ...]) -> None:
        """Swap the rule set (IT changed a threshold); state of unchanged rules is kept."""
        self.rules = tuple(r for r in rules if r.enabled)
        self.groups = frozenset(r.group_by for r in self.rules)
        self._dispatch: dict[tuple[str, str, tuple[str, ...]], tuple[Rule, ...]] = {}
        # groupings whose subjects' memory (devices, web domains) some rule reads; a rule
        # switched off still counts, so switching it back on finds the memory kept
        self._remembering = frozenset(
            r.group_by for r in rules
            if any(c.new_device is not None or c.first_use is not None
                   for c in r.conditions()))

    def rules_for(self, group: str, event: Event) -> tuple[Rule, ...]:
        """The enabled rules kept per `group` whose `when` admits the event's category and
        filter categories (a rule's `when` rejects every other event before it reads or
        writes state); most requests carry no category a rule names, so they meet few."""
        key = (group, event.category, event.categories)
        found = self._dispatch.get(key)
        if found is None:
            if len(self._dispatch) >= DISPATCH_CACHE:
                self._dispatch.clear()
            found = self._dispatch[key] = tuple(
                r for r in self.rules if r.group_by == group
                and (r.when.event_category is None or event.category in r.when.event_category)
                and (r.when.categories is None
                     or not r.when.categories.isdisjoint(event.categories)))
        return found

    def keys(self, event: Event) -> list[SubjectKey]:
        return keys_of(event, self.groups)

    def process(self, event: Event, state: MutableMapping[str, Any]) -> list[Alert]:
        """Alert versions this event creates or updates, over all its keys."""
        out: list[Alert] = []
        for key in self.keys(event):
            out.extend(self.process_key(event, key, state))
        return out

    def process_key(self, event: Event, key: SubjectKey,
                    state: MutableMapping[str, Any]) -> list[Alert]:
        """The event under one key: only rules grouped that way see it."""
        rules = self.rules_for(key.group, event)
        if not rules and key.group not in self._remembering:
            # nothing to evaluate or remember: only let the key's closed alerts go
            kept = state.get(key.subject)
            if kept and kept.get("alerts"):
                alerts_before = len(kept["alerts"])
                self._prune(kept["alerts"], event.timestamp)
                if len(kept["alerts"]) != alerts_before:
                    state[key.subject] = kept
            return []
        st: dict[str, Any] = dict(state.get(key.subject) or {})
        facts = self._facts(event, key, st)
        rule_state: dict[str, Any] = st.setdefault("rules", {})
        alerts_state: dict[str, Any] = st.setdefault("alerts", {})
        out: list[Alert] = []
        # a rule kept per IP, device or room names the person signed in there, if known
        behind = event.labels.get("session.person") if key.group != "person" else None
        subject, kind = (behind, "person") if behind else (key.subject, key.kind)
        for rule in rules:
            own = rule_state.setdefault(rule.id, {})
            for hit in rule.evaluate(event, subject, kind, own, facts):
                alert = self._accumulate(hit, alerts_state)
                if alert is not None:
                    out.append(alert)
            if not own:
                del rule_state[rule.id]
            # deadlines (absence) are judged in `advance`, on a watermark, never by
            # whichever event happens to arrive: a late event could still meet them
        self._remember(event, st)
        self._prune(alerts_state, event.timestamp)
        state[key.subject] = st
        return out

    def advance(self, now: datetime, state: MutableMapping[str, Any],
                subjects: list[str] | None = None,
                changed: set[str] | None = None) -> list[Alert]:
        """Fire absence rules whose deadline passed by `now` (event time); the keys whose
        state changed are added to `changed`."""
        out: list[Alert] = []
        timed = [r for r in self.rules if r.kind == "absence"]
        if not timed:
            return out
        for subject in list(subjects if subjects is not None else state.keys()):
            st = state.get(subject)
            if not st or not any(r.id in st.get("rules", {}) for r in timed):
                continue
            st = dict(st)
            fired = []
            for rule in timed:
                own = st["rules"].get(rule.id)
                if own:
                    key = SubjectKey(subject, "person", rule.group_by)
                    fired.extend(self._due(rule, now, key, own, st.setdefault("alerts", {})))
            if fired:
                state[subject] = st
                out.extend(fired)
                if changed is not None:
                    changed.add(subject)
        return out

    def _due(self, rule: Rule, now: datetime, key: SubjectKey, own: dict[str, Any],
             alerts_state: dict[str, Any]) -> list[Alert]:
        out = []
        for hit in rule.due(now.isoformat(), key.subject, key.kind, own):
            alert = self._accumulate(hit, alerts_state)
            if alert is not None:
                out.append(alert)
        return out

    @staticmethod
    def _facts(event: Event, key: SubjectKey, st: dict[str, Any]) -> Facts:
        new_device = (event.category == "authentication" and event.outcome == "success"
                      and bool(event.host_name)
                      and (event.host_name or "").lower() not in st.get("devices", []))
        first_use = (event.category == "web" and bool(event.url_domain) and bool(event.categories)
                     and (event.url_domain or "").lower() not in st.get("domains", []))
        return Facts(new_device=new_device, first_use=first_use, incident_role=key.role)

    @staticmethod
    def _remember(event: Event, st: dict[str, Any]) -> None:
        """The subject's last devices and web domains, most recent last."""
        if event.category == "authentication" and event.outcome == "success" and event.host_name:
            _most_recent(st, "devices", event.host_name.lower())
        if event.category == "web" and event.url_domain and event.categories:
            _most_recent(st, "domains", event.url_domain.lower())

    def _accumulate(self, hit: Hit, alerts_state: dict[str, Any]) -> Alert | None:
        """Fold a hit into its alert's accumulator and return the new version. Related
        events already in the evidence are skipped before anything is formatted: a risk
        or counting hit names its whole window, most of it seen by the last version."""
        rule, ev = hit.rule, hit.event
        when = hit.at or ev.timestamp
        start, end, aid = self._alert_of(rule, hit.subject, when)
        acc = alerts_state.get(aid)
        if acc is None:
            acc = {"version": 0, "first": ev.timestamp.isoformat(),
                   "last": when.isoformat(), "count": 0, "score": 0.0,
                   "evidence": [], "end": end.isoformat()}
        evidence: list[str] = acc["evidence"]
        recent: list[str] = acc.get("recent", [])
        have = {*evidence, *recent}
        if ev.event_id in have:
            return None  # a re-delivered event: nothing new to say
        acc["version"] += 1
        acc["score"] = max(acc["score"], hit.score) if rule.kind == "risk" else (
            acc["score"] + hit.score)
        for event_id, at in (*hit.related, (ev.event_id, None)):
            if event_id in have:
                continue
            iso = ev.timestamp.isoformat() if at is None else (
                datetime.fromtimestamp(at, UTC).isoformat())
            acc["count"] += 1
            acc["first"] = min(acc["first"], iso)
            acc["last"] = max(acc["last"], iso)
            (evidence if len(evidence) < MAX_EVIDENCE else recent).append(event_id)
            have.add(event_id)
        if recent:  # counted beyond the evidence: a later hit naming them again adds none
            acc["recent"] = recent[-MAX_RECENT:]
        acc["last"] = max(acc["last"], when.isoformat())
        alerts_state[aid] = acc
        return Alert(
            alert_id=aid, version=acc["version"], school_id=self.school_id,
            profile_id=self.profile.id, rule_id=rule.id, title=rule.title,
            clause_ids=rule.clause_ids, severity=rule.severity, category=rule.category,
            routing=rule.route, subject=hit.subject, subject_kind=hit.subject_kind,
            score=round(acc["score"], 3),
            first_seen=datetime.fromisoformat(acc["first"]),
            last_seen=datetime.fromisoformat(acc["last"]),
            window_start=start, window_end=end, event_count=max(acc["count"], 1),
            evidence_event_ids=tuple(evidence),
        )

    def _alert_of(self, rule: Rule, subject: str, when: datetime
                  ) -> tuple[datetime, datetime, str]:
        """The alert window holding `when` and the alert's id, remembered: a subject
        over a threshold all day makes a version per event, each needing the same id."""
        size = rule.window.total_seconds()
        cache_key = (rule.id, size, subject, (when - _EPOCH).total_seconds() // size)
        known = self._ids.get(cache_key)
        if known is None:
            if len(self._ids) >= ID_CACHE:
                self._ids.clear()
            start, end = window_of(when, rule.window)
            known = self._ids[cache_key] = (
                start, end, alert_id_for(self.school_id, rule.id, subject, start))
        return known

    @staticmethod
    def _prune(alerts_state: dict[str, Any], now: datetime) -> None:
        cutoff = (now - WINDOW_GRACE).isoformat()
        for aid in [a for a, acc in alerts_state.items() if acc["end"] < cutoff]:
            del alerts_state[aid]


def _most_recent(st: dict[str, Any], name: str, value: str) -> None:
    """Move (or add) `value` to the end of the bounded list `st[name]`."""
    seen: list[str] = st.get(name, [])
    if seen and seen[-1] == value:
        return  # already the most recent: nothing changes
    st[name] = [*(v for v in seen if v != value), value][-MAX_REMEMBERED:]


def latest_versions(alerts: list[Alert]) -> Mapping[str, Alert]:
    """The newest version of each alert id, as a sink would keep it."""
    newest: dict[str, Alert] = {}
    for a in alerts:
        if a.alert_id not in newest or a.version > newest[a.alert_id].version:
            newest[a.alert_id] = a
    return newest
