"""The thin slice on a real broker: ingest -> raw topic -> Faust worker -> alerts -> sink -> DuckDB.

Worker and sink run as real subprocesses (`safeguard worker`, `safeguard sink`), exactly
as a school would run them; the test polls the warehouse snapshot with a deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import poll, squid_line
from warehouse.queries import alerts_as_records, ingest_accounting
from warehouse.reader import WarehouseReader

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[1]
T = 1795262400.0


def test_squid_lines_become_an_alert_in_duckdb_via_kafka(
        tmp_path: Path, kafka_bootstrap: str, make_school: Callable[..., Path],
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    school = make_school()
    log = tmp_path / "access.log"
    log.write_text("\n".join([
        squid_line(ts=T, url="http://www.bbc.co.uk/news"),
        squid_line(ts=T + 60, url="www.proxysite.com:443", method="CONNECT",
                   code="TCP_TUNNEL/200"),
        squid_line(ts=T + 120, url="http://nordvpn.com/", code="TCP_DENIED/403"),
        "a malformed line",
    ]) + "\n")
    db = tmp_path / "w.duckdb"
    env = {**os.environ, "SAFEGUARD_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
           "PYTHONPATH": str(REPO)}
    worker = spawn("worker", "--broker", kafka_bootstrap, "--school", str(school),
                   "--data-dir", str(tmp_path / "state"), "--partitions", "2",
                   env=env, name="worker")
    sink = spawn("sink", "--broker", kafka_bootstrap, "--db", str(db), env=env, name="sink")
    ingest = subprocess.run(
        [sys.executable, "-m", "safeguard.cli", "ingest", "--school", str(school), "--input",
         f"filter:squid:{log}", "--broker", kafka_bootstrap, "--partitions", "2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert ingest.returncode == 0, ingest.stderr
    assert "sent 4 records" in ingest.stdout

    reader = WarehouseReader(db)

    def alert_complete() -> list[dict[str, Any]] | None:
        records = alerts_as_records(reader.connect())
        return records if records and records[0]["event_count"] == 2 else None

    alerts = poll(alert_complete, 120, "the bps.proxy alert in DuckDB", [worker, sink], tmp_path)
    assert len(alerts) == 1
    assert alerts[0]["clause_ids"] == ["bps.proxy"] and alerts[0]["subject"] == "P1"

    def accounted() -> Any:
        acct = ingest_accounting(reader.connect())
        m = reader.manifest() or {"rows": {}}
        done = (not acct.empty and int(acct["records_in"].sum()) == 4
                and m["rows"].get("events") == 3 and m["rows"].get("dead_letters") == 1)
        return acct.iloc[0].to_dict() if done else None

    row = poll(accounted, 60, "accounting of all 4 records", [worker, sink], tmp_path)
    assert (row["records_in"], row["events_parsed"], row["dead_lettered"]) == (4, 3, 1)


def test_follow_in_broker_mode_resumes_without_duplicates_or_gaps(
        tmp_path: Path, kafka_bootstrap: str, make_school: Callable[..., Path]) -> None:
    from kafka import KafkaConsumer

    school = make_school()
    log = tmp_path / "access.log"
    env = {**os.environ, "SAFEGUARD_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
           "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "safeguard.cli", "ingest", "--school", str(school), "--input",
            f"filter:squid:{log}", "--broker", kafka_bootstrap, "--follow", "--idle-exit", "1",
            "--poll-interval", "0.05", "--offsets", str(tmp_path / "cursors.json")]

    def append(start: int, n: int) -> None:
        with log.open("a") as fh:
            for i in range(start, start + n):
                fh.write(squid_line(ts=T + i, url=f"http://www.bbc.co.uk/{i}") + "\n")

    def run() -> None:
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr

    append(0, 1200)
    with log.open("a") as fh:  # a line still being written: no newline yet
        fh.write("1795262400.000 1 10.0.0.1 TCP_MISS/200 1 GET http://half")
    run()
    with log.open("a") as fh:  # the line completes after the first run stopped
        fh.write(".html pupil1 HIER_DIRECT/1.1.1.1 text/html\n")
    append(2000, 300)
    run()  # must send exactly what the first run did not
    consumer = KafkaConsumer(env["SAFEGUARD_TOPIC_PREFIX"] + "raw.filter.squid",
                             bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000)
    numbers: list[int] = []
    for msg in consumer:
        numbers.extend(n for n, _ in orjson.loads(msg.value)["lines"])
    consumer.close()
    assert sorted(numbers) == list(range(1, 1200 + 1 + 300 + 1))  # every line once, in order
