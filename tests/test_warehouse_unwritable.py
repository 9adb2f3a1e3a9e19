"""The warehouse becomes unwritable while the sink runs: disk full, or a read-only file.

Disk full is RLIMIT_FSIZE lowered on the running sink (prlimit: no root, no mount;
every write past one byte fails with EFBIG, as on a full disk); read-only is the
immutable flag (`chattr +i`, which stops root too; skipped where it is unavailable).
Expected: a clear error logged with no personal data, ingest paused with offsets not
committed, nothing lost, and once writable again every row stored exactly once.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from safeguard.alerts import Alert, alert_id_for
from safeguard.events import Event
from streams.topics import Topics, ensure_topics
from tests.conftest import REPO, event, poll, stop_process
from tests.kafka_faults import stored_rows
from warehouse.reader import WarehouseReader
from warehouse.writer import IngestBatch

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)
PUPIL_ACCOUNT = "pupil.unwritable7"  # must never appear in the sink's log
PER_ROUND, ROUNDS_BEFORE, ROUNDS_DURING = 500, 4, 4


def _events(start: int, n: int) -> list[Event]:
    return [event(timestamp=T0 + timedelta(seconds=i), raw=f"line {i}", user_name=PUPIL_ACCOUNT,
                  url_original=f"http://private{i % 97}.example/{i}",
                  url_domain=f"private{i % 97}.example") for i in range(start, start + n)]


def _alert(i: int, version: int) -> Alert:
    start = T0 + timedelta(minutes=i)
    return Alert(alert_id=alert_id_for("test-school", "bps-proxy", f"P{i}", start),
                 version=version, school_id="test-school", profile_id="beaudesert-park",
                 rule_id="bps-proxy", title="Proxy", clause_ids=("BPS-1",), severity=3,
                 category="security", routing="it", subject=f"P{i}", subject_kind="person",
                 score=float(version), first_seen=start, last_seen=start, window_start=start,
                 window_end=start, event_count=version)


def _send_round(producer: Any, topics: Topics, r: int) -> None:
    """One source batch as the worker emits it: its events, its accounting row, and a
    new version of two alerts."""
    for e in _events(r * PER_ROUND, PER_ROUND):
        producer.send(topics.signals, key=PUPIL_ACCOUNT.encode(), value=orjson.dumps(
            {"event": e.to_dict(), "key": {}, "primary": True}))
    batch = IngestBatch(batch_id=f"b{r}", school_id="test-school", source="filter:squid",
                        path="access.log", records_in=PER_ROUND, events_parsed=PER_ROUND,
                        dead_lettered=0)
    producer.send(topics.accounting, key=batch.batch_id.encode(),
                  value=orjson.dumps(batch.__dict__))
    for a in (_alert(2 * r, 1), _alert(0, r + 1)):
        producer.send(topics.alerts, key=a.alert_id.encode(), value=orjson.dumps(a.to_dict()))
    producer.flush(timeout=60)


def _chattr(flag: str, paths: list[Path]) -> None:
    subprocess.run(["chattr", flag, *[str(p) for p in paths]], check=True,
                   capture_output=True)


def _immutable_supported(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.touch()
    if shutil.which("chattr") is None:
        return False
    try:
        _chattr("+i", [probe])
    except subprocess.CalledProcessError:
        return False
    _chattr("-i", [probe])
    return True


@pytest.fixture
def piped_sink(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """`safeguard sink` with its output through a pipe into sink.log: a file-size limit
    on the sink must not stop its own log. Stopped by PID at teardown."""
    procs: list[tuple[subprocess.Popen[bytes], threading.Thread]] = []

    def start(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "safeguard.cli", "sink", *args],
                                cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)

        def copy() -> None:
            assert proc.stdout is not None
            with (tmp_path / "sink.log").open("ab") as out:
                for line in proc.stdout:
                    out.write(line)
                    out.flush()

        thread = threading.Thread(target=copy, daemon=True)
        thread.start()
        procs.append((proc, thread))
        return proc

    yield start
    for proc, thread in procs:
        stop_process(proc)
        thread.join(timeout=10)


def _committed(bootstrap: str, group: str, topic: str) -> int:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-admin")
    try:
        offsets = admin.list_group_offsets(group).get(group) or {}
    finally:
        admin.close()
    return sum(m.offset for tp, m in offsets.items() if tp.topic == topic and m.offset > 0)


def _stored(db: Path) -> tuple[int, int, int, int]:
    """Events, ingest batches, alerts, and the sum of their versions, as readers see them."""
    reader = WarehouseReader(db)
    manifest = reader.manifest()
    if not manifest:
        return 0, 0, 0, 0
    row = reader.connect().execute("SELECT count(*), coalesce(sum(version), 0) "
                                   "FROM alerts").fetchone()
    assert row is not None
    return (int(manifest["rows"]["events"]), int(manifest["rows"]["ingest_batches"]),
            int(row[0]), int(row[1]))


def _expected(rounds: int) -> tuple[int, int, int, int]:
    ids = {2 * r for r in range(rounds)} | {0}
    return rounds * PER_ROUND, rounds, len(ids), rounds + (len(ids) - 1)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fault", ["disk-full", "read-only"])
def test_an_unwritable_warehouse_pauses_ingest_then_resumes_with_every_row_once(
        fault: str, tmp_path: Path, kafka_bootstrap: str,
        piped_sink: Callable[..., subprocess.Popen[bytes]]) -> None:
    from kafka import KafkaProducer

    if fault == "read-only" and not _immutable_supported(tmp_path):
        pytest.skip("chattr +i is not available here (needs root and ext4/xfs/btrfs)")
    prefix = f"t{uuid.uuid4().hex[:8]}."
    topics, env = Topics(prefix), {**os.environ, "SAFEGUARD_TOPIC_PREFIX": prefix,
                                   "PYTHONPATH": str(REPO)}
    ensure_topics(kafka_bootstrap, topics, partitions=2)
    home = tmp_path / "wh"
    db = home / "w.duckdb"
    sink = piped_sink("--broker", kafka_bootstrap, "--db", str(db), "--partitions", "2",
                      "--max-records", "400", env=env)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=20,
                             enable_idempotence=True)
    for r in range(ROUNDS_BEFORE):
        _send_round(producer, topics, r)
    poll(lambda: _stored(db) == _expected(ROUNDS_BEFORE), 120, "the first rounds stored",
         [sink], tmp_path)
    committed_before = _committed(kafka_bootstrap, topics.name("safeguard-sink"),
                                  topics.signals)
    assert committed_before == ROUNDS_BEFORE * PER_ROUND

    locked = [home, *home.rglob("*")]  # the file, its WAL, the snapshot and the archive
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if fault == "disk-full":
        resource.prlimit(sink.pid, resource.RLIMIT_FSIZE, (1, hard))
    else:
        _chattr("+i", locked)
    try:
        for r in range(ROUNDS_BEFORE, ROUNDS_BEFORE + ROUNDS_DURING):
            _send_round(producer, topics, r)
        log = tmp_path / "sink.log"
        poll(lambda: log.read_text().count("ingest paused") >= 3, 60,
             "the sink to report the failing writes (and retry)", [sink], tmp_path)
        assert sink.poll() is None, "the sink must wait for the disk, not exit"
        assert _stored(db) == _expected(ROUNDS_BEFORE)  # readers still see the last snapshot
        assert _committed(kafka_bootstrap, topics.name("safeguard-sink"),
                          topics.signals) == committed_before  # nothing skipped
    finally:
        if fault == "disk-full":
            resource.prlimit(sink.pid, resource.RLIMIT_FSIZE, (soft, hard))
        else:
            _chattr("-i", locked)
    total = ROUNDS_BEFORE + ROUNDS_DURING
    poll(lambda: _stored(db) == _expected(total), 120, "every round once writable again",
         [sink], tmp_path)
    poll(lambda: _committed(kafka_bootstrap, topics.name("safeguard-sink"),
                            topics.signals) == total * PER_ROUND, 60, "offsets committed",
         [sink], tmp_path)
    producer.close()
    sink.send_signal(signal.SIGTERM)
    assert sink.wait(timeout=60) == 0
    assert stored_rows(db) == (total * PER_ROUND, 0)  # every event once
    text = (tmp_path / "sink.log").read_text()
    # the batch write, or the snapshot publish if the sink was idle when the disk filled
    assert re.search(r"ERROR pipelines.sink: warehouse (write|publish) failed \((IOException|"
                     r"TransactionException): .*(File too large|Operation not permitted)", text)
    assert "ingest resumes" in text
    assert PUPIL_ACCOUNT not in text and "private" not in text  # no personal data in the log
    print(f"{fault}: {text.count('ingest paused')} failed attempts logged")
