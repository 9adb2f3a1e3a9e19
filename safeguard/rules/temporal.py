"""Temporal kinds: `sequence` (A then B for one subject) and `absence` (B never came).

`absence` is the one kind that fires without an event: the detector calls `due()` as
event time advances, and a pending expectation past its deadline becomes a hit.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from safeguard.enrichment import subject_of
from safeguard.errors import ConfigError, EventError
from safeguard.events import Event, parse_timestamp
from safeguard.identity import short_host
from safeguard.rules.base import (
    NO_FACTS,
    Conditions,
    Facts,
    Hit,
    Rule,
    parse_duration,
    register_rule_kind,
)
from safeguard.rules.counting import VALUE_FIELDS

MAX_OCCURRENCES = 20
MAX_SEEN = 200


def due_by(text: str, fallback: float) -> float:
    """A due time from a label: ISO with an offset, or a bare date meaning "by the end of
    that day" (as asset systems record due dates); unreadable text keeps `fallback`."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 86400
        return parse_timestamp(text).timestamp()
    except (ValueError, EventError):
        return fallback


@register_rule_kind("sequence")
@dataclass(frozen=True)
class SequenceRule(Rule):
    """Steps for the same subject within `within`: in order (failures, then a success from a
    new device, then blocked browsing) or, with `ordered: false`, in any order (searches and
    an incident about the same pupil within 14 days)."""

    PARAMS = ("steps", "within", "ordered")
    TUNABLE = ("within",)
    steps: tuple[Conditions, ...] = ()
    within: timedelta = timedelta(hours=1)
    ordered: bool = True

    @classmethod
    def params_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        raw = data.get("steps")
        if not isinstance(raw, list) or len(raw) < 2:
            raise ConfigError("steps must list at least two {when: ...}", field="steps")
        steps = []
        for i, step in enumerate(raw):
            if not isinstance(step, Mapping) or "when" not in step:
                raise ConfigError("each step needs `when`", field=f"steps[{i}]")
            steps.append(Conditions.from_dict(step["when"], f"steps[{i}].when"))
        ordered = data.get("ordered", True)
        if not isinstance(ordered, bool):
            raise ConfigError("ordered must be true or false", field="ordered")
        return {"steps": tuple(steps), "within": parse_duration(data.get("within", "1h")),
                "ordered": ordered}

    def conditions(self) -> tuple[Conditions, ...]:
        return (self.when, *self.steps)

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any], facts: Facts = NO_FACTS) -> list[Hit]:
        """Decided on event time: occurrences of each step are remembered, and a chain
        (increasing times, if ordered) within `within` completes the sequence whatever
        order the events arrived in, so several workers agree with one."""
        if not self.when.matches(event, facts):
            return []
        matched = [i for i, cond in enumerate(self.steps) if cond.matches(event, facts)]
        if not matched:
            return []
        now = event.timestamp.timestamp()
        span = self.within.total_seconds()
        seen: list[list[list[Any]]] = [list(x) for x in
                                       state.get("seen") or [[] for _ in self.steps]]
        if any(o[1] == event.event_id for occ in seen for o in occ):
            return []
        for i in matched:  # bounded by count: a late occurrence must still be able to chain
            seen[i] = sorted([*seen[i], [now, event.event_id]])[-MAX_OCCURRENCES:]
        chain = self._chain(seen, span)
        if chain is None:
            state["seen"] = seen
            return []
        last = max(o[0] for o in chain)
        used = {o[1] for o in chain}
        state["seen"] = [[o for o in occ if o[0] > last and o[1] not in used] for occ in seen]
        related = tuple((str(o[1]), o[0]) for o in chain if o[1] != event.event_id)
        return [Hit(self, subject, subject_kind, event, float(self.severity), related=related,
                    at=datetime.fromtimestamp(last, UTC))]

    def _chain(self, seen: list[list[list[Any]]], span: float) -> list[list[Any]] | None:
        """The earliest complete chain, one occurrence per step, or None."""
        if any(not occ for occ in seen):
            return None
        if not self.ordered:
            picks = [occ[-1] for occ in seen]
            times = [p[0] for p in picks]
            return picks if max(times) - min(times) <= span else None
        for first in seen[0]:
            chain, t = [first], first[0]
            for occ in seen[1:]:
                nxt = next((o for o in occ if o[0] >= t and o[1] not in
                            {c[1] for c in chain}), None)
                if nxt is None:
                    break
                chain.append(nxt)
                t = nxt[0]
            else:
                if chain[-1][0] - chain[0][0] <= span:
                    return chain
        return None


