"""Samba AD DC JSON authentication audit (`log level = 1 auth_json_audit:3`).

Samba writes each audit record as a debug message (lib/audit_logging/audit_logging.c,
`audit_log_json`): a header line `[2026/11/21 18:20:08.123456,  3] ../../auth/auth_log.c:...`
then `  JSON Authentication: {...}` on one line (jansson `json_dumps`, no line breaks). The
same JSON also arrives bare (a separate log file, an NDJSON export) or after a syslog prefix.
Header and other non-JSON debug lines are not records and are skipped; JSON that does not
parse is a dead letter.

Fields (auth/auth_log.c, AUTH 1.2): `timestamp` is local time with a colon-less offset
(`2017-03-06T17:18:04.455081+1300`); `Authentication` has `eventId` 4624/4625, `logonType`,
`status` (NT_STATUS_*), `remoteAddress` as a tsocket string (`ipv4:10.0.0.7:53210`,
`ipv6:fe80::1:445`, or null), `serviceDescription`, `authDescription`, `clientDomain`,
`clientAccount`, `workstation`, `becameAccount`, `passwordType`. `Authorization` (AUTHZ 1.1)
records a successful session: `account`, `domain`, `remoteAddress`, `authType`, `sessionId`;
they become session/start events. Other types (dsdbChange, passwordChange, ...) are dead
letters "unsupported audit type".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from producers.auth_common import (
    checked_timestamp,
    dead,
    labels,
    load_json_object,
    samba_address,
    text,
)
from producers.parsing import MAX_LINE_CHARS, ParseContext, ParseResult, parse_each
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id

DATASET = "samba.auth_audit"

# `  JSON Authentication: {`, possibly after a syslog prefix; or a bare JSON object.
_JSON_MARKER = re.compile(r"(?:^|\s)JSON [A-Za-z]+: (?=\{)")
_SUCCESS = "NT_STATUS_OK"


def json_part(line: str) -> str | None:
    """The JSON text of an audit line, or None if the line is not an audit record.

    A byte-order mark before the JSON (a file saved by a Windows tool) is not part of it;
    a record behind NUL bytes (a crash's NUL block, UTF-16 text) is still a record, returned
    as it stands so that it fails as JSON: debug text never holds NULs."""
    stripped = line.strip().removeprefix("\ufeff").lstrip()
    if stripped.startswith("{"):
        return stripped
    marker = _JSON_MARKER.search(line)
    if marker:
        return line[marker.end():].strip()
    if "\x00" in line and json_part(line.replace("\x00", "")) is not None:
        return stripped
    return None


def _authentication(body: dict[str, Any], ctx: ParseContext, line: str, ts: Any,
                    event_id: str) -> Event:
    status = text(body.get("status")) or ""
    ok = status == _SUCCESS
    account = text(body.get("clientAccount")) or text(body.get("becameAccount"))
    return Event(
        timestamp=ts,
        event_id=event_id,
        category="authentication",
        type="start",
        action="logged-in" if ok else "logon-failed",
        outcome="success" if ok else "failure",
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=line,
        reason=None if ok else status,
        user_name=account,
        source_ip=samba_address(body.get("remoteAddress")),
        host_name=text(body.get("workstation")),
        labels=labels(
            event_code=body.get("eventId"),
            logon_type=body.get("logonType"),
            status=status,
            service=body.get("serviceDescription"),
            auth=body.get("authDescription"),
            domain=body.get("clientDomain"),
            password_type=body.get("passwordType"),
            became_account=body.get("becameAccount"),
            machine_account=True if account and account.endswith("$") else None,
            locked_out=True if status == "NT_STATUS_ACCOUNT_LOCKED_OUT" else None,
        ),
    )


def _authorization(body: dict[str, Any], ctx: ParseContext, line: str, ts: Any,
                   event_id: str) -> Event:
    account = text(body.get("account"))
    return Event(
        timestamp=ts,
        event_id=event_id,
        category="session",
        type="start",
        action="authorized",
        outcome="success",
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=line,
        user_name=account,
        source_ip=samba_address(body.get("remoteAddress")),
        labels=labels(
            service=body.get("serviceDescription"),
            auth=body.get("authType"),
            domain=body.get("domain"),
            session_id=body.get("sessionId"),
            transport_protection=body.get("transportProtection"),
            machine_account=True if account and account.endswith("$") else None,
        ),
    )


def parse_line(line_no: int, raw: str, ctx: ParseContext) -> Event | DeadLetter | None:
    """One log line to an event, a dead letter, or None (blank, header, other debug text)."""
    line = raw.rstrip("\r\n")
    if len(line) > MAX_LINE_CHARS:
        return dead(ctx, DATASET, line_no, line, f"line longer than {MAX_LINE_CHARS} characters")
    payload = json_part(line)
    if payload is None:
        return None
    obj = load_json_object(payload)
    if isinstance(obj, str):
        return dead(ctx, DATASET, line_no, line, obj)
    audit_type = obj.get("type")
    if audit_type not in ("Authentication", "Authorization"):
        return dead(ctx, DATASET, line_no, line, f"unsupported audit type {audit_type!r}")
    body = obj.get(audit_type)
    if not isinstance(body, dict):
        return dead(ctx, DATASET, line_no, line, f"no {audit_type} object")
    ts = checked_timestamp(obj.get("timestamp"), ctx)
    if isinstance(ts, str):
        return dead(ctx, DATASET, line_no, line, ts)
    # Hash the JSON alone: the same record from the debug log and a JSON file is one event.
    event_id = stable_event_id(ctx.school_id, DATASET, payload)
    if audit_type == "Authorization":
        return _authorization(body, ctx, line, ts, event_id)
    if text(body.get("status")) is None:
        return dead(ctx, DATASET, line_no, line, "Authentication record has no status")
    return _authentication(body, ctx, line, ts, event_id)


def parse_samba_audit(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> ParseResult:
    """Parser for `auth:samba`; never raises."""
    return parse_each(lines, ctx, DATASET, parse_line)
