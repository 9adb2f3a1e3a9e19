"""Worker faults on a real broker: a kill -9 mid-stream, and a worker joining mid-stream.

Workers and the sink are real `safeguard` subprocesses; the reference is the embedded
runner over the same input. Nothing may be missing, duplicated or different: the
sink's alert ids, final versions and evidence equal the uninterrupted run's.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import poll
from tests.kafka_faults import (
    Case,
    build_case,
    differences,
    env,
    ingest,
    records_in,
    stable_members,
    stored_alerts,
    stored_events,
    stored_rows,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _worker(spawn: Callable[..., subprocess.Popen[bytes]], bootstrap: str, school: str,
            state: Path, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    # the default table store (RocksDB when installed): what a school runs, and what a
    # kill -9 can leave half-written
    return spawn("worker", "--broker", bootstrap, "--school", school, "--data-dir", str(state),
                 "--partitions", "4", env=env, name=name)


def _flowing(case: Case, db: Path, e: dict[str, str], bootstrap: str,
             spawn: Callable[..., subprocess.Popen[bytes]], logs: Path, state: str
             ) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """A sink and one worker (`worker1`, tables in `logs/state`) in its group, the case's
    first records stored and its first web traffic through the worker; (worker, sink)."""
    group = e["SAFEGUARD_TOPIC_PREFIX"] + "safeguard-worker"
    sink = spawn("sink", "--broker", bootstrap, "--db", str(db), "--partitions", "4",
                 env=e, name="sink")
    worker = _worker(spawn, bootstrap, case.school, logs / state, e, "worker1")
    procs = [worker, sink]
    poll(lambda: stable_members(bootstrap, group) == 1, 180, "the worker in its group",
         procs, logs)
    ingest(case, case.first, bootstrap, e)
    before = poll(lambda: stored_events(db), 180, "the first events", procs, logs)
    ingest(case, case.squid[:1], bootstrap, e)
    poll(lambda: stored_events(db) > before, 180, "web events flowing", procs, logs)
    return worker, sink


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    """SIGTERM and wait, so the warehouse file is free to open and check."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=60)


@pytest.mark.timeout(600)
def test_kill_9_of_a_worker_mid_stream_then_restart_loses_and_duplicates_no_alert(
        tmp_path: Path, kafka_bootstrap: str,
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    case = build_case(tmp_path)
    db, e = tmp_path / "kafka.duckdb", env()
    # kill as soon as the web traffic is flowing through the worker: with tables written,
    # offsets and changelogs in flight
    worker, sink = _flowing(case, db, e, kafka_bootstrap, spawn, tmp_path, "state")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    at_kill = stored_events(db)
    ingest(case, case.squid[1:], kafka_bootstrap, e)  # the stream goes on meanwhile
    restarted = _worker(spawn, kafka_bootstrap, case.school, tmp_path / "state", e, "worker2")
    poll(lambda: records_in(db) == case.records, 240, "accounting of every record",
         [restarted, sink], tmp_path)
    poll(lambda: stored_alerts(db) == case.expected, 240, "the reference's alerts",
         [restarted, sink], tmp_path, describe=lambda: differences(stored_alerts(db),
                                                                     case.expected))
    assert stored_events(db) >= at_kill
    _stop(restarted, sink)
    assert stored_rows(db) == (case.events, case.dead)  # every event once, none twice
    assert "Crashed reason" not in (tmp_path / "worker2.log").read_text()
    print(f"killed with {at_kill} events stored; {len(case.expected)} alerts, "
          f"{case.records} records")


@pytest.mark.timeout(600)
def test_a_worker_joining_mid_stream_loses_no_alert(
        tmp_path: Path, kafka_bootstrap: str,
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    case = build_case(tmp_path, parts=3)
    db, e = tmp_path / "kafka.duckdb", env()
    group = e["SAFEGUARD_TOPIC_PREFIX"] + "safeguard-worker"
    first, sink = _flowing(case, db, e, kafka_bootstrap, spawn, tmp_path, "state1")
    second = _worker(spawn, kafka_bootstrap, case.school, tmp_path / "state2", e, "worker2")
    ingest(case, case.squid[1:2], kafka_bootstrap, e)  # sent while the group rebalances
    procs = [first, second, sink]
    poll(lambda: stable_members(kafka_bootstrap, group) == 2, 180, "two workers in the group",
         procs, tmp_path)
    ingest(case, case.squid[2:], kafka_bootstrap, e)
    poll(lambda: records_in(db) == case.records, 240, "accounting of every record", procs,
         tmp_path)
    poll(lambda: stored_alerts(db) == case.expected, 240, "the reference's alerts", procs,
         tmp_path, describe=lambda: differences(stored_alerts(db), case.expected))
    _stop(*procs)
    assert stored_rows(db) == (case.events, case.dead)  # every event once, none twice
    for n in (1, 2):
        assert "Crashed reason" not in (tmp_path / f"worker{n}.log").read_text()
