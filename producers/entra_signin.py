"""Microsoft Entra ID sign-in logs as a diagnostic setting exports them.

One record per line (storage account `PT1H.json` blobs) or an Event Hub batch
`{"records": [...]}` per line. A record (Azure Monitor common schema, as in elastic/integrations
packages/azure/data_stream/signinlogs/_dev/test/pipeline/test-signinlogs-raw.log) has `time`,
`category` (SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs,
ManagedIdentitySignInLogs, ADFSSignInLogs), `resultType` ("0" or an AADSTS code as text),
`callerIpAddress`, `Level` (number or text) and `properties` (the Graph signIn resource:
`id`, `createdDateTime`, `userPrincipalName`, `ipAddress`, `clientAppUsed`, `isInteractive`,
`appDisplayName`, `deviceDetail`, `status.errorCode`/`failureReason`/`additionalDetails`).
Times come with `Z`, `+00:00`, `-05:00`, 7-9 fraction digits or in US form; Azure writes UTC,
so a time without a zone is taken as UTC.

`parse_line` returns a list (a batch line holds many records). The event id hashes the
sign-in id, so a sign-in delivered by both storage and Event Hub is one event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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

DATASET = "entra.signin"
SIGNIN_CATEGORIES = frozenset({
    "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs", "ADFSSignInLogs",
})


def _error_code(record: dict[str, Any], props: dict[str, Any]) -> int | None:
    for value in (get(props, "status.errorCode"), record.get("resultType")):
        t = text(value)
        if t is not None and t.lstrip("-").isdigit():
            return int(t)
    return None


def parse_record(record: Any, raw: str, line_no: int, ctx: ParseContext) -> Event | DeadLetter:
    """One sign-in record (already decoded) to an event or a dead letter."""
    if not isinstance(record, dict):
        return dead(ctx, DATASET, line_no, raw, "record is not a JSON object")
    category = text(record.get("category"))
    if category is None and record.get("operationName") == "Sign-in activity":
        category = "SignInLogs"
    if category not in SIGNIN_CATEGORIES:
        return dead(ctx, DATASET, line_no, raw, f"unsupported category {category!r}")
    props = record.get("properties")
    if not isinstance(props, dict):
        return dead(ctx, DATASET, line_no, raw, "record has no properties object")
    ts = checked_timestamp(props.get("createdDateTime") or record.get("time"), ctx,
                           assume_utc=True)
    if isinstance(ts, str):
        return dead(ctx, DATASET, line_no, raw, ts)
    code = _error_code(record, props)
    if code is None:
        return dead(ctx, DATASET, line_no, raw, "no status.errorCode or resultType")
    ok = code == 0
    failure = text(get(props, "status.failureReason")) or text(record.get("resultDescription"))
    detail = props.get("deviceDetail")
    device: dict[str, Any] = detail if isinstance(detail, dict) else {}
    sign_in_id = text(props.get("id"))
    key = f"{category}|{sign_in_id}" if sign_in_id else raw
    return Event(
        timestamp=ts,
        event_id=stable_event_id(ctx.school_id, DATASET, key),
        category="authentication",
        type="start",
        action="logged-in" if ok else "logon-failed",
        outcome="success" if ok else "failure",
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=raw,
        reason=None if ok else f"errorCode {code}: {failure or 'unknown'}",
        user_name=text(props.get("userPrincipalName")) or text(props.get("servicePrincipalName")),
        source_ip=clean_ip(props.get("ipAddress")) or clean_ip(record.get("callerIpAddress")),
        host_name=text(device.get("displayName")) or text(device.get("deviceId")),
        labels=labels(
            log_category=category,
            error_code=code,
            additional_details=get(props, "status.additionalDetails"),
            client_app=props.get("clientAppUsed"),
            interactive=props.get("isInteractive"),
            app=props.get("appDisplayName"),
            os=device.get("operatingSystem"),
            browser=device.get("browser"),
            managed=device.get("isManaged"),
            compliant=device.get("isCompliant"),
            trust_type=device.get("trustType"),
            country=get(props, "location.countryOrRegion") or record.get("location"),
            conditional_access=props.get("conditionalAccessStatus"),
        ),
    )


def parse_line(line_no: int, raw: str, ctx: ParseContext) -> list[Event | DeadLetter]:
    """One line (a record or a `records` batch) to events and dead letters; blank: []."""
    line, obj = json_line(line_no, raw, ctx, DATASET, max_chars=MAX_BATCH_CHARS)
    if obj is None:
        return []
    if isinstance(obj, DeadLetter):
        return [obj]
    if "records" not in obj:
        return [parse_record(obj, line, line_no, ctx)]
    records = obj["records"]
    if not isinstance(records, list):
        return [dead(ctx, DATASET, line_no, line, "records is not a list")]
    if not records:
        return []  # an empty batch carries no record
    return [parse_record(r, dumps(r), line_no, ctx) for r in records]


def parse_entra_signin(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> ParseResult:
    """Parser for `auth:entra`; never raises."""
    return parse_each(lines, ctx, DATASET, parse_line)
