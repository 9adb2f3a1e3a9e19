"""The sink on a real broker: a kill -9 mid-batch, and readers and triage during ingest.

The sink is a real `safeguard sink` subprocess; records are produced straight to its
topics with kafka-python (the worker's output format), so the counts are exact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from safeguard.actions import AlertAction
from safeguard.alerts import Alert, alert_id_for
from safeguard.events import Event
from streams.topics import Topics
from tests.conftest import REPO, event, poll
from warehouse.reader import WarehouseReader

pytestmark = pytest.mark.kafka
T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _env() -> tuple[dict[str, str], Topics]:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    return ({**os.environ, "SAFEGUARD_TOPIC_PREFIX": prefix, "PYTHONPATH": str(REPO)},
            Topics(prefix))


def _events(n: int, start: int = 0) -> list[Event]:
    return [event(timestamp=T0 + timedelta(seconds=i), raw=f"line {i}",
                  url_original=f"http://site{i % 97}.example/{i}",
                  url_domain=f"site{i % 97}.example") for i in range(start, start + n)]


def _producer(bootstrap: str) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                         enable_idempotence=True)


def _send_events(producer: Any, topics: Topics, events: list[Event]) -> None:
    for e in events:
        producer.send(topics.signals, key=(e.user_name or "").encode(), value=orjson.dumps(
            {"event": e.to_dict(), "key": {}, "primary": True}))
    producer.flush(timeout=60)


def _stored_events(reader: WarehouseReader) -> int:
    manifest = reader.manifest()
    return int(manifest["rows"]["events"]) if manifest else 0


def test_kill_9_mid_batch_then_restart_leaves_no_duplicate_and_no_gap(
        tmp_path: Path, kafka_bootstrap: str,
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    env, topics = _env()
    db, n = tmp_path / "w.duckdb", 20_000
    from streams.topics import ensure_topics

    ensure_topics(kafka_bootstrap, topics, partitions=2)
    producer = _producer(kafka_bootstrap)
    _send_events(producer, topics, _events(n))
    producer.close()
    sink_args = ("sink", "--broker", kafka_bootstrap, "--db", str(db), "--partitions", "2",
                 "--max-records", "1000")
    first = spawn(*sink_args, env=env, name="sink1")
    reader = WarehouseReader(db)
    poll(lambda: _stored_events(reader) > 0, 120, "the first batches", [first], tmp_path)
    first.send_signal(signal.SIGKILL)  # while it is writing the next transactions
    first.wait(timeout=30)
    # what the killed sink committed (opened directly: nobody holds the file now)
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM events").fetchone()
    committed = int(row[0]) if row else 0
    assert 0 < committed < n, "the kill should land mid-stream"

    second = spawn(*sink_args, env=env, name="sink2")
    poll(lambda: _stored_events(reader) >= n, 180, "every event after the restart",
         [second], tmp_path)
    second.send_signal(signal.SIGTERM)
    second.wait(timeout=60)
    with duckdb.connect(str(db), read_only=True) as con:
        total, distinct, lo, hi = con.execute(
            "SELECT count(*), count(DISTINCT event_id), min(ts), max(ts) FROM events"
        ).fetchone() or (0, 0, None, None)
    assert (total, distinct) == (n, n)
    assert (lo, hi) == (T0.replace(tzinfo=None), (T0 + timedelta(seconds=n - 1)).replace(
        tzinfo=None))


def _alert(i: int) -> Alert:
    start = T0 + timedelta(minutes=i)
    return Alert(alert_id=alert_id_for("test-school", "bps-proxy", f"P{i}", start), version=1,
                 school_id="test-school", profile_id="beaudesert-park", rule_id="bps-proxy",
                 title="Proxy", clause_ids=("BPS-1",), severity=3, category="security",
                 routing="it", subject=f"P{i}", subject_kind="person", score=1.0,
                 first_seen=start, last_seen=start, window_start=start, window_end=start,
                 event_count=1)


def test_readers_and_triage_during_a_sustained_ingest_see_no_lock_error_and_lose_nothing(
        tmp_path: Path, kafka_bootstrap: str,
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    """The dashboard's side: snapshot reads in a loop and triage steps via the topic, while
    the sink writes batch after batch."""
    from pipelines.actions import submit_action
    from streams.topics import ensure_topics
    from warehouse.queries import list_alerts

    env, topics = _env()
    db = tmp_path / "w.duckdb"
    ensure_topics(kafka_bootstrap, topics, partitions=2)
    sink = spawn("sink", "--broker", kafka_bootstrap, "--db", str(db), "--partitions", "2",
                 "--max-records", "1000", env=env, name="sink")
    producer = _producer(kafka_bootstrap)
    alerts = [_alert(i) for i in range(20)]
    for a in alerts:
        producer.send(topics.alerts, key=a.alert_id.encode(), value=orjson.dumps(a.to_dict()))
    rounds, per_round = 20, 1_500
    done = threading.Event()

    def ingest() -> None:
        for r in range(rounds):
            _send_events(producer, topics, _events(per_round, start=r * per_round))
        done.set()

    feeder = threading.Thread(target=ingest, daemon=True)
    feeder.start()
    reader, reads, errors = WarehouseReader(db), 0, []
    actions: list[AlertAction] = []
    seen_alerts: set[str] = set()
    while not done.is_set() or _stored_events(reader) < rounds * per_round:
        try:
            con = reader.connect()
            frame = list_alerts(con)
            seen_alerts |= set(frame["alert_id"])
            con.close()
            reads += 1
        except Exception as exc:  # any lock or read error is what this test forbids
            errors.append(repr(exc))
        for a in alerts:  # triage each alert once it is visible, while ingest goes on
            if a.alert_id in seen_alerts and not any(x.alert_id == a.alert_id for x in actions):
                step = AlertAction.new(a.alert_id, a.school_id, "acknowledge", "dsl1", "dsl")
                assert submit_action(step, db_path=db, broker=kafka_bootstrap,
                                     topics=topics) == "topic"
                actions.append(step)
        assert sink.poll() is None, (tmp_path / "sink.log").read_text()[-3000:]
    feeder.join(timeout=60)
    producer.close()
    assert errors == []
    assert reads >= 10
    assert len(actions) == len(alerts)

    def all_acknowledged() -> bool:
        frame = list_alerts(reader.connect())
        return len(frame) == len(alerts) and set(frame["status"]) == {"acknowledged"}

    poll(all_acknowledged, 60, "every triage step stored", [sink], tmp_path)
    con = reader.connect()
    row = con.execute("SELECT count(*), count(DISTINCT action_id) FROM alert_actions").fetchone()
    assert row == (len(actions), len(actions))
