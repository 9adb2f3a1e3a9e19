"""FortiGate (FortiOS) web-filter log lines, `key=value` pairs -> web events.

e.g. `date=2026-11-21 time=18:20:08 type="utm" subtype="webfilter" eventtype="ftgd_blk"
eventtime=1795285208110123456 tz="+0000" srcip=10.0.0.7 hostname="x.test" action="blocked"
url="https://x.test/feed" msg="URL belongs to a denied category in policy" cat=37
catdesc="Social Networking" user="student1" group="pupils"` (one line, often behind a
syslog `<189>` prefix). Values may be quoted, with spaces and `\\"` inside; keys come and go
between FortiOS versions, so every field but the time is optional. Older FortiOS logs `url`
as the path only, next to `hostname`. `method` is FortiGuard's rating method ("domain"),
not the HTTP one (`httpmethod` in newer versions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from producers.parsing import (
    MAX_LINE_CHARS,
    ParseContext,
    ParseResult,
    check_timestamp,
    is_ip,
    parse_each,
    school_zone,
    verdict,
)
from safeguard.categories import host_of, normalise_category
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id, utc_from_epoch
from safeguard.search import extract_search_terms

DATASET = "fortigate.webfilter"

# A key starts where no key character precedes it: without that look-behind, a long run of
# key characters with no `=` is retried from every position (quadratic: ~60 s for 64 KB).
_PAIR = re.compile(r'(?<![\w.-])([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_UNESCAPE = re.compile(r"\\(.)")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
ACTIONS = {"blocked": "blocked", "block": "blocked", "passed": "allowed", "pass": "allowed",
           "passthrough": "allowed",  # FortiOS: allowed (ftgd_allow) and monitored requests
           "monitored": "allowed", "allowed": "allowed", "exempt": "exception"}
_UTC = ZoneInfo("UTC")


def _dead(ctx: ParseContext, line_no: int, raw: str, reason: str) -> DeadLetter:
    return DeadLetter(school_id=ctx.school_id, dataset=DATASET, stage="parse", reason=reason,
                      raw=raw, source=ctx.source, line_no=line_no)


def parse_pairs(line: str) -> dict[str, str]:
    """All key=value pairs; quotes removed and `\\"` unescaped; the first of a repeated key."""
    out: dict[str, str] = {}
    for key, value in _PAIR.findall(line):
        if value.startswith('"'):
            value = _UNESCAPE.sub(r"\1", value[1:-1])
        out.setdefault(key, value)
    return out


def _epoch(text: str) -> datetime:
    """`eventtime` is s, ms, us or ns depending on FortiOS version: tell by magnitude."""
    n = int(text)
    for scale, per_second in ((10**18, 10**9), (10**15, 10**6), (10**12, 10**3)):
        if n >= scale:  # integer maths: a float would round the microseconds
            seconds, frac = divmod(n, per_second)
            return utc_from_epoch(seconds) + timedelta(microseconds=frac * 10**6 // per_second)
    return utc_from_epoch(n)


def _timestamp(f: dict[str, str], default_tz: ZoneInfo) -> datetime | str:
    """eventtime if present, else date+time in `tz` (an offset) or the default zone."""
    if f.get("eventtime", "").isdigit():
        return _epoch(f["eventtime"])
    if not (f.get("date") and f.get("time")):
        return "no eventtime and no date/time"
    try:
        local = datetime.fromisoformat(f"{f['date']}T{f['time']}")
    except ValueError:
        return f"date/time {f['date'][:20]!r} {f['time'][:20]!r} not ISO"
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    off = _OFFSET.fullmatch(f.get("tz", "").strip())
    if off:
        sign = -1 if off[1] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(off[2]), minutes=int(off[3])))
        return local.replace(tzinfo=zone).astimezone(UTC)
    return local.replace(tzinfo=default_tz).astimezone(UTC)


def _url(f: dict[str, str]) -> str:
    url, host = f.get("url", ""), f.get("hostname", "")
    if url.startswith("/") and host:
        scheme = "https" if f.get("service", "").upper() == "HTTPS" else "http"
        return f"{scheme}://{host}{url}"
    return url or host


def parse_line(line_no: int, raw: str, ctx: ParseContext, tz: ZoneInfo = _UTC
               ) -> Event | DeadLetter | None:
    """One line to an event or a dead letter; blank lines are None (not records)."""
    line = raw.rstrip("\r\n")
    if not line.strip():
        return None
    if len(line) > MAX_LINE_CHARS:
        return _dead(ctx, line_no, line, f"line longer than {MAX_LINE_CHARS} characters")
    f = parse_pairs(line)
    if not f:
        return _dead(ctx, line_no, line, "no key=value fields")
    subtype = f.get("subtype", "")
    if subtype != "webfilter":
        return _dead(ctx, line_no, line,
                     f"not a web-filter record (subtype={subtype[:40] or '-'})")
    try:
        ts = _timestamp(f, tz)
    except (ValueError, OverflowError, OSError):
        return _dead(ctx, line_no, line, f"eventtime {f.get('eventtime', '')[:30]!r} invalid")
    if isinstance(ts, str):
        return _dead(ctx, line_no, line, ts)
    reason = check_timestamp(ts, ctx)
    if reason:
        return _dead(ctx, line_no, line, reason)
    fg_action = f.get("action", "").lower()
    action = ACTIONS.get(fg_action)
    if action is None:
        return _dead(ctx, line_no, line, f"unknown action {fg_action[:30]!r}")
    url = _url(f)
    domain = host_of(url)
    if domain is None:
        return _dead(ctx, line_no, line, f"URL {url[:200]!r} has no host")
    src = f.get("srcip", "")
    method = f.get("httpmethod", "").upper()
    user = f.get("user", "") or f.get("unauthuser", "")
    cat = normalise_category(f.get("catdesc", ""))
    labels = {f"fg.{k}": f[k] for k in ("eventtype", "policyid", "profile", "cat", "group",
                                        "level", "vd") if f.get(k)}
    labels["fg.action"] = fg_action
    return Event(
        timestamp=ts,
        event_id=stable_event_id(ctx.school_id, DATASET, line),
        category="web",
        **verdict(action),
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=line,
        reason=" ".join(p for p in (f.get("eventtype", ""), f.get("msg", "")) if p) or None,
        user_name=user if user and user != "N/A" else None,
        source_ip=src if is_ip(src) else None,
        host_name=f.get("srcname") or None,
        url_original=url,
        url_domain=domain,
        http_method=method if method.isalpha() else None,
        categories=(cat,) if cat else (),
        search_terms=extract_search_terms(url),
        labels=labels,
    )


def parse_fortigate(lines: Iterable[tuple[int, str]], ctx: ParseContext,
                    tz: str | None = None) -> ParseResult:
    """All lines, never raising; `tz` is only used for date/time lines without `tz=`."""
    zone = school_zone(ctx, tz) or _UTC  # only matters for lines lacking eventtime and tz=
    return parse_each(lines, ctx, DATASET,
                      lambda line_no, raw, c: parse_line(line_no, raw, c, zone))
