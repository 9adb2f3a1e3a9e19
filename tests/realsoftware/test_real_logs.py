"""The real filter and directory software from Debian, on 127.0.0.1, writing the logs we parse.

Each test starts the daemon(s) (tests/realsoftware/harness.py), drives requests or logins
through them with the real clients (curl, smbclient, ldbsearch), stops them by PID, checks the
records the software wrote, and feeds them to the product's parser for that format: a real record
must never become a dead letter. Logs are copied into pytest's tmp_path, never into the repo
(tests/fixtures/real/ holds a reviewed capture; see its README for how to refresh it).

Needs root and `scripts/install-real-software.sh`; a missing program skips the test. The daemon
tests are marked slow (about 25 s together); the check of the committed capture is not.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.realsoftware import harness

pytestmark = pytest.mark.timeout(180)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real"


def run(scenario: Callable[[Path], harness.Capture], out: Path) -> harness.Capture:
    """Run a scenario, skipping if the software is missing; then prove nothing was left running."""
    try:
        capture = scenario(out)
    except harness.Unavailable as exc:
        pytest.skip(str(exc))
    for workdir in capture.workdirs:
        left = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True,
                              check=False).stdout.split()
        assert not left, f"processes left running for {workdir}: {left}"
        assert not harness.pids_mentioning(str(workdir))
    return capture


def parse(key: str, path: Path, timezone: str = "UTC") -> tuple[list[Any], list[Any]]:
    """Events and dead letters of the product's parser for `key`, or skip if not registered."""
    try:
        from producers.formats import PARSERS
        from producers.parsing import ParseContext
    except ImportError as exc:  # another engineer's module, possibly not there yet
        pytest.skip(f"producers.formats not importable: {exc}")
    if key not in PARSERS:
        pytest.skip(f"no parser registered for {key} yet")
    lines = path.read_text(encoding="utf-8").splitlines()
    ctx = ParseContext(school_id="real-software", source=key, timezone=timezone)
    result = PARSERS[key](list(enumerate(lines, start=1)), ctx)
    return result.events, result.dead_letters


def local_zone() -> str:
    """The IANA zone of this machine's clock (squidGuard and e2guardian format 1 log local time)."""
    try:
        return Path("/etc/timezone").read_text().strip() or "UTC"
    except OSError:
        return "UTC"


@pytest.mark.slow
def test_squid_access_log(tmp_path: Path) -> None:
    capture = run(harness.squid_scenario, tmp_path / "squid")
    assert not capture.notes, capture.notes
    lines = capture.logs["access"].read_text().splitlines()
    assert len(lines) == 6, lines
    fields = [line.split() for line in lines]
    # native format: ts elapsed client code/status bytes method url user hierarchy/peer type
    assert all(len(f) == 10 for f in fields), lines
    denied = [f for f in fields if f[3] == "TCP_DENIED/403"]
    assert len(denied) == 1
    assert "casino.test" in denied[0][6]
    assert denied[0][7] == "pupil1"
    assert any(f[3].endswith("/200") and f[7] == "staff1" and f[9] == "application/octet-stream"
               for f in fields)
    assert any(f[3] == "TCP_DENIED/407" and f[7] == "-" for f in fields)
    events, dead = parse("filter:squid", capture.logs["access"])
    assert not dead, [d.reason for d in dead]
    assert len(events) == len(lines)
    assert {e.user_name for e in events} >= {"pupil1", "staff1"}


