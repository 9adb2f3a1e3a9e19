"""Squid native `access.log` lines -> web events.

Format (`logformat squid`): `%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt`
e.g. `1795285208.110      1 10.0.0.7 TCP_MISS/200 478 GET http://casino.test/x.html student1
HIER_DIRECT/10.9.0.1 text/html` (one line).
Squid URL-encodes spaces in the URL and user name, so the line splits on white space;
fields after the tenth (a custom `logformat` that appends some) are ignored but kept in
the raw record. `%ts` may be padded; `%>a` may be IPv6 or, with `log_fqdn on`, a name.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from producers.parsing import (
    MAX_LINE_CHARS,
    ParseContext,
    ParseResult,
    check_timestamp,
    is_ip,
    parse_each,
    verdict,
)
from safeguard.categories import host_of
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id, utc_from_epoch
from safeguard.search import extract_search_terms

DATASET = "squid.access"


def _dead(ctx: ParseContext, line_no: int, raw: str, reason: str) -> DeadLetter:
    return DeadLetter(school_id=ctx.school_id, dataset=DATASET, stage="parse", reason=reason,
                      raw=raw, source=ctx.source, line_no=line_no)


def parse_line(line_no: int, raw: str, ctx: ParseContext) -> Event | DeadLetter | None:
    """One line to an event or a dead letter; blank lines are None (not records)."""
    line = raw.rstrip("\r\n")
    if not line.strip():
        return None
    if len(line) > MAX_LINE_CHARS:
        return _dead(ctx, line_no, line, f"line longer than {MAX_LINE_CHARS} characters")
    parts = line.split()
    if len(parts) < 10:
        return _dead(ctx, line_no, line, f"expected 10 fields, found {len(parts)}")
    ts_s, _elapsed, client, code_status, size, method, url, user, _hier, _mime = parts[:10]
    try:
        ts = utc_from_epoch(float(ts_s))
    except (ValueError, OverflowError, OSError):
        return _dead(ctx, line_no, line, f"timestamp {ts_s!r} is not epoch seconds")
    reason = check_timestamp(ts, ctx)
    if reason:
        return _dead(ctx, line_no, line, reason)
    code, sep, status_s = code_status.partition("/")
    if not sep or not code or not status_s.isdigit():
        return _dead(ctx, line_no, line, f"result code {code_status!r} is not CODE/STATUS")
    if not size.isdigit() and size != "-":
        return _dead(ctx, line_no, line, f"size {size!r} is not a number")
    if not method.isalpha():
        return _dead(ctx, line_no, line, f"method {method!r} is not an HTTP method")
    domain = host_of(url)
    if domain is None:
        return _dead(ctx, line_no, line, f"URL {url[:200]!r} has no host")
    source_ip = client if is_ip(client) else None
    host_name = None if source_ip else client
    blocked = "DENIED" in code
    status = int(status_s)
    user_name = None if user == "-" else unquote(user)
    return Event(
        timestamp=ts,
        event_id=stable_event_id(ctx.school_id, DATASET, line),
        category="web",
        **verdict("blocked" if blocked else "allowed"),
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=line,
        reason=code if blocked else None,
        user_name=user_name,
        source_ip=source_ip,
        host_name=host_name,
        url_original=url,
        url_domain=domain,
        http_method=method.upper(),
        http_status=status or None,
        search_terms=extract_search_terms(url),
    )


def parse_squid(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> ParseResult:
    return parse_each(lines, ctx, DATASET, parse_line)
