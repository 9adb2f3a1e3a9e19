"""Windows Security logon events as Winlogbeat writes them (NDJSON, one document per line).

Handles both shapes Winlogbeat produces (checked against elastic/beats
x-pack/winlogbeat/module/security/test/testdata): the raw collection form, where
`winlog.event_data` keeps every field (`TargetUserName`, `IpAddress`, `WorkstationName`,
`LogonType`, `Status`, `SubStatus`), and the security-module/ingest form, which adds
`event.action` (logged-in, logon-failed, logged-out, locked-out-user-account) and *moves*
`IpAddress` to `source.ip`, `WorkstationName` to `source.domain`, the target account to
`user.name` (for 4740 to `user.target.name`). `event.code` is a string in 8.x, a number in
7.x; `winlog.event_id` is the fallback. Flat dotted exports (`"event.code": ...`) also work.

Mapping: 4624 authentication/start/success; 4625 authentication/start/failure with the
NTSTATUS sub-status as the reason; 4634 session/end; 4740 iam/change/success (the lockout
itself succeeded, as ECS and Winlogbeat record it) with `labels.locked_out="true"` and the
locked account as user.name. Machine accounts (`PC01$`) are kept and labelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from producers.auth_common import (
    checked_timestamp,
    clean_ip,
    dead,
    get,
    json_line,
    labels,
    text,
)
from producers.parsing import ParseContext, ParseResult, parse_each
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id

DATASET = "winlogbeat.security"

# code -> (category, type, action, outcome)
_KINDS: dict[int, tuple[str, str, str, str]] = {
    4624: ("authentication", "start", "logged-in", "success"),
    4625: ("authentication", "start", "logon-failed", "failure"),
    4634: ("session", "end", "logged-out", "success"),
    4740: ("iam", "change", "locked-out-user-account", "success"),
}
# NTSTATUS codes seen in 4625 Status/SubStatus (Microsoft's event-4625 reference).
_NTSTATUS: dict[str, str] = {
    "0xc0000064": "user name does not exist",
    "0xc000006a": "wrong password",
    "0xc000006d": "bad user name or password",
    "0xc000006e": "account restriction",
    "0xc000006f": "outside authorised hours",
    "0xc0000070": "workstation restriction",
    "0xc0000071": "password expired",
    "0xc0000072": "account disabled",
    "0xc000009a": "insufficient system resources",
    "0xc0000133": "clock out of sync with the domain controller",
    "0xc000015b": "logon type not granted",
    "0xc0000193": "account expired",
    "0xc0000224": "password must change at next logon",
    "0xc0000234": "account locked out",
    "0xc0000413": "authentication firewall",
}


def _code(doc: dict[str, Any]) -> int | None:
    for path in ("event.code", "winlog.event_id"):
        value = get(doc, path)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    return None


def _failure_reason(data: dict[str, Any], doc: dict[str, Any]) -> str | None:
    """`0xc000006a: wrong password`, preferring SubStatus (Status is often the generic 6d)."""
    status = (text(data.get("Status")) or "").lower()
    sub = (text(data.get("SubStatus")) or "").lower()
    code = sub if sub and sub != "0x0" else status
    if not code:
        return text(get(doc, "winlog.logon.failure.reason"))
    described = _NTSTATUS.get(code) or text(get(doc, "winlog.logon.failure.sub_status")) \
        or text(get(doc, "winlog.logon.failure.status"))
    return f"{code}: {described}" if described else code


def parse_line(line_no: int, raw: str, ctx: ParseContext) -> Event | DeadLetter | None:
    """One Winlogbeat document to an event or a dead letter; blank lines are None."""
    line, doc = json_line(line_no, raw, ctx, DATASET)
    if doc is None or isinstance(doc, DeadLetter):
        return doc
    code = _code(doc)
    if code is None:
        return dead(ctx, DATASET, line_no, line, "no event.code or winlog.event_id")
    kind = _KINDS.get(code)
    if kind is None:
        return dead(ctx, DATASET, line_no, line, f"unsupported event code {code}")
    ts = checked_timestamp(get(doc, "@timestamp"), ctx)
    if isinstance(ts, str):
        return dead(ctx, DATASET, line_no, line, ts)
    data = get(doc, "winlog.event_data")
    if not isinstance(data, dict):
        data = {}
    category, type_, action, outcome = kind
    user = text(data.get("TargetUserName"))
    if user is None:
        user = text(get(doc, "user.target.name")) if code == 4740 else text(get(doc, "user.name"))
    computer = text(get(doc, "winlog.computer_name")) or text(get(doc, "host.name"))
    if code == 4740:  # TargetDomainName is the caller computer, where bad passwords came from
        workstation = text(data.get("TargetDomainName")) or text(get(doc, "user.target.domain"))
    else:
        workstation = text(data.get("WorkstationName")) or text(get(doc, "source.domain"))
    ip = clean_ip(data.get("IpAddress")) or clean_ip(get(doc, "source.ip"))
    return Event(
        timestamp=ts,
        event_id=stable_event_id(ctx.school_id, DATASET, line),
        category=category,
        type=type_,
        action=action,
        outcome=outcome,
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=line,
        reason=_failure_reason(data, doc) if code == 4625 else None,
        user_name=user,
        source_ip=ip,
        host_name=workstation or computer,
        labels=labels(
            event_code=code,
            logon_type=data.get("LogonType"),
            logon_type_name=get(doc, "winlog.logon.type"),
            status=data.get("Status"),
            sub_status=data.get("SubStatus"),
            domain=data.get("TargetDomainName") if code != 4740 else None,
            computer=computer,
            machine_account=True if user and user.endswith("$") else None,
            locked_out=True if code == 4740 else None,
        ),
    )


def parse_winlogbeat(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> ParseResult:
    """Parser for `auth:winlogbeat`; never raises."""
    return parse_each(lines, ctx, DATASET, parse_line)
