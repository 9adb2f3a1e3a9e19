"""e2guardian, squidGuard, FortiGate and CSV filter logs: real layouts, awkward cases, no crash."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.e2guardian import parse_e2guardian
from producers.filter_csv import parse_filter_csv
from producers.fortigate import parse_fortigate
from producers.parsing import ParseContext, ParseResult
from producers.squidguard import parse_squidguard

CTX = ParseContext(school_id="s", source="x.log", now=datetime(2026, 11, 22, tzinfo=UTC))
T = "\t"


def protex(*fields: str) -> str:
    return T.join(fields)


# e2guardian 5.3 logfileformat 6 (logclienthostandip on: from and clienthost, 20 fields).
E2G_6 = [
    protex("1795285208.110", "", "student1", "10.0.0.7", "10.0.0.7",
           "http://casino.test/x.html", "GET", "403", "0", "text/html",
           "Mozilla/5.0 (X11; Linux x86_64)", "-", "12", "-", "500",
           "*DENIED* Blocked site:  casino.test", "0", "Gambling", "pupils", "2"),
    # German install: the stamp is translated, the message number is not
    protex("1795285209.000", "", "pupil2", "2001:db8::7", "laptop-12.school.lan",
           "https://chat.test:8443/room", "CONNECT", "403", "0", "-", "-", "-", "3", "-",
           "501", "*VERWEIGERT* Verbotene URL: chat.test", "0",
           "Social Networking, Chat", "pupils", "2"),
    # French install, weighted phrase limit
    protex("1795285210.500", "", "eleve3", "10.0.0.9", "10.0.0.9",
           "http://forum.test/t?id=1", "GET", "403", "2048", "text/html", "-", "-", "40", "-",
           "402", "*Accès interdit* Limite de pondération 160 (175)", "175", "Violence",
           "pupils", "2"),
    protex("1795285211.000", "", "student1", "10.0.0.7", "10.0.0.7",
           "https://www.google.com/search?q=how+to+hide+self+harm", "GET", "200", "9000",
           "text/html", "-", "-", "80", "-", "0", "", "0", "", "pupils", "2"),
    protex("1795285212.000", "", "-", "10.0.0.8", "10.0.0.8", "http://bbc.test/news",
           "GET", "200", "5000", "text/html", "-", "-", "9", "-", "602",
           "*EXCEPTION* Site match: bbc.test", "0", "", "staff", "1"),
]
# logfileformat 7/8 (5.5): searchterms and flags appended.
E2G_8 = protex("1795285213.000", "", "student1", "10.0.0.7", "10.0.0.7",
               "https://www.bing.com/search?q=x", "GET", "403", "0", "text/html", "-", "-",
               "5", "-", "521", "*DENIED* Banned Search Words: vpn", "0", "VPN", "pupils",
               "2", "free vpn", "")
# logfileformat 1: space separated, local time, `what` and category contain spaces.
E2G_1 = [
    "2026.11.21 18:20:08 student1 10.0.0.7 http://casino.test/x.html *DENIED* Banned site:"
    " casino.test GET 0 0 Gambling Sites 1 403 text/html 10.0.0.7 pupils"
    " Mozilla/5.0 (X11; Linux) - - - ",
    "2026.11.21 18:20:09  10.0.0.8 http://ok.test:8080/page  GET 1234 0  1 200 text/html"
    " 10.0.0.8 pupils - - - - ",
]
E2G_3 = ("1795285208.110      1 10.0.0.7 TCP_DENIED/403 0 GET http://casino.test/ student1"
         " DEFAULT_PARENT/127.0.0.1 text/html")


def parse(parser: Callable[..., ParseResult], lines: list[str], **kw: str) -> ParseResult:
    return parser(enumerate(lines, 1), CTX, **kw)


def test_e2guardian_format_6_keys_on_message_numbers_not_words() -> None:
    r = parse(parse_e2guardian, E2G_6)
    assert r.dead_letters == []
    a, de, fr, search, exc = r.events
    assert a.timestamp == datetime(2026, 11, 21, 18, 20, 8, 110000, tzinfo=UTC)
    assert (a.action, a.outcome, a.categories) == ("blocked", "failure", ("gambling",))
    assert a.reason == "500 *DENIED* Blocked site:  casino.test"
    assert a.labels == {"e2g.format": "5-6", "e2g.message": "500", "e2g.weight": "0",
                        "e2g.group": "pupils"}
    assert (de.action, de.source_ip, de.host_name) == ("blocked", "2001:db8::7",
                                                        "laptop-12.school.lan")
    assert de.url_domain == "chat.test" and de.categories == ("social-networking", "chat")
    assert (fr.action, fr.labels["e2g.weight"], fr.user_name) == ("blocked", "175", "eleve3")
    assert (search.action, search.outcome) == ("allowed", "success")
    assert search.search_terms == "how to hide self harm" and search.categories == ()
    assert (exc.action, exc.outcome, exc.user_name) == ("exception", "success", None)


def test_e2guardian_other_formats_are_detected_per_line() -> None:
    r = parse(parse_e2guardian, [*E2G_1, E2G_8, E2G_3], tz="Europe/Paris")
    assert r.dead_letters == []
    one, one_b, eight, three = r.events
    # format 1 is local time: Paris is UTC+1 in November
    assert one.timestamp == datetime(2026, 11, 21, 17, 20, 8, tzinfo=UTC)
    assert (one.action, one.categories, one.reason) == (
        "blocked", ("gambling",), "*DENIED* Banned site: casino.test")
    assert (one_b.action, one_b.user_name, one_b.url_domain) == ("allowed", None, "ok.test")
    assert one_b.labels["e2g.format"] == "1" and one_b.categories == ()
    assert eight.search_terms == "free vpn" and eight.labels["e2g.format"] == "7-8"
    assert (three.action, three.http_status, three.reason) == ("blocked", 403,
                                                                 "TCP_DENIED/403")


def test_e2guardian_unknown_number_falls_back_on_stamp_then_status() -> None:
    line = E2G_6[0].replace("\t500\t", "\t777\t")
    line_b = E2G_6[3].replace("\t0\t\t0\t", "\t9876\t*TRUSTED* x\t0\t")
    events = parse(parse_e2guardian, [line, line_b]).events
    assert [e.action for e in events] == ["blocked", "exception"]


def test_e2guardian_malformed_lines_are_dead_letters() -> None:
    bad = ["", "garbage", E2G_6[0].replace("1795285208.110", "0000000000.000"),
           protex("1795285208.110", "a", "b"), E2G_6[0].replace("\t403\t", "\tabc\t"),
           E2G_6[0].replace("\t500\t", "\tfive\t"), E2G_6[0].replace("http://casino.test/x.html",
                                                                     "http:///x")]
    r = parse(parse_e2guardian, bad)
    reasons = [d.reason for d in r.dead_letters]
    assert r.events == [] and len(reasons) == 6
    assert "14 DansGuardian fields" in reasons[0]
    assert "before 2000" in reasons[1]
    assert "19-22 tab-separated" in reasons[2]
    assert "HTTP status" in reasons[3] and "message number" in reasons[4]
    assert "no host" in reasons[5]
    assert all(d.line_no and d.source == "x.log" for d in r.dead_letters)


SG = [
    "2026-11-21 18:20:08 [7541] Request(school/socialmedia/-) http://x.test/feed"
    " 10.0.0.7/host student1 GET REDIRECT",
    "2026-11-21 18:20:09 [7541] Request(default/porn/-) https://adult.test:8443/a"
    " 2001:db8::9/- - CONNECT",
    "2026-07-01 09:00:00 [12] Request(staff/none/-) http://news.test/ 10.0.0.2/- teacher1"
    " GET PASS",
]


def test_squidguard_lines_in_the_school_time_zone() -> None:
    r = parse(parse_squidguard, SG, tz="Europe/London")
    assert r.dead_letters == []
    a, b, c = r.events
    assert a.timestamp == datetime(2026, 11, 21, 18, 20, 8, tzinfo=UTC)  # GMT in November
    assert c.timestamp == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # BST in July
    assert (a.action, a.categories, a.user_name, a.host_name) == (
        "blocked", ("socialmedia",), "student1", "host")
    assert a.labels["sg.source"] == "school" and (a.reason or "").startswith("Request(school/")
    assert (b.source_ip, b.user_name, b.url_domain, b.categories) == (
        "2001:db8::9", None, "adult.test", ("porn",))
    assert (c.action, c.categories) == ("allowed", ())


def test_squidguard_malformed_and_bad_zone() -> None:
    bad = ["2026-11-21 18:20:08 [1] Request(a/b/-) http://x.test/ 10.0.0.7/- - GET ODD",
           "2026-13-40 18:20:08 [1] Request(a/b/-) http://x.test/ 10.0.0.7/- - GET",
           "Request(a/b/-) http://x.test/",
           "2026-11-21 18:20:08 [1] Request(a/b/-) http://x.test/ 1/- - G3T"]
    reasons = [d.reason for d in parse(parse_squidguard, bad).dead_letters]
    assert len(reasons) == 4
    assert "verdict" in reasons[0] and "not a date" in reasons[1]
    assert "not a squidGuard" in reasons[2] and "method" in reasons[3]
    r = parse(parse_squidguard, SG, tz="Mars/Olympus")
    assert r.events == [] and all("time zone" in d.reason for d in r.dead_letters)


FG = [
    'date=2026-11-21 time=18:20:08 logid="0316013056" type="utm" subtype="webfilter"'
    ' eventtype="ftgd_blk" level="warning" vd="root" eventtime=1795285208110123456'
    ' tz="+0000" policyid=1 sessionid=4242 srcip=10.0.0.7 srcport=50123 dstip=203.0.113.5'
    ' dstport=443 service="HTTPS" hostname="x.test" profile="default" action="blocked"'
    ' reqtype="direct" url="https://x.test/feed" sentbyte=517 rcvdbyte=0'
    ' direction="outgoing" msg="URL belongs to a denied category in policy"'
    ' method="domain" cat=37 catdesc="Social Networking" user="student1" group="pupils"',
    # syslog prefix, path-only url, local date/time with a -05:00 offset, escaped quote
    '<189>date=2026-11-21 time=13:20:09 type="utm" subtype="webfilter"'
    ' eventtype="ftgd_allow" tz="-0500" srcip=2001:db8::5 service="HTTP"'
    ' hostname="www.google.com" action="passed" url="/search?q=say+\\"hello\\""'
    ' msg="URL belongs to an allowed category" catdesc="Search Engines and Portals"',
    'date=2026-11-21 time=18:20:10 type="utm" subtype="webfilter" eventtime=1795285210'
    ' srcip=10.0.0.9 hostname="vpn.test:8443" action="monitored" catdesc="Proxy Avoidance"',
]


def test_fortigate_webfilter_lines() -> None:
    r = parse(parse_fortigate, FG)
    assert r.dead_letters == []
    a, b, c = r.events
    assert a.timestamp == datetime(2026, 11, 21, 18, 20, 8, 110123, tzinfo=UTC)
    assert (a.action, a.user_name, a.source_ip, a.url_domain, a.categories) == (
        "blocked", "student1", "10.0.0.7", "x.test", ("social-networking",))
    assert a.http_method is None  # method="domain" is FortiGuard's, not HTTP's
    assert a.labels["fg.group"] == "pupils" and "denied category" in (a.reason or "")
    assert b.timestamp == datetime(2026, 11, 21, 18, 20, 9, tzinfo=UTC)
    assert b.url_original == 'http://www.google.com/search?q=say+"hello"'
    assert (b.action, b.search_terms, b.source_ip) == ("allowed", 'say "hello"', "2001:db8::5")
    assert (c.action, c.url_domain, c.categories) == ("allowed", "vpn.test", ("proxy",))


def test_fortigate_other_subtypes_and_malformed() -> None:
    bad = ['date=2026-11-21 time=18:20:08 type="traffic" subtype="forward" action="accept"',
           "just words", 'type="utm" subtype="webfilter" action="blocked" url="http://x.test/"',
           FG[0].replace('action="blocked"', 'action="teleported"'),
           FG[0].replace("eventtime=1795285208110123456", "eventtime=99999999999999999999999")]
    reasons = [d.reason for d in parse(parse_fortigate, bad).dead_letters]
    assert reasons[0] == "not a web-filter record (subtype=forward)"
    assert reasons[1] == "no key=value fields" and "no eventtime" in reasons[2]
    assert "unknown action" in reasons[3] and len(reasons) == 5


CSV = [
    "time,username,source_ip,group,code,url,categories,search_terms,log_level,extra",
    '2026-11-21T18:20:08+00:00,student1,10.0.0.7,Year 9,blocked,http://casino.test:8080/,'
    '"Gambling, Adult",,warning,x',
    '1795285209,pupil2,2001:db8::7,,200,https://www.google.com/search?q=a,,"how, to\n'
    'hide a bruise",info,',
    '2026-11-21T19:20:10+01:00,,,,403,http://vpn.test/,"VPN;Proxy Avoidance",,,',
    "",
]
CSV = "\n".join(CSV).split("\n")  # physical lines, as the producer hands them over


def test_filter_csv_records_by_header_name_with_multiline_fields() -> None:
    r = parse(parse_filter_csv, CSV)
    assert r.dead_letters == []
    a, b, c = r.events
    assert (a.action, a.categories, a.url_domain, a.labels) == (
        "blocked", ("gambling", "adult"), "casino.test",
        {"csv.group": "Year 9", "csv.log_level": "warning"})
    assert b.search_terms == "how, to hide a bruise" and b.source_ip == "2001:db8::7"
    assert (b.action, b.http_status) == ("allowed", 200)
    assert c.timestamp == datetime(2026, 11, 21, 18, 20, 10, tzinfo=UTC)
    assert (c.action, c.categories, c.user_name) == ("blocked", ("vpn", "proxy"), None)
    # reordered columns, and a later chunk with the header passed in
    hdr = "URL,Code,Time"
    r2 = parse_filter_csv([(1, hdr), (2, "http://a.test/,allowed,1795285208")], CTX)
    r3 = parse_filter_csv([(7, "http://a.test/,allowed,1795285208")], CTX, header=hdr)
    assert [e.url_domain for e in r2.events + r3.events] == ["a.test", "a.test"]
    # line numbers survive a record that spans two lines (lines 3-4)
    dead = parse_filter_csv(enumerate([*CSV[:4], "garbage,,,,,,,,,"], 1), CTX).dead_letters
    assert [d.line_no for d in dead] == [5]


def test_filter_csv_malformed_records_and_missing_header() -> None:
    lines = [CSV[0], "2026-11-21T18:20:08,u,10.0.0.7,,blocked,http://x.test/,,,,",
             "1795285208,u,not-an-ip,,blocked,http://x.test/,,,,",
             "1795285208,u,10.0.0.7,,maybe,http://x.test/,,,,", "1795285208,u"]
    reasons = [d.reason for d in parse(parse_filter_csv, lines).dead_letters]
    assert "no UTC offset" in reasons[0] and "not an IP" in reasons[1]
    assert "not an HTTP status" in reasons[2] and "fewer than" in reasons[3]
    no_header = parse_filter_csv([(5, lines[1])], CTX)
    assert "no header" in no_header.dead_letters[0].reason
    bad_header = parse_filter_csv([(1, "a,b"), (2, "1,2")], CTX)
    assert all("lacks required" in d.reason for d in bad_header.dead_letters)


ALL = [(parse_e2guardian, [*E2G_6, *E2G_1, E2G_8, E2G_3]), (parse_squidguard, SG),
       (parse_fortigate, FG), (parse_filter_csv, CSV)]


def test_same_lines_twice_give_the_same_ids() -> None:
    for parser, lines in ALL:
        a, b = parse(parser, lines).events, parse(parser, lines).events
        assert a and [e.event_id for e in a] == [e.event_id for e in b]
        assert len({e.event_id for e in a}) == len(a)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=20))
def test_arbitrary_text_never_raises_and_counts_balance(lines: list[str]) -> None:
    records = sum(1 for line in lines if line.strip())
    for parser in (parse_e2guardian, parse_squidguard, parse_fortigate):
        assert parser(enumerate(lines, 1), CTX).records_in == records
    # CSV records may span lines; without quotes or line breaks, one line is one record
    flat = [x for x in lines if '"' not in x and not any(c in x for c in "\r\n\x0b\x0c\x1c\x1d"
                                                         "\x1e\x85\u2028\u2029")]
    csv_records = sum(1 for line in flat[1:] if line.strip().strip(","))
    r = parse_filter_csv(enumerate(["time,url,code", *flat[1:]], 1), CTX)
    assert r.records_in == csv_records


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([(p, line) for p, ls in ALL for line in ls if line]),
       st.integers(min_value=0, max_value=400), st.text(max_size=8))
def test_mutated_real_lines_never_raise(case: tuple[Callable[..., ParseResult], str],
                                        pos: int, insert: str) -> None:
    parser, line = case
    pos = min(pos, len(line))
    mutated = line[:pos] + insert + line[pos + len(insert):]
    r = parser([(2, mutated)], CTX, **({"header": CSV[0]} if parser is parse_filter_csv
                                        else {}))
    for d in r.dead_letters:
        assert d.reason and d.raw
    if parser is not parse_filter_csv:
        assert r.records_in == (1 if mutated.strip() else 0)


def test_the_school_time_zone_comes_from_the_context_when_not_passed() -> None:
    if not hasattr(CTX, "timezone"):
        pytest.skip("ParseContext has no timezone in this build")
    paris = dataclasses.replace(CTX, timezone="Europe/Paris")
    for parser, line in ((parse_squidguard, SG[0]), (parse_e2guardian, E2G_1[0])):
        (event,) = parser([(1, line)], paris).events
        assert event.timestamp == datetime(2026, 11, 21, 17, 20, 8, tzinfo=UTC)
