"""The broker stops and restarts while a producer sends: nothing lost, nothing twice.

A private LocalKafka (the session's broker is shared, so it is not the one stopped)
restarts on the same port and log dir; `safeguard ingest --follow` tails a file the
test appends to before, during and after the outage; a worker and the sink run
throughout. The producer retries (idempotent, acks=all), the worker and the sink
reconnect, and the warehouse accounts for every record with the reference's alerts.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.local_kafka import LocalKafka
from tests.conftest import REPO, poll
from tests.kafka_faults import (
    accounting,
    build_case,
    differences,
    env,
    ingest,
    stable_members,
    stored_alerts,
    stored_rows,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[LocalKafka]:
    kafka = LocalKafka(tmp_path / "kafka", heap="384m")
    try:
        kafka.start()
        yield kafka
    finally:
        kafka.stop()


@pytest.mark.timeout(600)
def test_broker_restart_while_producing_loses_no_record_and_no_alert(
        tmp_path: Path, own_kafka: LocalKafka,
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    case = build_case(tmp_path, parts=3)
    bootstrap = own_kafka.start()  # already running: returns its address
    db, e = tmp_path / "kafka.duckdb", env()
    group = e["SAFEGUARD_TOPIC_PREFIX"] + "safeguard-worker"
    sink = spawn("sink", "--broker", bootstrap, "--db", str(db), "--partitions", "4", env=e,
                 name="sink")
    worker = spawn("worker", "--broker", bootstrap, "--school", case.school, "--data-dir",
                   str(tmp_path / "state"), "--partitions", "4", env=e, name="worker")
    procs = [worker, sink]
    poll(lambda: stable_members(bootstrap, group) == 1, 180, "the worker in its group", procs,
         tmp_path)
    ingest(case, case.first, bootstrap, e)

    tailed = tmp_path / "access.log"  # one growing file, as squid writes it
    tailed.touch()
    parts = [Path(spec.split(":", 2)[2]).read_text() for spec in case.squid]
    follow_log = (tmp_path / "follow.log").open("wb")
    follow = subprocess.Popen(
        [sys.executable, "-m", "safeguard.cli", "ingest", "--school", case.school, "--input",
         f"filter:squid:{tailed}", "--broker", bootstrap, "--partitions", "4", "--follow",
         "--poll-interval", "0.05", "--offsets", str(tmp_path / "cursors.json")],
        cwd=REPO, env=e, stdout=follow_log, stderr=subprocess.STDOUT)
    try:
        with tailed.open("a") as fh:
            fh.write(parts[0])
        poll(lambda: accounting(db)[0] > 0 and stored_alerts(db), 180,
             "the first part through worker and sink", [*procs, follow], tmp_path)
        port = own_kafka.status().bootstrap
        own_kafka.stop()  # SIGTERM: a controlled shutdown, as a host's service manager does
        with tailed.open("a") as fh:  # the producer must hold these until it is back
            fh.write(parts[1])
        assert own_kafka.start() == port  # same port, same log dir: clients find it again
        with tailed.open("a") as fh:
            fh.write(parts[2])
        poll(lambda: accounting(db)[0] == case.records, 240, "accounting of every record",
             [*procs, follow], tmp_path)
        poll(lambda: stored_alerts(db) == case.expected, 240, "the reference's alerts",
             [*procs, follow], tmp_path,
             describe=lambda: differences(stored_alerts(db), case.expected))
    finally:
        follow.terminate()
        follow.wait(timeout=30)
        follow_log.close()
    records, parsed, dead = accounting(db)
    assert records == parsed + dead == case.records
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=60)
    assert stored_rows(db) == (case.events, case.dead)  # every record once, none twice
    assert "Crashed reason" not in (tmp_path / "worker.log").read_text()
