"""Detection on a real broker: live rule settings, and several workers agreeing with one process.

Workers and the sink are real `safeguard` subprocesses; everything is polled with deadlines.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safeguard.cli import main
from tests.conftest import REPO, poll, squid_line
from tests.kafka_faults import stable_members
from warehouse.queries import alerts_as_records, ingest_accounting
from warehouse.reader import WarehouseReader

pytestmark = pytest.mark.kafka


def _env() -> dict[str, str]:
    return {**os.environ, "SAFEGUARD_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
            "PYTHONPATH": str(REPO)}


def _cli(*args: str, env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "safeguard.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _alerts(db: Path) -> list[dict[str, Any]]:
    return alerts_as_records(WarehouseReader(db).connect())


def test_a_threshold_changed_in_config_rules_reaches_the_running_worker(
        tmp_path: Path, kafka_bootstrap: str, make_school: Callable[..., Path],
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    school, db, env = make_school(), tmp_path / "w.duckdb", _env()
    worker = spawn("worker", "--broker", kafka_bootstrap, "--school", str(school), "--data-dir",
                   str(tmp_path / "state"), "--partitions", "2", "--store", "memory://",
                   env=env, name="worker")
    sink = spawn("sink", "--broker", kafka_bootstrap, "--db", str(db), env=env, name="sink")
    procs = [worker, sink]
    monday_10am = datetime(2026, 11, 16, 10, tzinfo=UTC)

    def send_round(k: int) -> None:
        """Staff leisure browsing on day k, then a proxy hit by the same person last."""
        t0 = (monday_10am + timedelta(days=k)).timestamp()
        lines = [squid_line(ts=t0 + 60 * i, user="staff1", url=f"http://facebook.com/p{k}{i}")
                 for i in range(3)]
        lines.append(squid_line(ts=t0 + 600, user="staff1", url=f"http://proxysite.com/{k}"))
        log = tmp_path / f"round{k}.log"
        log.write_text("\n".join(lines) + "\n")
        _cli("ingest", "--school", str(school), "--input", f"filter:squid:{log}",
             "--broker", kafka_bootstrap, "--partitions", "2", env=env)

    def proxy_alerts() -> int:
        return sum(a["rule_id"] == "bps-proxy-circumvention" for a in _alerts(db))

    send_round(0)
    poll(lambda: proxy_alerts() == 1, 120, "round 0 to be processed", procs, tmp_path)
    rules = {a["rule_id"] for a in _alerts(db)}
    assert "bps-staff-personal-use" not in rules  # 3 leisure hits < the profile's 30 a day

    out = _cli("rules", "set", "bps-staff-personal-use", "threshold=2", "--school", str(school),
               "--broker", kafka_bootstrap, "--by", "IT Manager", "--reason", "test", env=env)
    assert "threshold" in out
    for k in range(1, 8):  # each round a new day; the worker applies the change within seconds
        send_round(k)
        poll(lambda k=k: proxy_alerts() == k + 1, 120, f"round {k}", procs, tmp_path)
        if any(a["rule_id"] == "bps-staff-personal-use" for a in _alerts(db)):
            break
    hits = [a for a in _alerts(db) if a["rule_id"] == "bps-staff-personal-use"]
    assert hits, "the new threshold never reached the worker"
    assert hits[0]["subject"] == "S1" and hits[0]["clause_ids"] == ["bps.staff-personal-use"]
    history = WarehouseReader(db).connect().execute(
        "SELECT rule_id, changed_by, settings FROM rule_setting_history").fetchall()
    assert history == [("bps-staff-personal-use", "IT Manager", '{"threshold":2}')]


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~1 min alone, several under a loaded machine
def test_two_workers_raise_the_same_alert_ids_as_the_embedded_runner(
        tmp_path: Path, kafka_bootstrap: str,
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    sim = tmp_path / "sim"
    assert main(["simulate", "--profile", "twerton-infant", "--days", "1", "--seed", "5",
                 "--out", str(sim)]) == 0
    inputs = (sim / "inputs.txt").read_text().split()
    school = str(sim / "school")
    embedded = tmp_path / "embedded.duckdb"
    assert main(["ingest", "--school", school, *[a for i in inputs for a in ("--input", i)],
                 "--embedded", "--db", str(embedded)]) == 0
    expected = {a["alert_id"] for a in _alerts(embedded)}
    assert len(expected) >= 15

    db, env = tmp_path / "kafka.duckdb", _env()
    procs = [spawn("worker", "--broker", kafka_bootstrap, "--school", school, "--data-dir",
                   str(tmp_path / f"state{n}"), "--partitions", "4", "--store", "memory://",
                   env=env, name=f"worker{n}") for n in (1, 2)]
    procs.append(spawn("sink", "--broker", kafka_bootstrap, "--db", str(db), env=env,
                       name="sink"))
    # both workers in the group before any data: this test is about partitioned state
    # agreeing with one process; a worker joining mid-stream is the Scale issue's fault test
    group = env["SAFEGUARD_TOPIC_PREFIX"] + "safeguard-worker"
    poll(lambda: stable_members(kafka_bootstrap, group) == 2, 180,
         "two workers in a stable group", procs, tmp_path)
    # sign-ins, devices and incidents first, then the web traffic they explain: as in a
    # live school, where the login comes before the browsing it attributes
    first = [i for i in inputs if not i.startswith("filter:")]
    later = [i for i in inputs if i.startswith("filter:")]
    sent: set[str] = set()
    for group in (first, later):
        _cli("ingest", "--school", school, *[a for i in group for a in ("--input", i)],
             "--broker", kafka_bootstrap, "--partitions", "4", env=env)
        sent |= {":".join(i.split(":", 2)[:2]) for i in group}
        wanted = set(sent)
        poll(lambda wanted=wanted: wanted <= set(
                 ingest_accounting(WarehouseReader(db).connect())["source"]),
             300, f"accounting of {sorted(wanted)}", procs, tmp_path)
    poll(lambda: {a["alert_id"] for a in _alerts(db)} >= expected, 400,
         "the embedded run's alerts from two workers", procs, tmp_path)
    got = {a["alert_id"] for a in _alerts(db)}
    assert got == expected
    for n in (1, 2):  # a crashed agent is restarted by Faust: the alerts alone would hide it
        assert "Crashed reason" not in (tmp_path / f"worker{n}.log").read_text()
