"""Shared test factories: events, school folders, squid lines. Fixtures build, never mock."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from safeguard.events import Event, stable_event_id

SCHOOL_YAML = """\
id: test-school
name: Test Prep School
profile: {profile}
timezone: Europe/London
school_day:
  start: "08:30"
  end: "16:00"
terms:
  - name: Autumn 2026
    start: 2026-09-03
    end: 2026-12-16
    half_term: [2026-10-26, 2026-10-30]
"""
PEOPLE_CSV = """\
person_id,display_name,role,year_group,boarder,start_date,leave_date,accounts,notes
P1,Pupil One,pupil,Year 7,true,,,pupil1;pupil1@pupils.test.example,extra column allowed
P2,Pupil Two,pupil,Year 5,false,,,pupil2,
S1,Staff One,staff,,false,2020-09-01,,SCHOOL\\staff1;staff1@test.example,
"""
ASSETS_CSV = """\
asset_tag,serial,category,model,ownership,device_id,assigned_to
A1,SN1,laptop,Book,school,LT-0001,S1
"""
NETWORKS_CSV = """\
cidr,location,kind
10.10.0.0/16,Classrooms,classroom
10.10.0.0/24,ICT suite,ict-suite
10.20.0.0/24,Boarding house,boarding
"""


def squid_line(ts: float = 1795285208.110, ip: str = "10.10.1.7", user: str = "pupil1",
               url: str = "http://www.bbc.co.uk/bitesize", code: str = "TCP_MISS/200",
               method: str = "GET") -> str:
    """A Squid native access.log line as Squid writes it."""
    return (f"{ts:.3f}      1 {ip} {code} 478 {method} {url} {user} "
            f"HIER_DIRECT/10.9.0.1 text/html")


@pytest.fixture
def make_squid_line() -> Callable[..., str]:
    return squid_line


def event(**overrides: Any) -> Event:
    raw = overrides.pop("raw", "raw line")
    base: dict[str, Any] = {
        "timestamp": datetime(2026, 11, 17, 10, 0, tzinfo=UTC), "category": "web",
        "dataset": "squid.access", "school_id": "test-school", "raw": raw,
        "event_id": stable_event_id("test-school", "squid.access", raw),
        "url_original": "http://proxysite.com/", "url_domain": "proxysite.com",
        "user_name": "pupil1", "source_ip": "10.10.1.7",
    }
    base.update(overrides)
    return Event(**base)


@pytest.fixture
def make_event() -> Callable[..., Event]:
    return event


def write_school(root: Path, profile: str = "beaudesert-park", **files: str) -> Path:
    """A school folder as DESIGN describes; `files` override or add files by name."""
    root.mkdir(parents=True, exist_ok=True)
    contents = {"school.yaml": SCHOOL_YAML.format(profile=profile), "people.csv": PEOPLE_CSV,
                "assets.csv": ASSETS_CSV, "networks.csv": NETWORKS_CSV}
    contents.update({k.replace("__", "/"): v for k, v in files.items()})
    for name, text in contents.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def make_school(tmp_path: Path) -> Callable[..., Path]:
    def factory(profile: str = "beaudesert-park", **files: str) -> Path:
        return write_school(tmp_path / "school", profile, **files)
    return factory


REPO = Path(__file__).resolve().parents[1]


def stop_process(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    """SIGTERM a process a test started (by its PID), kill it if it has not gone within
    `grace` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `safeguard ...` subprocesses; every one is stopped by PID at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "safeguard.cli", *args], cwd=REPO,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def poll(check: Callable[[], Any], timeout: float, what: str,
         alive: list[subprocess.Popen[bytes]], logs: Path,
         describe: Callable[[], Any] | None = None) -> Any:
    """Call `check` until it returns something truthy; fail with the logs at the deadline
    (and what `describe` says about the state then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        for p in alive:
            if p.poll() is not None:
                pytest.fail(f"process {p.args} exited with {p.returncode}:\n"
                            + "\n".join(f.read_text()[-3000:] for f in logs.glob("*.log")))
        time.sleep(0.2)
    state = f" ({describe()})" if describe is not None else ""
    pytest.fail(f"timed out waiting for {what}{state}:\n"
                + "\n".join(f.read_text()[-3000:] for f in logs.glob("*.log")))




@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo school run through the embedded pipeline once per test session, with the
    demo's accounts (one per role); tests that write get their own copy (`demo_copy`)."""
    from pipelines.demo_accounts import ensure_demo_accounts
    from safeguard.cli import main

    out = tmp_path_factory.mktemp("demo-site")
    assert main(["demo", "--out", str(out), "--no-serve"]) == 0
    ensure_demo_accounts(out / "warehouse.duckdb")
    return out


@pytest.fixture
def demo_copy(demo_site: Path, tmp_path: Path) -> Path:
    """A private copy of the demo site; returns its warehouse file."""
    import shutil

    shutil.copytree(demo_site, tmp_path / "demo")
    return tmp_path / "demo" / "warehouse.duckdb"
