"""The Kafka -> DuckDB sink: the one owner of the warehouse's write connection in broker mode.

At-least-once with idempotent writes: a polled batch is written in one transaction,
and offsets are committed only after it is in the file. A crash between the two
re-delivers the batch, and the warehouse's dedupe (event ids, alert versions, dead
letter ids, batch ids) turns the replay into a no-op.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any

import orjson

from pipelines.notify import Notifier
from pipelines.retention_job import RetentionSchedule
from safeguard.actions import AlertAction
from safeguard.alerts import Alert
from safeguard.deadletters import DeadLetter
from safeguard.directory_snapshot import DirectorySnapshot
from safeguard.events import Event
from safeguard.rule_settings import RuleChange
from streams.batches import items_of
from streams.topics import Topics
from warehouse.writer import IngestBatch, Warehouse

log = logging.getLogger(__name__)


@dataclass
class SinkStats:
    records: int = 0
    events: int = 0
    alerts: int = 0
    dead_letters: int = 0
    batches: int = 0


class Sink:
    """Consumes signals, alerts, dead letters and accounting; writes them in batches."""

    def __init__(self, bootstrap: str, warehouse: Warehouse, *, topics: Topics,
                 max_records: int = 10_000, retention: RetentionSchedule | None = None,
                 notifier: Notifier | None = None) -> None:
        self.bootstrap = bootstrap
        self.warehouse = warehouse
        self.topics = topics
        self.group_id = topics.name("safeguard-sink")
        self.max_records = max_records
        self.retention = retention
        self.notifier = notifier  # severe alerts out by email/webhook, after each commit
        self.stats = SinkStats()
        self._consumer: Any = None
        self._stop = threading.Event()

    def start(self) -> Sink:
        from kafka import KafkaConsumer

        self.warehouse.start()
        self._consumer = KafkaConsumer(
            self.topics.signals, self.topics.alerts, self.topics.deadletters,
            self.topics.accounting, self.topics.rules, self.topics.alert_actions,
            self.topics.directory,
            bootstrap_servers=self.bootstrap, group_id=self.group_id, client_id="safeguard-sink",
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_poll_records=self.max_records, fetch_max_bytes=64 * 1024 * 1024)
        return self

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Poll, write and commit one batch; returns the number of records handled."""
        self.warehouse.drain_spool()  # triage steps a dashboard on this host left
        if self.retention is not None:
            self.retention.run_if_due(self.warehouse)
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        if not polled:
            if self.notifier is not None:
                self.notifier.tick(self.warehouse)  # outcomes of sends, retries due
            self.warehouse.publish()  # let a throttled snapshot catch up while idle
            return 0
        events: list[Event] = []
        alerts: list[Alert] = []
        dead: list[DeadLetter] = []
        batches: list[IngestBatch] = []
        changes: list[RuleChange] = []
        actions: list[AlertAction] = []
        directories: list[DirectorySnapshot] = []
        quality: list[dict[str, Any]] = []
        n = 0
        for tp, records in polled.items():
            for rec in records:
                n += 1
                if rec.value is None:
                    continue  # a tombstone on config.rules: the reset is in the history already
                try:
                    data = orjson.loads(rec.value)
                    if tp.topic == self.topics.signals:
                        if "tick" in data:
                            continue  # the workers' timer ticks
                        # a batch of items (or one); fan-out copies of a stored event
                        # (items without the event's first key) are not stored again
                        events.extend(Event.from_dict(item["event"]) for item in items_of(data)
                                      if item["primary"])
                    elif tp.topic == self.topics.alerts:
                        alerts.append(Alert.from_dict(data))
                    elif tp.topic == self.topics.deadletters:
                        dead.append(DeadLetter.from_dict(data))
                    elif tp.topic == self.topics.rules:
                        changes.append(RuleChange.from_dict(data))
                    elif tp.topic == self.topics.alert_actions:
                        actions.append(AlertAction.from_dict(data))
                    elif tp.topic == self.topics.directory:
                        directories.append(DirectorySnapshot.from_dict(data))
                    else:
                        quality.extend(data.pop("quality", None) or ())
                        batches.append(IngestBatch(**data))
                except Exception as exc:
                    dead.append(DeadLetter(
                        school_id="unknown", dataset=tp.topic, stage="sink",
                        reason=f"undecodable record: {type(exc).__name__}: {exc}"[:500],
                        raw=bytes(rec.value or b"").decode("utf-8", "backslashreplace"),
                        source=f"{tp.topic}/{tp.partition}", line_no=rec.offset))
        written = self.warehouse.write_batch(events=events, alerts=alerts, dead_letters=dead,
                                             batches=batches, actions=actions, quality=quality)
        for change in changes:
            self.warehouse.record_rule_change(change)
        for snap in directories:
            self.warehouse.record_directory(snap)
        self._consumer.commit()
        if self.notifier is not None:
            self.notifier.tick(self.warehouse)  # what this committed batch raised
        self.stats.records += n
        self.stats.events += len(events)
        self.stats.alerts += len(alerts)
        self.stats.dead_letters += len(dead)
        self.stats.batches += 1
        # progress for operators (-v) and the Kafka benchmark, which times the path by
        # when this line says the last new event was stored
        log.info("stored batch: %d records, %d events (%d new), %d alerts, %d accounting rows",
                 n, len(events), written.events_inserted, len(alerts), len(batches))
        return n

    def run(self) -> SinkStats:
        """Poll until SIGTERM/SIGINT or `stop()`, then close cleanly."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        try:
            while not self._stop.is_set():
                self.poll_once()
        finally:
            self.close()
        return self.stats

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
        if self.notifier is not None:
            self.notifier.close(self.warehouse)
        self.warehouse.close()
