"""The documented incident CSV (`incident:csv`) -> one `incident` event per incident.

Columns (DESIGN "Interfaces"): `incident_id,occurred_at,reported_at,reporter,category,pupils,
description,actions,status`, optional `cin_factor`, extra columns allowed (matched by header
name, case-insensitive, any order). `pupils` is `person_id:role` pairs separated by `;`.
Descriptions are free text (commas, quotes, newlines, even `<script>`) and are kept verbatim:
escaping is the dashboard's job, and evidence must show what was written.
Times are ISO 8601; a time without an offset is in `tz` (the school's time zone, wired by
the caller; "UTC" by default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from producers.csv_records import CsvRecord, header_key, reader_for
from producers.parsing import ParseContext, ParseResult, check_timestamp
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id

DATASET = "incident.csv"
REQUIRED = ("incident_id", "occurred_at", "reported_at", "reporter", "category", "pupils",
            "description", "actions", "status")
ROLES = ("victim", "perpetrator", "witness", "subject")
CATEGORIES = frozenset({"bullying", "cyberbullying", "harassment", "self-harm", "online-contact",
                        "sexual", "radicalisation", "device-lost", "device-stolen",
                        "security-breach", "other"})
# KCSIE (Keeping children safe in education) names. The first four are its child-on-child abuse
# types; harassment that is not sexual is dealt with as bullying (prejudice-based and
# discriminatory bullying); the others name the KCSIE safeguarding issue they fall under.
# Device and security categories have none.
KCSIE_TYPES: dict[str, str] = {
    "bullying": "bullying (including cyberbullying, prejudice-based and discriminatory bullying)",
    "cyberbullying": "bullying (including cyberbullying, prejudice-based and discriminatory "
                     "bullying)",
    "harassment": "bullying (including cyberbullying, prejudice-based and discriminatory "
                  "bullying)",
    "sexual": "sexual violence and sexual harassment",
    "online-contact": "online safety: contact",
    "self-harm": "mental health",
    "radicalisation": "preventing radicalisation",
}
# DfE children-in-need census "factors identified at the end of assessment". Only the code
# the design names for a category is defaulted (15A self-harm); any other is passed through
# as given in `cin_factor` (one code, or several separated by `;`).
DEFAULT_CIN_FACTOR: dict[str, str] = {"self-harm": "15A"}
_CIN_CODE = re.compile(r"^\d{1,2}[A-Z]?$")


def _dead(ctx: ParseContext, line_no: int, raw: str, reason: str) -> DeadLetter:
    return DeadLetter(school_id=ctx.school_id, dataset=DATASET, stage="parse", reason=reason,
                      raw=raw, source=ctx.source, line_no=line_no)


def zone_of(tz: str) -> ZoneInfo:
    """The zone of naive times; a wrong name is a configuration error, raised at once."""
    try:
        return ZoneInfo(tz)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {tz!r}") from exc


def local_time(text: str, zone: ZoneInfo) -> datetime | None:
    """ISO 8601 (date, or date and time; `Z` or an offset optional) -> UTC; None if not."""
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=zone)
        return ts.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_pupils(text: str) -> tuple[list[tuple[str, str]], str | None]:
    """`id:role;id:role` -> pairs in order (duplicates dropped), or a reason."""
    pairs: list[tuple[str, str]] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        person, sep, role = part.strip().rpartition(":")
        person, role = person.strip(), role.strip().lower()
        if not sep or not person or not role:
            return [], f"malformed pupil pair {part.strip()!r} (expected person_id:role)"
        if role not in ROLES:
            return [], f"bad pupil role {role!r} in {part.strip()!r} (one of {', '.join(ROLES)})"
        if (person, role) not in pairs:
            pairs.append((person, role))
    return pairs, None


def record_to_event(rec: CsvRecord, ctx: ParseContext, zone: ZoneInfo) -> Event | DeadLetter:
    """One incident row (keyed by header name) to its event, or a dead letter with reason."""
    row = rec.data if isinstance(rec.data, dict) else {}
    missing = [c for c in REQUIRED if c not in row]
    if missing:
        return _dead(ctx, rec.line_no, rec.raw, f"header lacks required columns: "
                                                f"{', '.join(missing)}")
    incident_id = row["incident_id"].strip()
    if not incident_id:
        return _dead(ctx, rec.line_no, rec.raw, "incident_id is empty")
    category = row["category"].strip().lower()
    if category not in CATEGORIES:
        return _dead(ctx, rec.line_no, rec.raw, f"unknown category {row['category']!r}")
    occurred = local_time(row["occurred_at"], zone)
    if occurred is None:
        return _dead(ctx, rec.line_no, rec.raw,
                     f"occurred_at {row['occurred_at'][:60]!r} is not an ISO 8601 time")
    reason = check_timestamp(occurred, ctx)
    if reason:
        return _dead(ctx, rec.line_no, rec.raw, f"occurred_at: {reason}")
    reported = None
    if row["reported_at"].strip():
        reported = local_time(row["reported_at"], zone)
        if reported is None:
            return _dead(ctx, rec.line_no, rec.raw,
                         f"reported_at {row['reported_at'][:60]!r} is not an ISO 8601 time")
        if reported < occurred:
            return _dead(ctx, rec.line_no, rec.raw, "reported_at is before occurred_at")
    pairs, reason = parse_pupils(row["pupils"])
    if reason:
        return _dead(ctx, rec.line_no, rec.raw, reason)
    cin = row.get("cin_factor", "").strip().upper() or DEFAULT_CIN_FACTOR.get(category, "")
    codes = [c.strip() for c in cin.split(";") if c.strip()]
    bad = [c for c in codes if not _CIN_CODE.match(c)]
    if bad:
        return _dead(ctx, rec.line_no, rec.raw, f"cin_factor {bad[0]!r} is not a DfE factor code")
    labels = {
        "incident.id": incident_id, "incident.category": category,
        "incident.reporter": row["reporter"].strip(), "incident.status": row["status"].strip(),
        "incident.actions": row["actions"], "incident.description": row["description"],
        "incident.pupils": row["pupils"].strip(),
        "incident.victims": ";".join(p for p, r in pairs if r == "victim"),
        "incident.perpetrators": ";".join(p for p, r in pairs if r == "perpetrator"),
        "incident.witnesses": ";".join(p for p, r in pairs if r == "witness"),
        "incident.subjects": ";".join(p for p, r in pairs if r == "subject"),
    }
    if reported is not None:
        labels["incident.reported_at"] = reported.isoformat()
    if category in KCSIE_TYPES:
        labels["incident.kcsie_type"] = KCSIE_TYPES[category]
    if codes:
        labels["incident.cin_factor"] = ";".join(codes)
    return Event(timestamp=occurred, event_id=stable_event_id(ctx.school_id, DATASET, rec.raw),
                 category="incident", type="info", action=category, outcome="unknown",
                 dataset=DATASET, school_id=ctx.school_id, raw=rec.raw, labels=labels)


def parse_incidents(lines: Iterable[tuple[int, str]], ctx: ParseContext,
                    tz: str = "UTC") -> ParseResult:
    """One chunk of the incident CSV; state between chunks is kept by `csv_records`."""
    zone = zone_of(tz)
    result = ParseResult()
    items = list(lines)
    reader = reader_for(ctx, DATASET, header=True, keyed=True, require_width=True)
    try:
        out = reader.feed(items)
    except Exception as exc:  # a reader bug must not lose the chunk silently
        result.dead_letters.extend(_dead(ctx, n, t.rstrip("\r\n"), f"unparseable: {exc}")
                                   for n, t in items if t.strip())
        return result
    keys = {header_key(h) for h in reader.header or ()}
    missing = [c for c in REQUIRED if c not in keys] if reader.header is not None else []
    for item in out:
        if missing and (isinstance(item, CsvRecord) or item.reason.startswith("expected ")):
            # the header is the problem, whatever the width of the row
            item = _dead(ctx, item.line_no or 0, item.raw,
                         f"header lacks required columns: {', '.join(missing)}")
        if isinstance(item, DeadLetter):
            result.dead_letters.append(item)
            continue
        try:
            converted = record_to_event(item, ctx, zone)
        except Exception as exc:
            converted = _dead(ctx, item.line_no, item.raw,
                              f"unparseable: {type(exc).__name__}: {exc}")
        if isinstance(converted, Event):
            result.events.append(converted)
        else:
            result.dead_letters.append(converted)
    return result