@register_rule_kind("absence")
@dataclass(frozen=True)
class AbsenceRule(Rule):
    """After a `start` event, an `expect` event must come within `within` (or by the time in
    the start event's `deadline_label`); one seen up to `lookback` before the start counts
    too, unless an `expect_end` event (a logout) closed it. `correlate_on` names a field
    both must share (the asset tag of a checkout)."""

    PARAMS = ("start", "expect", "expect_end", "within", "lookback", "deadline_label",
              "deadline_required", "correlate_on")
    TUNABLE = ("within", "lookback")
    start: Conditions = field(default_factory=Conditions)
    expect: Conditions = field(default_factory=Conditions)
    expect_end: Conditions | None = None
    within: timedelta = timedelta(minutes=10)
    lookback: timedelta = timedelta(0)
    deadline_label: str | None = None
    deadline_required: bool = False
    correlate_on: str | None = None

    @classmethod
    def params_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        for key in ("start", "expect"):
            if not isinstance(data.get(key), Mapping):
                raise ConfigError(f"{key} must be a mapping of conditions", field=key)
        correlate = data.get("correlate_on")
        if correlate is not None and correlate not in VALUE_FIELDS:
            raise ConfigError(f"correlate_on must be one of {sorted(VALUE_FIELDS)}",
                              field="correlate_on")
        end = data.get("expect_end")
        if end is not None and not isinstance(end, Mapping):
            raise ConfigError("expect_end must be a mapping of conditions", field="expect_end")
        return {"start": Conditions.from_dict(data["start"], "start"),
                "expect": Conditions.from_dict(data["expect"], "expect"),
                "expect_end": Conditions.from_dict(end, "expect_end") if end else None,
                "within": parse_duration(data.get("within", "10m")),
                "lookback": parse_duration(data.get("lookback", 0)),
                "deadline_label": data.get("deadline_label"),
                "deadline_required": bool(data.get("deadline_required", False)),
                "correlate_on": correlate}

    def conditions(self) -> tuple[Conditions, ...]:
        return (self.when, self.start, self.expect,
                *((self.expect_end,) if self.expect_end is not None else ()))

    def _key(self, event: Event) -> str:
        if not self.correlate_on:
            return ""
        value = str(getattr(event, self.correlate_on) or "").lower()
        return short_host(value) if self.correlate_on == "host_name" else value

    def evaluate(self, event: Event, subject: str, subject_kind: str,
                 state: MutableMapping[str, Any], facts: Facts = NO_FACTS) -> list[Hit]:
        if not self.when.matches(event, facts):
            return []
        now = event.timestamp.timestamp()
        key = self._key(event)
        pending: list[dict[str, Any]] = list(state.get("pending", []))
        seen: list[list[Any]] = list(state.get("seen", []))
        if self.expect_end is not None and self.expect_end.matches(event, facts):
            for i, s in enumerate(seen):  # one presence ends (the earliest still open)
                if s[1] == key:
                    del seen[i]
                    break
        if self.expect.matches(event, facts):  # the latest by time, whatever the arrival order
            seen = sorted([*seen, [now, key]])[-MAX_SEEN:]
            pending = [p for p in pending if not (p["key"] == key
                       and p["start"] - self.lookback.total_seconds() <= now <= p["deadline"])]
        label = event.labels.get(self.deadline_label) if self.deadline_label else None
        if self.start.matches(event, facts) and (label or not self.deadline_required):
            lookback = self.lookback.total_seconds()
            deadline = now + self.within.total_seconds()
            if label:
                deadline = due_by(label, fallback=deadline)
            # an expected event may have arrived first although it happened later
            satisfied = any(s[1] == key and now - lookback <= s[0] <= deadline for s in seen)
            if not satisfied and not any(p["event"]["event.id"] == event.event_id
                                         for p in pending):
                if self.group_by != "person":  # the alert names the person, not the room
                    subject, subject_kind = subject_of(event)
                pending.append({"start": now, "deadline": deadline, "key": key,
                                "subject": subject, "subject_kind": subject_kind,
                                "event": event.to_dict()})
        state["pending"] = pending[-200:]
        state["seen"] = seen
        return []

    def due(self, now_iso: str, subject: str, subject_kind: str,
            state: MutableMapping[str, Any]) -> list[Hit]:
        now = parse_timestamp(now_iso).timestamp()
        pending = list(state.get("pending", []))
        overdue = [p for p in pending if p["deadline"] < now]
        if not overdue:
            return []
        state["pending"] = [p for p in pending if p["deadline"] >= now]
        hits = []
        for p in overdue:
            start_event = Event.from_dict(p["event"])
            hits.append(Hit(self, p["subject"], p["subject_kind"], start_event,
                            float(self.severity),
                            at=datetime.fromtimestamp(p["deadline"], UTC)))
        return hits
