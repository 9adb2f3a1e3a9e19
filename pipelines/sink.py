"""The Kafka -> DuckDB sink: the one owner of the warehouse's write connection in broker mode.

At-least-once with idempotent writes: a polled batch is written in one transaction,
and offsets are committed only after it is in the file. A crash between the two
re-delivers the batch, and the warehouse's dedupe (event ids, alert versions, dead
letter ids, batch ids) turns the replay into a no-op.

A warehouse that cannot be written (disk full, read-only file or directory, I/O error)
pauses ingest rather than crashing or skipping: the batch stays in memory, its offsets
stay uncommitted, the consumer's partitions are paused (so it stays in the group), and
the write is retried with backoff until it succeeds; the error is logged without data.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
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
from warehouse.errors import WarehouseError
from warehouse.writer import IngestBatch, Warehouse

log = logging.getLogger(__name__)

# what a full, read-only or failing disk raises: retried; anything else is a bug and stops
WRITE_ERRORS = (OSError, duckdb.IOException, duckdb.TransactionException,
                duckdb.FatalException, WarehouseError)


def describe(exc: BaseException) -> str:
    """The error's type and first line: I/O errors name a file and the OS's reason, never
    a record's content, so this is safe to log."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:300]}"


@dataclass
class SinkStats:
    records: int = 0
    events: int = 0
    alerts: int = 0
    dead_letters: int = 0
    batches: int = 0
    write_failures: int = 0


class Sink:
    """Consumes signals, alerts, dead letters and accounting; writes them in batches."""

    def __init__(self, bootstrap: str, warehouse: Warehouse, *, topics: Topics,
                 max_records: int = 10_000, retention: RetentionSchedule | None = None,
                 notifier: Notifier | None = None, retry_initial: float = 0.5,
                 retry_max: float = 30.0) -> None:
        self.bootstrap = bootstrap
        self.warehouse = warehouse
        self.topics = topics
        self.group_id = topics.name("safeguard-sink")
        self.max_records = max_records
        self.retention = retention
        self.notifier = notifier  # severe alerts out by email/webhook, after each commit
        self.retry_initial = retry_initial  # backoff between writes to a failing warehouse
        self.retry_max = retry_max
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
        if not self._retrying("housekeeping", self._housekeeping):
            return 0
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        if not polled:
            self._retrying("publish", self._idle)
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

        inserted: list[int] = []  # of the attempt that succeeded

        def write() -> None:
            written = self.warehouse.write_batch(events=events, alerts=alerts,
                                                 dead_letters=dead, batches=batches,
                                                 actions=actions, quality=quality)
            inserted[:] = [written.events_inserted]
            for change in changes:
                self.warehouse.record_rule_change(change)
            for snap in directories:
                self.warehouse.record_directory(snap)

        if not self._retrying("write", write):
            return 0  # stopped while the warehouse was unwritable: not committed, redelivered
        self._commit()
        if self.notifier is not None:  # what this committed batch raised
            self._retrying("notify", lambda: self.notifier.tick(self.warehouse)
                           if self.notifier is not None else None)
        self.stats.records += n
        self.stats.events += len(events)
        self.stats.alerts += len(alerts)
        self.stats.dead_letters += len(dead)
        self.stats.batches += 1
        # progress for operators (-v) and the Kafka benchmark, which times the path by
        # when this line says the last new event was stored
        log.info("stored batch: %d records, %d events (%d new), %d alerts, %d accounting rows",
                 n, len(events), inserted[0], len(alerts), len(batches))
        return n

    def _commit(self) -> None:
        """Commit what is stored. A broker that is away (restart, network) only delays
        this: the next commit covers these offsets too, and a sink that stops first has
        the batch re-delivered, which the warehouse's dedupe absorbs; crashing on it
        (as before) stopped ingest for the length of any broker restart."""
        from kafka.errors import KafkaError

        try:
            self._consumer.commit()
        except KafkaError as exc:
            log.warning("offset commit failed (%s); the batch is stored, its offsets go "
                        "with the next commit", describe(exc))

    def _housekeeping(self) -> None:
        self.warehouse.drain_spool()  # triage steps a dashboard on this host left
        if self.retention is not None:
            self.retention.run_if_due(self.warehouse)

    def _idle(self) -> None:
        if self.notifier is not None:
            self.notifier.tick(self.warehouse)  # outcomes of sends, retries due
        self.warehouse.publish()  # let a throttled snapshot catch up while idle

    def _retrying(self, what: str, write: Callable[[], object]) -> bool:
        """Run `write` until it succeeds, pausing ingest while it fails with a disk error
        (every step is idempotent, so a retry after a half-done attempt adds nothing).
        False if the sink was stopped before it succeeded."""
        delay, failures = self.retry_initial, 0
        while True:
            try:
                write()
            except WRITE_ERRORS as exc:
                failures += 1
                self.stats.write_failures += 1
                log.error("warehouse %s failed (%s); ingest paused, offsets not committed; "
                          "retry %d in %.1f s", what, describe(exc), failures, delay)
                if isinstance(exc, duckdb.FatalException | WarehouseError):
                    self._reopen()
                self._pause(delay)
                if self._stop.is_set():
                    return False
                delay = min(delay * 2, self.retry_max)
                continue
            if failures:
                log.warning("warehouse %s succeeded after %d failed attempt(s); ingest "
                            "resumes", what, failures)
                self._consumer.resume(*self._consumer.paused())
            return True

    def _reopen(self) -> None:
        """A new connection after a fatal error (DuckDB invalidates the old one)."""
        try:
            self.warehouse.reopen()
        except WRITE_ERRORS as exc:
            log.error("warehouse cannot be reopened yet (%s)", describe(exc))

    def _pause(self, seconds: float) -> None:
        """Wait `seconds` with every partition paused, polling so that the group keeps
        this consumer (no rebalance, no redelivery to anyone else meanwhile)."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._consumer.pause(*self._consumer.assignment())
            got = self._consumer.poll(timeout_ms=int(min(remaining, 0.5) * 1000))
            for tp, records in got.items():  # newly assigned in that very poll: unread
                self._consumer.seek(tp, records[0].offset)

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
        try:
            if self.notifier is not None:
                self.notifier.close(self.warehouse)
        except WRITE_ERRORS as exc:  # stopped while the disk is still full: say so, once
            log.error("warehouse not written on shutdown (%s)", describe(exc))
        try:
            self.warehouse.close()
        except WRITE_ERRORS as exc:
            log.error("readers' snapshot not refreshed on shutdown (%s); the data is in "
                      "the warehouse file", describe(exc))
