"""Helpers the login-event parsers share: JSON lines, addresses, timestamps, labels.

Every auth source is JSON, one record (or one batch of records) per line, so loading a line,
rejecting what is not a JSON object, and running a per-line parser that never raises live
here once. Addresses come in three dialects: Windows (`-` when unknown, `::1`/`127.0.0.1`
for a console logon, `::ffff:a.b.c.d` for IPv4 over IPv6), Samba's tsocket strings
(`ipv4:a.b.c.d:port`, `ipv6:fe80::1:port`, `unix:/path`) and plain text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from producers.parsing import MAX_LINE_CHARS, ParseContext, check_timestamp
from safeguard.deadletters import DeadLetter
from safeguard.errors import EventError
from safeguard.events import parse_timestamp

# Batches (an Event Hub `records` array, a Reports API page) are legitimately long lines.
MAX_BATCH_CHARS = 16 * 1024 * 1024
_US_TIME = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d\d):(\d\d)(?: ?([AP]M))?(?: ?([+-]\d\d:?\d\d))?$"
)
_FRACTION = re.compile(r"\.(\d+)")


def dead(ctx: ParseContext, dataset: str, line_no: int | None, raw: str,
         reason: str) -> DeadLetter:
    """A parse-stage dead letter of this file."""
    return DeadLetter(school_id=ctx.school_id, dataset=dataset, stage="parse", reason=reason,
                      raw=raw, source=ctx.source, line_no=line_no)


def load_json_object(text: str) -> dict[str, Any] | str:
    """The JSON object in `text`, or a reason why it is not one."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return f"invalid JSON: {exc}"[:300]
    if not isinstance(value, dict):
        return f"expected a JSON object, found {type(value).__name__}"
    return value


def json_line(line_no: int, raw: str, ctx: ParseContext, dataset: str,
              max_chars: int = MAX_LINE_CHARS) -> tuple[str, dict[str, Any] | DeadLetter | None]:
    """(line, object | dead letter | None for a blank line) of one NDJSON line."""
    line = raw.rstrip("\r\n")
    if not line.strip():
        return line, None
    if len(line) > max_chars:
        return line, dead(ctx, dataset, line_no, line, f"line longer than {max_chars} characters")
    obj = load_json_object(line)
    if isinstance(obj, str):
        return line, dead(ctx, dataset, line_no, line, obj)
    return line, obj


def dumps(obj: Any) -> str:
    """Compact, key-sorted JSON: the raw text kept for one record cut out of a batch."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def get(obj: Any, path: str) -> Any:
    """`a.b.c` from nested objects, or from a flat `{"a.b.c": ...}` export; None if absent."""
    if not isinstance(obj, Mapping):
        return None
    if path in obj:
        return obj[path]
    head, sep, rest = path.partition(".")
    if not sep:
        return None
    return get(obj.get(head), rest)


def text(value: Any) -> str | None:
    """A non-empty string with Windows' `-` placeholder and blanks as None; numbers as text."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return None if value in ("", "-") else value


def clean_ip(value: Any) -> str | None:
    """A normalised IP address, or None for `-`, loopback (a console logon) and junk.

    Loopback says nothing about where the person was; the device is in host.name instead.
    `::ffff:a.b.c.d` becomes `a.b.c.d`, `[v6]` and `%zone` are dropped, `a.b.c.d:port` loses
    its port.
    """
    raw = text(value)
    if raw is None:
        return None
    raw = raw.strip("[]")
    if raw.count(":") == 1 and "." in raw:  # a.b.c.d:port
        raw = raw.partition(":")[0]
    raw = raw.partition("%")[0]
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:
        return None
    return str(ip)


def samba_address(value: Any) -> str | None:
    """The IP of a Samba tsocket string: `ipv4:10.0.0.7:53210`, `ipv6:fe80::1:445`.

    Samba prints `prefix:address:port` with no brackets around IPv6 (tsocket_bsd.c), so the
    port is whatever follows the last colon; `unix:` sockets (ncalrpc) have no IP.
    """
    raw = text(value)
    if raw is None:
        return None
    prefix, sep, rest = raw.partition(":")
    if not sep:
        return clean_ip(raw)
    if prefix not in ("ipv4", "ipv6"):
        return None
    if rest.startswith("["):
        return clean_ip(rest[1:].partition("]")[0])
    address, _, port = rest.rpartition(":")
    if not address or not port.isdigit():
        return clean_ip(rest)
    return clean_ip(address)


def timestamp(value: Any, *, assume_utc: bool = False) -> datetime | str:
    """An aware UTC datetime from ISO 8601 (`Z`, `+01:00`, `+0000`, 7-9 fraction digits) or
    `M/D/YYYY h:mm:ss [AM|PM] [+hh:mm]`; otherwise the reason it is not one."""
    if not isinstance(value, str) or not value.strip():
        return f"timestamp {value!r} is missing or not text"
    raw = value.strip()
    us = _US_TIME.match(raw)
    if us:
        month, day, year, hour, minute, second, ampm, offset = us.groups()
        h = int(hour) % 12 + (12 if ampm == "PM" else 0) if ampm else int(hour)
        iso = f"{year}-{int(month):02d}-{int(day):02d}T{h:02d}:{minute}:{second}{offset or ''}"
    else:
        iso = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), raw, count=1)
    try:
        ts = datetime.fromisoformat(iso.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return f"timestamp {raw[:80]!r} is not ISO 8601"
    if ts.tzinfo is None:
        if not assume_utc:
            return f"timestamp {raw[:80]!r} has no time zone"
        ts = ts.replace(tzinfo=UTC)
    try:
        return parse_timestamp(ts)
    except (EventError, OverflowError) as exc:
        return f"timestamp {raw[:80]!r}: {exc}"


def checked_timestamp(value: Any, ctx: ParseContext, *, assume_utc: bool = False) -> datetime | str:
    """`timestamp` plus the plausibility check every parser applies."""
    ts = timestamp(value, assume_utc=assume_utc)
    if isinstance(ts, str):
        return ts
    return check_timestamp(ts, ctx) or ts


def labels(**values: Any) -> dict[str, str]:
    """String labels from whatever is present: bools as true/false, blanks dropped."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            t = text(value)
            if t is not None:
                out[key] = t[:200]
    return out
