"""The documented CSV for web-filter exports the product has no native parser for.

Smoothwall-style reports and other filters' exports are mapped to this by the school:
RFC 4180 CSV, UTF-8, a header row first, columns found by header name (any order, any
case; unknown extra columns are ignored but stay in the raw record):

- `time` (required): ISO 8601 with a UTC offset (`2026-11-21T18:20:08+00:00`, `...Z`) or
  epoch seconds (`1795285208.110`). A time without an offset is rejected, not guessed.
- `url` (required): the requested URL (or bare host).
- `code` (required): the HTTP status (403 means the filter blocked it, as in Squid and
  e2guardian logs) or a verdict word: blocked/denied/block, allowed/passed/pass, exception.
- `username`, `source_ip`, `group`, `categories` (`;` or `,` separated inside the quoted
  field), `search_terms`, `log_level`: optional, may be empty.

Quoted fields may hold commas and line breaks, so a record can span lines; its `line_no`
is the line it starts on. The header is the file's line 1: a chunk that starts later
needs it passed as `header` (the producer reads line 1 once per file). This keeps the
parser a pure function of its input, with no cache to go stale between files.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from producers.parsing import (
    MAX_LINE_CHARS,
    ParseContext,
    ParseResult,
    check_timestamp,
    is_ip,
    verdict,
)
from safeguard.categories import host_of, normalise_category
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id, utc_from_epoch
from safeguard.search import extract_search_terms

DATASET = "filter.csv"
COLUMNS = ("time", "username", "source_ip", "group", "code", "url", "categories",
           "search_terms", "log_level")
REQUIRED = ("time", "url", "code")
VERDICTS = {"blocked": "blocked", "denied": "blocked", "block": "blocked", "deny": "blocked",
            "allowed": "allowed", "passed": "allowed", "pass": "allowed", "allow": "allowed",
            "exception": "exception"}
_EPOCH = re.compile(r"\d{9,11}(?:\.\d{1,9})?")


def _dead(ctx: ParseContext, line_no: int, raw: str, reason: str) -> DeadLetter:
    return DeadLetter(school_id=ctx.school_id, dataset=DATASET, stage="parse", reason=reason,
                      raw=raw, source=ctx.source, line_no=line_no)


def header_columns(header: str) -> dict[str, int] | str:
    """Column name -> index from a header line, or the reason it is not a usable header."""
    try:
        names = next(csv.reader([header.lstrip("\ufeff").rstrip("\r\n")]), [])
    except csv.Error as exc:
        return f"header is not CSV: {exc}"
    cols: dict[str, int] = {}
    for i, name in enumerate(names):
        cols.setdefault(name.strip().lower(), i)
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        return f"header lacks required column(s) {', '.join(missing)}"
    return cols


def _time(text: str) -> datetime | str:
    text = text.strip()
    if _EPOCH.fullmatch(text):
        return utc_from_epoch(float(text))
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return f"time {text[:40]!r} is neither ISO 8601 nor epoch seconds"
    if ts.tzinfo is None:
        return f"time {text[:40]!r} has no UTC offset"
    return ts.astimezone(UTC)


def parse_record(line_no: int, raw: str, row: list[str], cols: dict[str, int],
                 ctx: ParseContext) -> Event | DeadLetter:
    """One CSV record (already split) to an event or a dead letter."""
    def get(name: str) -> str:
        i = cols.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    if len(raw) > MAX_LINE_CHARS:
        return _dead(ctx, line_no, raw, f"record longer than {MAX_LINE_CHARS} characters")
    if len(row) <= max(cols[c] for c in REQUIRED):
        return _dead(ctx, line_no, raw, f"{len(row)} fields, fewer than the header's required")
    try:
        ts = _time(get("time"))
    except (ValueError, OverflowError, OSError):
        return _dead(ctx, line_no, raw, f"time {get('time')[:40]!r} out of range")
    if isinstance(ts, str):
        return _dead(ctx, line_no, raw, ts)
    reason = check_timestamp(ts, ctx)
    if reason:
        return _dead(ctx, line_no, raw, reason)
    code = get("code").lower()
    status = int(code) if code.isdigit() and len(code) == 3 else None
    action = VERDICTS.get(code) or (("blocked" if status == 403 else "allowed") if status
                                    else None)
    if action is None:
        return _dead(ctx, line_no, raw, f"code {code[:30]!r} is not an HTTP status or verdict")
    url = get("url")
    domain = host_of(url)
    if domain is None:
        return _dead(ctx, line_no, raw, f"URL {url[:200]!r} has no host")
    ip = get("source_ip")
    if ip and not is_ip(ip):
        return _dead(ctx, line_no, raw, f"source_ip {ip[:60]!r} is not an IP address")
    cats = tuple(dict.fromkeys(c for c in (normalise_category(p) for p in
                                           re.split(r"[;,]", get("categories"))) if c))
    labels = {f"csv.{k}": get(k) for k in ("group", "log_level") if get(k)}
    user, terms = get("username"), get("search_terms")
    blocked = action == "blocked"
    return Event(
        timestamp=ts,
        event_id=stable_event_id(ctx.school_id, DATASET, raw),
        category="web",
        **verdict(action),
        dataset=DATASET,
        school_id=ctx.school_id,
        raw=raw,
        reason=get("code") if blocked else None,
        user_name=user if user and user != "-" else None,
        source_ip=ip or None,
        url_original=url,
        url_domain=domain,
        http_status=status,
        categories=cats,
        search_terms=" ".join(terms.split()).lower() if terms else extract_search_terms(url),
        labels=labels,
    )


def parse_filter_csv(lines: Iterable[tuple[int, str]], ctx: ParseContext,
                     header: str | None = None) -> ParseResult:
    """All records of a chunk, never raising; line 1 of a file is always its header."""
    result = ParseResult()
    cols: dict[str, int] | str = header_columns(header) if header is not None else (
        "no header: the chunk does not start at line 1 and none was passed")
    texts: list[tuple[int, str]] = []  # physical lines handed to the csv reader

    def feed() -> Iterator[str]:
        for line_no, text in lines:
            texts.append((line_no, text))
            yield text if text.endswith("\n") else text + "\n"

    reader = csv.reader(feed(), strict=False)
    done = 0  # physical lines consumed by finished records
    while True:
        try:
            row: list[str] | None = next(reader)
            error = None
        except StopIteration:
            break
        except Exception as exc:  # csv.Error (field too large, ...) or a bad iterator item
            row, error = None, f"unparseable CSV: {exc}"
        if len(texts) == done:
            break  # no progress: nothing left to read
        start_no = texts[done][0]
        raw = "".join(t for _, t in texts[done:]).rstrip("\r\n")
        done = len(texts)
        if error is not None:
            result.dead_letters.append(_dead(ctx, start_no, raw, error))
            continue
        if row is None or not any(f.strip() for f in row):
            continue  # blank line: not a record
        if start_no == 1:
            cols = header_columns(raw)
            if isinstance(cols, str):
                result.dead_letters.append(_dead(ctx, start_no, raw, cols))
            continue
        try:
            out = (_dead(ctx, start_no, raw, cols) if isinstance(cols, str)
                   else parse_record(start_no, raw, row, cols, ctx))
        except Exception as exc:
            out = _dead(ctx, start_no, raw, f"unparseable: {type(exc).__name__}: {exc}")
        if isinstance(out, Event):
            result.events.append(out)
        else:
            result.dead_letters.append(out)
    return result
