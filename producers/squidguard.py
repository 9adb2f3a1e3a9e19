"""squidGuard block log lines -> web events.

Format (squidGuard's `log` directive in a dest/acl block writes one line per redirect):
`2026-11-21 18:20:08 [7541] Request(school/socialmedia/-) http://x.test/feed
10.0.0.7/host student1 GET REDIRECT` (one line): local date-time, [pid],
Request(source class/destination class/rewrite), URL, client IP/FQDN (`-` when
unresolved), ident (`-` when unknown), method, and, in later versions, REDIRECT or PASS.
The time has no zone (it is the proxy's local clock), so the caller passes the school's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from producers.parsing import (
    MAX_LINE_CHARS,
    ParseContext,
    ParseResult,
    check_timestamp,
    is_ip,
    parse_each,
    school_zone,
    unknown_zone,
    verdict,
)
from safeguard.categories import host_of, normalise_category
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id
from safeguard.search import extract_search_terms

DATASET = "squidguard.block"

_LINE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2}) +\[(?P<pid>\d+)\] +"
    r"Request\((?P<src>[^/()]*)/(?P<dest>[^/()]*)/(?P<rewrite>[^()]*)\) +"
    r"(?P<url>\S+) +(?P<client>\S+) +(?P<ident>\S+) +(?P<method>\S+)"
    r"(?: +(?P<verdict>\S+))?\s*"
)
_UTC = ZoneInfo("UTC")
_NO_CLASS = frozenset({"", "-", "none", "unknown"})


def _dead(ctx: ParseContext, line_no: int, raw: str, reason: str) -> DeadLetter:
    return DeadLetter(school_id=ctx.school_id, dataset=DATASET, stage="parse", reason=reason,
                      raw=raw, source=ctx.source, line_no=line_no)


def parse_line(line_no: int, raw: str, ctx: ParseContext, tz: ZoneInfo = _UTC
               ) -> Event | DeadLetter | None:
    """One line to an event or a dead letter; blank lines are None (not records)."""
    line = raw.rstrip("\r\n")
    if not line.strip():
        return None
    if len(line) > MAX_LINE_CHARS:
        return _dead(ctx, line_no, line, f"line longer than {MAX_LINE_CHARS} characters")
    m = _LINE.fullmatch(line)
    if m is None:
        return _dead(ctx, line_no, line,
                     "not a squidGuard request line (date time [pid] Request(src/dest/rw) "
                     "url ip/fqdn ident method)")
    try:
        local = datetime.fromisoformat(f"{m['date']}T{m['time']}")
    except ValueError:
        return _dead(ctx, line_no, line, f"timestamp {m['date']} {m['time']} is not a date")
    ts = local.replace(tzinfo=tz).astimezone(UTC)
    reason = check_timestamp(ts, ctx)
    if reason:
        return _dead(ctx, line_no, line, reason)
    method = m["method"]
    if not method.isalpha():
        return _dead(ctx, line_no, line, f"method {method[:20]!r} is not an HTTP method")
    word = (m["verdict"] or "REDIRECT").upper()
    if word not in ("REDIRECT", "PASS", "BLOCK", "BLOCKED"):
        return _dead(ctx, line_no, line, f"unknown trailing verdict {word[:20]!r}")
    url = m["url"]
    domain = host_of(url)
    if domain is None:
        return _dead(ctx, line_no, line, f"URL {url[:200]!r} has no host")
    ip, _, fqdn = m["client"].partition("/")
    source_ip = ip if is_ip(ip) else None
    host_name = fqdn if fqdn not in ("", "-") and not is_ip(fqdn) else (
        ip if ip not in ("", "-") and source_ip is None else None)
    dest = m["dest"].strip()
    category = normalise_category(dest) if dest.lower() not in _NO_CLASS else ""
    blocked = word != "PASS"
    ident = m["ident"]
    labels = {"sg.source": m["src"], "sg.rewrite": m["rewrite"], "sg.pid": m["pid"],
              "sg.verdict": word}
    return Event(
        timestamp=ts,
        event_id=stable_event_id(ctx.school_id, DATASET, line),
        category="web",
        **verdict("blocked" if blocked else "allowed"),
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=line,
        reason=f"Request({m['src']}/{dest}/{m['rewrite']}) {word}",
        user_name=None if ident == "-" else unquote(ident),
        source_ip=source_ip,
        host_name=host_name,
        url_original=url,
        url_domain=domain,
        http_method=method.upper(),
        categories=(category,) if category else (),
        search_terms=extract_search_terms(url),
        labels=labels,
    )


def parse_squidguard(lines: Iterable[tuple[int, str]], ctx: ParseContext,
                     tz: str | None = None) -> ParseResult:
    """All lines, never raising; `tz` is the IANA zone of the proxy's local clock."""
    zone = school_zone(ctx, tz)
    if zone is None:  # every record becomes a dead letter saying why, rather than a guess
        return parse_each(lines, ctx, DATASET, unknown_zone(ctx, DATASET, tz))
    return parse_each(lines, ctx, DATASET,
                      lambda line_no, raw, c: parse_line(line_no, raw, c, zone))