@pytest.mark.slow
def test_samba_auth_audit(tmp_path: Path) -> None:
    capture = run(harness.samba_scenario, tmp_path / "samba")
    lines = capture.logs["auth_audit"].read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert all(r["type"] == "Authentication" for r in records)
    auth = [r["Authentication"] for r in records]
    statuses = [a["status"] for a in auth]
    assert "NT_STATUS_OK" in statuses
    assert "NT_STATUS_WRONG_PASSWORD" in statuses
    assert "NT_STATUS_ACCOUNT_LOCKED_OUT" in statuses
    assert "NT_STATUS_NO_SUCH_USER" in statuses
    # the lockout threshold of 3 is what locked pupil2 out
    pupil2 = [a["status"] for a in auth if a["clientAccount"] == "pupil2"]
    assert pupil2 == ["NT_STATUS_WRONG_PASSWORD"] * 3 + ["NT_STATUS_ACCOUNT_LOCKED_OUT"]
    assert {a["eventId"] for a in auth} == {4624, 4625}
    assert all(a["remoteAddress"].startswith("ipv4:127.0.0.1:") for a in auth)
    assert {a["workstation"] for a in auth if a["serviceDescription"] == "SMB2"} == {
        "LT-0001", "LT-0002", "PC-ICT-07"}
    if "port 389 in use: no LDAP binds" not in capture.notes:
        assert {a["status"] for a in auth if a["serviceDescription"] == "LDAP"} == {
            "NT_STATUS_OK", "NT_STATUS_WRONG_PASSWORD"}
    events, dead = parse("auth:samba", capture.logs["auth_audit"])
    assert not dead, [d.reason for d in dead]
    assert len(events) == len(records)


@pytest.mark.slow
def test_e2guardian_access_log(tmp_path: Path) -> None:
    capture = run(harness.e2guardian_scenario, tmp_path / "e2guardian")
    rows = [line.split("\t") for line in capture.logs["format6"].read_text().splitlines()]
    assert all(len(r) == 20 for r in rows), rows
    # format 6: ... 14 message number, 15 what, 16 weight, 17 category, 18 group name, 19 group no
    by_message = {r[14]: r for r in rows}
    assert set(by_message) >= {"0", "500", "900", "402", "602"}
    assert "proxysite.test" in by_message["500"][5]
    assert by_message["900"][5].endswith("/setup.exe")
    assert by_message["900"][2] == "staff1"
    assert by_message["402"][17] == "Self Harm"
    assert int(by_message["402"][16]) >= 50
    assert "www.school.test" in by_message["602"][5]
    assert {r[2] for r in rows} == {"pupil1", "staff1"}  # names from Proxy-Authorization
    events, dead = parse("filter:e2guardian", capture.logs["format6"])
    assert not dead, [d.reason for d in dead]
    assert len(events) == len(rows)
    if "format1" in capture.logs:
        lines = capture.logs["format1"].read_text().splitlines()
        assert len(lines) == len(rows)
        assert any("*DENIED* Banned file extension: .exe" in line for line in lines)
        events, dead = parse("filter:e2guardian", capture.logs["format1"], local_zone())
        assert not dead, [d.reason for d in dead]
        assert len(events) == len(lines)


@pytest.mark.slow
def test_squidguard_block_log(tmp_path: Path) -> None:
    capture = run(harness.squidguard_scenario, tmp_path / "squidguard")
    lines = capture.logs["blocked"].read_text().splitlines()
    assert len(lines) == 4, lines
    assert all(" Request(school/" in line and line.endswith(" GET REDIRECT") for line in lines)
    assert {line.split("Request(school/", 1)[1].split("/", 1)[0] for line in lines} == {
        "social_networks", "chat", "vpn", "redirector"}
    assert any(" pupil1 GET" in line for line in lines)
    assert all(f"127.0.0.1/{harness.CLIENT_HOST}" in line for line in lines)
    # squid fetched the redirect target instead (squidGuard 1.6 rewrites, it does not 302)
    squid_lines = capture.logs["squid_access"].read_text().splitlines()
    assert sum("/blocked.html" in line for line in squid_lines) == 4
    events, dead = parse("filter:squidguard", capture.logs["blocked"], local_zone())
    assert not dead, [d.reason for d in dead]
    assert len(events) == len(lines)


@pytest.mark.parametrize(("key", "name"), [
    ("filter:squid", "squid/access.log"),
    ("filter:e2guardian", "e2guardian/access.log"),
    ("filter:e2guardian", "e2guardian/format1.log"),
    ("filter:squidguard", "squidguard/blocked.log"),
    ("auth:samba", "samba/auth_audit.log"),
])
def test_committed_real_fixtures_parse(key: str, name: str) -> None:
    """The reviewed capture in tests/fixtures/real parses without dead letters (no daemons)."""
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{path} not captured")
    events, dead = parse(key, path)
    assert not dead, [d.reason for d in dead]
    assert len(events) == len(path.read_text().splitlines())
