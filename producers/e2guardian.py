"""e2guardian access log lines -> web events, any `logfileformat` (1-8), detected per line.

Column orders are those of e2guardian 5.3 `FatController.cpp` (`log_listener`, the
`switch (o.log_file_format)`) and 5.5 `AccessLogger.cpp` (`FORMAT_DG`, `FORMAT_PROTEX`);
`configs/e2guardian.conf.in` documents the numbers ("1 = Dansguardian format (space
delimited) ... 6 = Protex format with server field blanked"):

- 1 (space), 2 (CSV, every field quoted), 4 (tab) - the DansGuardian order:
  when who from where what how size weight category group# code mimetype clienthost
  groupname useragent params logid1 logid2 postdata. `when` is local time
  `%Y.%m.%d %H:%M:%S`, followed by ` epoch.ms` when `logtimestamp` is on.
- 3 - Squid style: epoch.ms duration client TCP_x/code size how where who hier mimetype.
- 5, 6 - Protex, tab separated: epoch.ms server who from clienthost where how code size
  mimetype useragent - duration - message_no what weight category groupname group#
  (`from` and `clienthost` are one column unless `logclienthostandip` is on).
- 7, 8 - as 5/6 plus searchterms and flags.

The message number (data/languages/*/messages) is the language-independent reason;
the `*DENIED*` stamp in `what` is translated (German `*VERWEIGERT*`, French
`*Accès interdit*`), so it is only a fallback, after the 403 e2guardian logs for blocks.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import UTC, datetime
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
from safeguard.events import Event, stable_event_id, utc_from_epoch
from safeguard.search import extract_search_terms

DATASET = "e2guardian.access"

_EXCEPTION_NUMBERS = frozenset({456, 457, *range(600, 700)})
_ERROR_NUMBERS = frozenset(range(150, 211))  # TLS and upstream/network failures
_ALLOWED_NUMBERS = frozenset({0, *range(1200, 1300)})  # download-manager progress
# 1-121 client/IP bans, 300-455 phrases and search terms, 500-581 sites/URLs, 700-900
# uploads, MIME types and extensions, 1000 PICS, 1100 virus, 1101 advert.
_BLOCKED_NUMBERS = frozenset({*range(1, 150), *range(300, 456), *range(500, 600),
                              *range(700, 1000), 1000, 1100, 1101})
# Stamps e2guardian puts in `what` (messages 51-59), English and shipped translations.
_DENIED_WORDS = frozenset({"DENIED", "INFECTED", "VERWEIGERT", "INFIZIERT", "ACCÈS INTERDIT",
                           "INFECTÉ"})
_EXCEPTION_WORDS = frozenset({"EXCEPTION", "TRUSTED", "VERTRAUENSWÜRDIG", "CERTIFIÉ"})
_STAMP = re.compile(r"\*([^*]{1,40})\*")
_EPOCH = re.compile(r"\d{9,11}\.\d{1,6}")
_DATE = re.compile(r"\d{4}\.\d{1,2}\.\d{1,2}")
_TIME = re.compile(r"\d{1,2}:\d{2}:\d{2}")
_METHOD = re.compile(r"[A-Z][A-Z_-]{1,19}")
_INT = re.compile(r"-?\d{1,18}")
_CODE = re.compile(r"\d{3}")


def _dead(ctx: ParseContext, line_no: int, raw: str, reason: str) -> DeadLetter:
    return DeadLetter(school_id=ctx.school_id, dataset=DATASET, stage="parse", reason=reason,
                      raw=raw, source=ctx.source, line_no=line_no)


def classify(message_no: int | None, what: str, code: int | None) -> str:
    """blocked / allowed / exception / error: message number first, never English text."""
    if message_no is None:
        return _by_stamp(what, code)
    for numbers, action in ((_ALLOWED_NUMBERS, "allowed"), (_EXCEPTION_NUMBERS, "exception"),
                            (_ERROR_NUMBERS, "error"), (_BLOCKED_NUMBERS, "blocked")):
        if message_no in numbers:
            return action
    return _by_stamp(what, code)


def _by_stamp(what: str, code: int | None) -> str:
    stamps = {s.split("-")[0].strip().upper() for s in _STAMP.findall(what[:200])}
    if stamps & _DENIED_WORDS:
        return "blocked"
    if "NETERROR" in stamps:
        return "error"
    if stamps & _EXCEPTION_WORDS:
        return "exception"
    return "blocked" if code == 403 else "allowed"


def _local(date: str, time: str, tz: ZoneInfo) -> datetime:
    y, m, d = (int(p) for p in date.split("."))
    hh, mm, ss = (int(p) for p in time.split(":"))
    return datetime(y, m, d, hh, mm, ss, tzinfo=tz).astimezone(UTC)


def _dg_when(tokens: list[str], tz: ZoneInfo) -> tuple[datetime, int]:
    """`when` of formats 1/2/4 as tokens: date, time, optional epoch; returns (ts, count)."""
    if len(tokens) >= 3 and _EPOCH.fullmatch(tokens[2]):
        return utc_from_epoch(float(tokens[2])), 3
    return _local(tokens[0], tokens[1], tz), 2


def _split_format1(line: str) -> list[str] | None:
    """Format 1 fields, anchored on known shapes: `what` and `category` contain spaces.

    Equivalent to the regex `date time [epoch] who from where (what) METHOD size weight
    (category) group code mimetype clienthost groupname rest`, scanned token by token so
    a hostile line cannot make it backtrack."""
    t = line.split(" ")
    if len(t) < 15 or not (_DATE.fullmatch(t[0]) and _TIME.fullmatch(t[1])):
        return None
    i = 3 if _EPOCH.fullmatch(t[2]) else 2
    who, frm, where = t[i:i + 3]
    m = next((k for k in range(i + 3, len(t) - 2) if _METHOD.fullmatch(t[k])
              and _INT.fullmatch(t[k + 1]) and _INT.fullmatch(t[k + 2])), None)
    if m is None:
        return None
    g = next((k for k in range(m + 3, len(t) - 1) if t[k].isdigit()
              and _CODE.fullmatch(t[k + 1])), None)
    if g is None:
        return None
    tail = t[g + 2:g + 5] + [""] * max(0, 3 - len(t[g + 2:]))
    return [" ".join(t[:i]), who, frm, where, " ".join(t[i + 3:m]), t[m], t[m + 1], t[m + 2],
            " ".join(t[m + 3:g]), t[g], t[g + 1], *tail]


def _fields(line: str, tz: ZoneInfo) -> dict[str, str] | str:
    """Named fields of a line in whichever format it is, or the reason it is none."""
    if line.startswith('"'):
        row = next(csv.reader([line]), [])
        fmt, dg = "2", row
    elif "\t" in line:
        parts = line.split("\t")
        if _EPOCH.fullmatch(parts[0]):
            return _protex(parts)
        fmt, dg = "4", parts
    elif _EPOCH.fullmatch(line.split(" ", 1)[0]):
        return _squid_style(line.split())
    else:
        fmt, dg = "1", _split_format1(line) or []
    if len(dg) < 14:
        return f"format {fmt}: expected at least 14 DansGuardian fields, found {len(dg)}"
    names = ("when", "who", "from", "where", "what", "how", "size", "weight", "category",
             "group_no", "code", "mimetype", "clienthost", "groupname")
    out = dict(zip(names, dg, strict=False))
    out["format"] = fmt
    return out


def _protex(parts: list[str]) -> dict[str, str] | str:
    n = len(parts)
    if n not in (19, 20, 21, 22):
        return f"expected 19-22 tab-separated fields, found {n}"
    both = n in (20, 22)  # logclienthostandip: from and clienthost are two columns
    head = ["when", "server", "who", "from", "clienthost"] if both else [
        "when", "server", "who", "from"]
    names = [*head, "where", "how", "code", "size", "mimetype", "useragent", "squid_code",
             "duration", "peer_code", "message_no", "what", "weight", "category",
             "groupname", "group_no", "search_terms", "flags"]
    out = dict(zip(names, parts, strict=False))
    out["format"] = "5-6" if n < 21 else "7-8"
    if not both:
        out["clienthost"] = out["from"]
    return out


def _squid_style(parts: list[str]) -> dict[str, str] | str:
    if len(parts) == 9:  # an empty `who` collapses under split()
        parts.insert(7, "")
    if len(parts) != 10:
        return f"format 3: expected 10 fields, found {len(parts)}"
    hit, _, code = parts[3].partition("/")  # TCP_DENIED/403 is e2guardian's block
    return {"when": parts[0], "from": parts[2], "clienthost": parts[2], "code": code,
            "size": parts[4], "how": parts[5], "where": parts[6], "who": parts[7],
            "mimetype": parts[9], "what": parts[3] if "DENIED" in hit else "",
            "format": "3"}


def parse_line(line_no: int, raw: str, ctx: ParseContext, tz: str = "UTC"
               ) -> Event | DeadLetter | None:
    """One line of any format to an event or a dead letter; blank lines are None."""
    line = raw.rstrip("\r\n")
    if not line.strip():
        return None
    if len(line) > MAX_LINE_CHARS:
        return _dead(ctx, line_no, line, f"line longer than {MAX_LINE_CHARS} characters")
    f = _fields(line, ZoneInfo(tz))
    if isinstance(f, str):
        return _dead(ctx, line_no, line, f)
    when = f["when"].split(" ")
    try:
        if _EPOCH.fullmatch(f["when"]):
            ts = utc_from_epoch(float(f["when"]))
        elif len(when) >= 2 and _DATE.fullmatch(when[0]) and _TIME.fullmatch(when[1]):
            ts = _dg_when(when, ZoneInfo(tz))[0]
        else:
            return _dead(ctx, line_no, line, f"timestamp {f['when'][:40]!r} not recognised")
    except (ValueError, OverflowError, OSError):
        return _dead(ctx, line_no, line, f"timestamp {f['when'][:40]!r} is not a valid time")
    reason = check_timestamp(ts, ctx)
    if reason:
        return _dead(ctx, line_no, line, reason)
    code_s, msg_s = f.get("code", ""), f.get("message_no", "").strip()
    if not _CODE.fullmatch(code_s):
        return _dead(ctx, line_no, line, f"HTTP status {code_s[:20]!r} is not a number")
    if msg_s not in ("", "-") and not msg_s.isdigit():
        return _dead(ctx, line_no, line, f"message number {msg_s[:20]!r} is not a number")
    method = f.get("how", "")
    if not _METHOD.fullmatch(method):
        return _dead(ctx, line_no, line, f"method {method[:20]!r} is not an HTTP method")
    url = f["where"]
    domain = host_of(url)
    if domain is None:
        return _dead(ctx, line_no, line, f"URL {url[:200]!r} has no host")
    status, what = int(code_s), f.get("what", "")
    message_no = int(msg_s) if msg_s.isdigit() else None
    action = classify(message_no, what, status)
    client, host = f.get("from", ""), f.get("clienthost", "")
    source_ip = client if is_ip(client) else (host if is_ip(host) else None)
    host_name = host if host not in ("", "-") and not is_ip(host) else (
        client if client not in ("", "-") and not is_ip(client) else None)
    names = (c.strip() for c in f.get("category", "").split(","))
    cats = tuple(dict.fromkeys(n for n in (normalise_category(c) for c in names
                                           if c not in ("-", "N/A")) if n))
    labels = {"e2g.format": f["format"]}
    for key, name in (("e2g.message", "message_no"), ("e2g.weight", "weight"),
                      ("e2g.group", "groupname")):
        value = f.get(name, "").strip()
        if value and value != "-":
            labels[key] = value
    user = f.get("who", "").strip()
    terms = f.get("search_terms", "").strip()
    return Event(
        timestamp=ts,
        event_id=stable_event_id(ctx.school_id, DATASET, line),
        category="web",
        **verdict(action),
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=line,
        reason=" ".join(p for p in (msg_s if msg_s != "-" else "", what.strip()) if p) or None,
        user_name=None if user in ("", "-") else user,
        source_ip=source_ip,
        host_name=host_name,
        url_original=url,
        url_domain=domain,
        http_method=method,
        http_status=status or None,
        categories=cats,
        search_terms=(terms.lower() if terms and terms != "-" else None)
        or extract_search_terms(url),
        labels=labels,
    )


def parse_e2guardian(lines: Iterable[tuple[int, str]], ctx: ParseContext,
                     tz: str | None = None) -> ParseResult:
    """All lines, never raising; `tz` (default: the school's) is the zone of formats 1/2/4."""
    zone = school_zone(ctx, tz)
    if zone is None:  # every record becomes a dead letter saying why, rather than a guess
        return parse_each(lines, ctx, DATASET, unknown_zone(ctx, DATASET, tz))
    name = zone.key
    return parse_each(lines, ctx, DATASET,
                      lambda line_no, raw, c: parse_line(line_no, raw, c, name))
