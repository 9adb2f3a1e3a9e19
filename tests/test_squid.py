"""Squid native access.log parsing: real-format lines, awkward cases, and never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from producers.parsing import ParseContext
from producers.squid import parse_squid
from tests.conftest import squid_line

NOW = datetime(2026, 11, 22, tzinfo=UTC)
CTX = ParseContext(school_id="s", source="access.log", now=NOW)
# Lines as Squid 5/6 writes them with `logformat squid` (the default `access_log ... squid`).
REAL = [
    "1795285208.110      1 10.0.0.7 TCP_MISS/200 478 GET http://casino.test/x.html student1 HIER_DIRECT/10.9.0.1 text/html",
    "1795285209.412    112 10.0.0.8 TCP_TUNNEL/200 5123 CONNECT www.proxysite.com:443 - HIER_DIRECT/203.0.113.9 -",
    "1795285210.001      0 10.0.0.9 TCP_DENIED/403 3921 GET http://nordvpn.com/download/ pupil%20two HIER_NONE/- text/html",
    "1795285211.500     35 2001:db8::7 TCP_MISS/200 901 GET http://example.test:8080/search?q=help%20me jo HIER_DIRECT/192.0.2.1 text/plain",
    "1795285212.000      3 10.0.0.10 NONE_NONE/000 0 - error:invalid-request - HIER_NONE/- -",
    "1795285213.250      7 laptop-12.school.lan TCP_REFRESH_UNMODIFIED/304 310 GET https://www.google.com/search?q=how+to+use+a+vpn+at+school pupil1 HIER_DIRECT/142.250.1.1 -",
]


def parse(lines: list[str]) -> tuple[list, list]:  # type: ignore[type-arg]
    r = parse_squid(enumerate(lines, 1), CTX)
    return r.events, r.dead_letters


def test_real_lines_parse_to_ecs_events() -> None:
    events, dead = parse(REAL)
    assert [d.line_no for d in dead] == [5]  # `-` method and no host: a dead letter, with reason
    assert "method" in dead[0].reason
    e = events[0]
    assert e.timestamp == datetime(2026, 11, 21, 18, 20, 8, 110000, tzinfo=UTC)
    assert (e.source_ip, e.user_name, e.url_domain, e.http_status) == (
        "10.0.0.7", "student1", "casino.test", 200)
    assert (e.action, e.outcome) == ("allowed", "success")
    assert events[1].http_method == "CONNECT" and events[1].url_domain == "www.proxysite.com"
    assert events[1].user_name is None
    blocked = events[2]
    assert (blocked.action, blocked.outcome, blocked.reason) == ("blocked", "failure",
                                                                  "TCP_DENIED")
    assert blocked.user_name == "pupil two"  # %[un is URL-encoded
    assert events[3].source_ip == "2001:db8::7" and events[3].url_domain == "example.test"
    assert events[4].host_name == "laptop-12.school.lan" and events[4].source_ip is None
    assert events[4].search_terms == "how to use a vpn at school"
    assert all(e.raw for e in events)


def test_feeding_the_same_lines_twice_gives_the_same_ids() -> None:
    a, _ = parse(REAL)
    b, _ = parse(REAL)
    assert [e.event_id for e in a] == [e.event_id for e in b]
    assert len({e.event_id for e in a}) == len(a)


def test_malformed_lines_are_dead_letters_with_reasons() -> None:
    bad = ["", "   ", "garbage", squid_line().replace("TCP_MISS/200", "TCP_MISS"),
           squid_line(ts=0.0), squid_line(ts=4102444800.0), squid_line().replace("478", "lots"),
           "x" * 70000, squid_line(url="http:///nohost")]
    events, dead = parse(bad)
    assert events == []
    reasons = [d.reason for d in dead]
    assert len(dead) == 7  # the two blank lines are not records
    assert "expected 10 fields" in reasons[0]
    assert "CODE/STATUS" in reasons[1]
    assert "before 2000" in reasons[2]
    assert "future" in reasons[3]
    assert "size" in reasons[4]
    assert "longer than" in reasons[5]
    assert "no host" in reasons[6]
    assert all(d.stage == "parse" and d.source == "access.log" for d in dead)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=20))
def test_arbitrary_text_never_raises_and_counts_balance(lines: list[str]) -> None:
    r = parse_squid(enumerate(lines, 1), CTX)
    records = sum(1 for line in lines if line.strip())
    assert r.records_in == records


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(REAL), st.integers(min_value=0, max_value=200),
       st.text(max_size=8))
def test_mutated_real_lines_never_raise(line: str, pos: int, insert: str) -> None:
    pos = min(pos, len(line))
    mutated = line[:pos] + insert + line[pos + len(insert):]
    r = parse_squid([(1, mutated)], CTX)
    assert r.records_in == (1 if mutated.strip() else 0)
    for d in r.dead_letters:
        assert d.reason and d.raw == mutated.rstrip("\r\n")
