"""Google Workspace Admin SDK Reports API, `activities.list` for applicationName=login.

A response is `{"kind": "admin#reports#activities", "items": [activity, ...],
"nextPageToken": ...}`; an activity is `{"kind": "admin#reports#activity", "id": {"time",
"uniqueQualifier", "applicationName", "customerId"}, "actor": {"email", "profileId"},
"ipAddress", "events": [{"type", "name", "parameters": [{"name", "value" | "boolValue" |
"intValue" | "multiValue"}]}]}`. Event names from the Login Audit activity reference:
login_success, login_failure (`login_failure_type`), logout, login_challenge,
login_verification, suspicious_login, suspicious_login_less_secure_app,
suspicious_programmatic_login, plus account and password changes.

Inputs: NDJSON of responses or of activities (`parse_google_login`, line by line), or a
whole pretty-printed response file (`parse_google_document`, which needs the whole text:
wire it as a whole-file format). One event per (activity, event); its id hashes
(application, time, uniqueQualifier, event index), so re-fetching a page gives the same ids.
A page with no `items` (no activity in the window) carries no record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from producers.auth_common import (
    MAX_BATCH_CHARS,
    checked_timestamp,
    clean_ip,
    dead,
    dumps,
    get,
    json_line,
    labels,
    text,
)
from producers.parsing import ParseContext, ParseResult, parse_each
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id

DATASET = "google_workspace.login"

# name -> (category, type, action, outcome)
_KINDS: dict[str, tuple[str, str, str, str]] = {
    "login_success": ("authentication", "start", "logged-in", "success"),
    "login_failure": ("authentication", "start", "logon-failed", "failure"),
    "logout": ("session", "end", "logged-out", "success"),
    "suspicious_login": ("authentication", "start", "suspicious_login", "success"),
    "suspicious_login_less_secure_app": (
        "authentication", "start", "suspicious_login_less_secure_app", "success"),
    "suspicious_programmatic_login": (
        "authentication", "start", "suspicious_programmatic_login", "success"),
}
_CHALLENGES = frozenset({"login_challenge", "login_verification"})


def _params(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params = event.get("parameters")
    for p in params if isinstance(params, list) else []:
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            continue
        for key in ("value", "boolValue", "intValue", "multiValue", "multiIntValue"):
            if key in p:
                value = p[key]
                out[p["name"]] = (",".join(str(v) for v in value)
                                  if isinstance(value, list) else value)
                break
    return out


def _kind(name: str, params: dict[str, Any]) -> tuple[str, str, str, str]:
    if name in _KINDS:
        return _KINDS[name]
    if name in _CHALLENGES:
        status = str(params.get("login_challenge_status", "")).lower()
        outcome = ("success" if "pass" in status else "failure" if "fail" in status
                   else "unknown")
        return "authentication", "info", name, outcome
    return "iam", "change", name, "unknown"  # account warnings, password and 2SV changes


def parse_activity(item: Any, line_no: int, ctx: ParseContext) -> list[Event | DeadLetter]:
    """One activity to one event per entry of its `events`, or dead letters."""
    if not isinstance(item, dict):
        return [dead(ctx, DATASET, line_no, str(item)[:2000], "activity is not a JSON object")]
    raw = dumps(item)
    app = text(get(item, "id.applicationName"))
    if app not in (None, "login"):
        return [dead(ctx, DATASET, line_no, raw, f"unsupported application {app!r}")]
    ts = checked_timestamp(get(item, "id.time"), ctx)
    if isinstance(ts, str):
        return [dead(ctx, DATASET, line_no, raw, ts)]
    events = item.get("events")
    if not isinstance(events, list) or not events:
        return [dead(ctx, DATASET, line_no, raw, "activity has no events")]
    qualifier = text(get(item, "id.uniqueQualifier")) or raw
    out: list[Event | DeadLetter] = []
    for index, event in enumerate(events):
        name = text(event.get("name")) if isinstance(event, dict) else None
        if name is None or not isinstance(event, dict):
            out.append(dead(ctx, DATASET, line_no, raw, f"event {index} has no name"))
            continue
        params = _params(event)
        category, type_, action, outcome = _kind(name, params)
        suspicious = params.get("is_suspicious") is True or name.startswith("suspicious")
        key = f"{app or 'login'}|{get(item, 'id.time')}|{qualifier}|{index}"
        out.append(Event(
            timestamp=ts,
            event_id=stable_event_id(ctx.school_id, DATASET, key),
            category=category,
            type=type_,
            action=action,
            outcome=outcome,
            dataset=DATASET,
            school_id=ctx.school_id,
            raw=raw,
            reason=(text(params.get("login_failure_type")) or name) if outcome == "failure"
            else None,
            user_name=text(get(item, "actor.email")),
            source_ip=clean_ip(item.get("ipAddress")),
            labels=labels(
                event_name=name,
                event_type=event.get("type"),
                login_type=params.get("login_type"),
                challenge_method=params.get("login_challenge_method"),
                suspicious=True if suspicious else None,
                caller_type=get(item, "actor.callerType"),
            ),
        ))
    return out


def parse_object(obj: dict[str, Any], line_no: int, ctx: ParseContext,
                 raw: str) -> list[Event | DeadLetter]:
    """A response page (with `items`) or a single activity."""
    if "items" in obj or obj.get("kind") == "admin#reports#activities":
        items = obj.get("items", [])
        if not isinstance(items, list):
            return [dead(ctx, DATASET, line_no, raw, "items is not a list")]
        return [out for item in items for out in parse_activity(item, line_no, ctx)]
    if "events" in obj or obj.get("kind") == "admin#reports#activity":
        return parse_activity(obj, line_no, ctx)
    return [dead(ctx, DATASET, line_no, raw, "not a Reports API response or activity")]


def parse_line(line_no: int, raw: str, ctx: ParseContext) -> list[Event | DeadLetter]:
    """One NDJSON line (a response or an activity) to events and dead letters; blank: []."""
    line, obj = json_line(line_no, raw, ctx, DATASET, max_chars=MAX_BATCH_CHARS)
    if obj is None:
        return []
    if isinstance(obj, DeadLetter):
        return [obj]
    return parse_object(obj, line_no, ctx, line)


def parse_google_login(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> ParseResult:
    """Line parser for `auth:google` NDJSON; never raises."""
    return parse_each(lines, ctx, DATASET, parse_line)


def parse_google_document(text_: str, ctx: ParseContext,
                          lines: Iterable[tuple[int, str]] | None = None) -> ParseResult:
    """A whole file: one (pretty-printed) response, a JSON array of responses or activities,
    or, if the whole text is not one JSON value, NDJSON: the file's numbered `lines` as read
    when given, else the text split at line feeds only (U+2028, U+2029 and U+0085 may stand
    inside JSON strings: `str.splitlines` would cut a record in two). Never raises."""
    try:
        doc = orjson.loads(text_)
    except orjson.JSONDecodeError:
        return parse_google_login(enumerate(text_.split("\n"), 1) if lines is None else lines,
                                  ctx)
    result = ParseResult()
    for value in doc if isinstance(doc, list) else [doc]:
        raw = dumps(value)
        try:
            if isinstance(value, dict):
                result.add(parse_object(value, 1, ctx, raw))
            else:
                result.add(dead(ctx, DATASET, 1, raw[:2000],
                                 f"expected a JSON object, found {type(value).__name__}"))
        except Exception as exc:
            result.add(dead(ctx, DATASET, 1, raw, f"unparseable: {type(exc).__name__}: {exc}"))
    return result
