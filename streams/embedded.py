"""The embedded runner: the whole pipeline in one process, no broker.

Inputs are parsed in chunks and merged in time order (each file is in time order, as
logs are), enriched, run through the detector, and written to the warehouse in
batches. The default for a first run, a demo, a small school, and tests.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.incident_form import ingested
from pipelines.incident_form import pending as incident_inbox
from pipelines.notify import Notifier
from pipelines.retention_job import RetentionSchedule
from producers.files import read_header, read_lines
from producers.follow import Cursor, read_new_lines
from producers.formats import reading_of
from safeguard.alerts import Alert
from safeguard.deadletters import DeadLetter
from safeguard.events import Event
from safeguard.inputs import InputSpec
from streams.pipeline import Pipeline, batch_accounting
from warehouse.writer import IngestBatch, SourceCursor, Warehouse

IDENTITY_PREFIX = "identity|"  # identity state shares the warehouse's state table
# lines parsed and validated at a time per file: each Great Expectations run costs about
# a second whatever its size, so a bulk run validates big batches (memory: ~1 KB a line)
PARSE_CHUNK = 50_000


@dataclass
class RunStats:
    records_in: int = 0
    events: int = 0
    dead_letters: int = 0
    alert_versions: int = 0
    events_inserted: int = 0
    alert_ids: set[str] = field(default_factory=set)

    @property
    def alerts(self) -> int:
        return len(self.alert_ids)


class EmbeddedRunner:
    """Runs the pipeline over files into a warehouse it owns for the duration of `run`."""

    def __init__(self, pipeline: Pipeline, warehouse: Warehouse, *, batch_size: int = 20_000,
                 now: datetime | None = None,
                 progress: Callable[[RunStats], None] | None = None,
                 retention: RetentionSchedule | None = None,
                 notifier: Notifier | None = None) -> None:
        self.pipeline = pipeline
        self.retention = retention  # follow mode owns the file for days: it runs retention
        self.notifier = notifier  # follow mode: severe alerts out by email/webhook
        self.warehouse = warehouse
        self.batch_size = batch_size
        self.now = now or datetime.now(UTC)
        self.progress = progress
        self.state: dict[str, Any] = {}
        self.identity: dict[str, Any] = {}
        self._dead: list[DeadLetter] = []
        self._batches: list[IngestBatch] = []
        self._quality: list[dict[str, Any]] = []

    def _events_of(self, spec: InputSpec, stats: RunStats) -> Iterator[Event]:
        path = Path(spec.path)
        reading = reading_of(spec.source)
        ctx = self.pipeline.context(str(path), self.now,
                                    header=read_header(path) if reading.csv else None)
        for lines, undecodable in read_lines(path, school_id=ctx.school_id, dataset=spec.source,
                                             source=str(path), csv=reading.csv,
                                             whole_file=reading.whole_file,
                                             chunk_lines=PARSE_CHUNK):
            result, report = self.pipeline.parse_checked(spec.source, lines, ctx)
            result.dead_letters.extend(undecodable)
            numbers = [n for n, _ in lines] + [d.line_no or 0 for d in undecodable]
            batch = batch_accounting(ctx.school_id, spec.source, str(path), numbers, result)
            self._batches.append(batch)
            self._quality.extend(self.pipeline.quality_rows(report, batch, ctx.now))
            self._dead.extend(result.dead_letters)
            stats.records_in += result.records_in
            stats.dead_letters += len(result.dead_letters)
            yield from result.events

    def run(self, inputs: Sequence[InputSpec]) -> RunStats:
        stats = RunStats()
        self.pipeline.apply_settings(self.warehouse.load_rule_settings(self.pipeline.school_id))
        for spec in inputs:
            if not Path(spec.path).is_file():
                raise FileNotFoundError(f"input file not found: {spec.path}")
        merged = heapq.merge(*(self._events_of(s, stats) for s in inputs),
                             key=lambda e: e.timestamp)
        events: list[Event] = []
        alerts: list[Alert] = []
        for raw_event in merged:
            for event in self.pipeline.with_daily(raw_event):
                enriched = self.pipeline.enrich(event, self.identity)
                events.append(enriched)
                alerts.extend(self.pipeline.detect(enriched, self.state))
            if len(events) >= self.batch_size:
                alerts.extend(self.pipeline.advance(events[-1].timestamp, self.state))
                self._flush(events, alerts, stats)
                events, alerts = [], []
        if events:
            alerts.extend(self.pipeline.advance(events[-1].timestamp, self.state))
        self._flush(events, alerts, stats)
        return stats

    def _flush(self, events: list[Event], alerts: list[Alert], stats: RunStats) -> None:
        written = self.warehouse.write_batch(events=events, alerts=alerts,
                                             dead_letters=self._dead, batches=self._batches,
                                             quality=self._quality)
        stats.events += len(events)
        stats.events_inserted += written.events_inserted
        stats.alert_versions += len(alerts)
        stats.alert_ids.update(a.alert_id for a in alerts)
        self._dead, self._batches, self._quality = [], [], []
        if self.progress is not None:
            self.progress(stats)

    def follow(self, inputs: Sequence[InputSpec], *, poll_interval: float = 0.5,
               idle_exit: float | None = None, should_stop: Callable[[], bool] = lambda: False,
               max_lines: int = 5_000) -> RunStats:
        """Tail the inputs until stopped (or idle for `idle_exit` s), resuming where the
        warehouse says the last committed batch ended: no duplicates, no gaps."""
        stats = RunStats()
        self.pipeline.apply_settings(self.warehouse.load_rule_settings(self.pipeline.school_id))
        stored = self.warehouse.load_cursors()
        cursors: dict[str, Cursor | None] = {}
        for spec in inputs:
            c = stored.get(spec.path)
            cursors[spec.path] = Cursor(c.path, c.inode, c.byte_offset, c.line_no) if c else None
        saved = self.warehouse.load_state()
        self.state = {k: v for k, v in saved.items() if not k.startswith(IDENTITY_PREFIX)}
        self.identity = {k[len(IDENTITY_PREFIX):]: v for k, v in saved.items()
                         if k.startswith(IDENTITY_PREFIX)}
        idle_since = time.monotonic()
        while not should_stop():
            events, dead, batches, moved = [], [], [], []
            quality: list[dict[str, Any]] = []
            # incidents recorded in the dashboard while this follower holds the file
            inbox = incident_inbox(self.warehouse.path)
            for spec, cursor in [*((s, cursors[s.path]) for s in inputs),
                                 *((InputSpec("incident", "csv", str(p)), None) for p in inbox)]:
                path = Path(spec.path)
                if not path.exists():
                    continue  # a rotated log not yet re-created
                lines, undecodable, cur = read_new_lines(
                    path, cursor, school_id=self.pipeline.school_id,
                    dataset=spec.source, max_lines=max_lines)
                if cur == cursor:
                    continue
                if spec.path in cursors:
                    cursors[spec.path] = cur
                    moved.append(SourceCursor(cur.path, cur.inode, cur.offset, cur.line_no))
                header = read_header(path) if reading_of(spec.source).csv else None
                ctx = self.pipeline.context(str(path), header=header)
                result, report = self.pipeline.parse_checked(spec.source, lines, ctx)
                result.dead_letters.extend(undecodable)
                numbers = [n for n, _ in lines] + [d.line_no or 0 for d in undecodable]
                batch = batch_accounting(self.pipeline.school_id, spec.source, cur.key,
                                         numbers, result)
                batches.append(batch)
                quality.extend(self.pipeline.quality_rows(report, batch, ctx.now))
                events.extend(result.events)
                dead.extend(result.dead_letters)
                stats.records_in += result.records_in
                stats.dead_letters += len(result.dead_letters)
            self.warehouse.drain_spool()  # triage steps the dashboard left meanwhile
            if self.retention is not None:
                self.retention.run_if_due(self.warehouse)
            if self.notifier is not None:
                self.notifier.tick(self.warehouse)  # what the last batch raised; retries
            if not moved and not batches:
                self.warehouse.publish()  # let a throttled snapshot catch up while idle
                if idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                    break
                time.sleep(poll_interval)  # a tailing daemon's poll interval
                continue
            idle_since = time.monotonic()
            events.sort(key=lambda e: e.timestamp)
            enriched: list[Event] = []
            alerts: list[Alert] = []
            touched: set[str] = set()
            identity_touched = {e.network_key for e in events}
            for event in (d for raw in events for d in self.pipeline.with_daily(raw)):
                e = self.pipeline.enrich(event, self.identity)
                enriched.append(e)
                alerts.extend(self.pipeline.detect(e, self.state))
                touched.update(k.subject for k in self.pipeline.keys(e))
            if enriched:
                alerts.extend(self.pipeline.advance(enriched[-1].timestamp, self.state,
                                                    changed=touched))
            written = self.warehouse.write_batch(
                events=enriched, alerts=alerts, dead_letters=dead, batches=batches,
                quality=quality, cursors=moved, state={
                    **{s: self.state[s] for s in touched if s in self.state},
                    **{IDENTITY_PREFIX + k: v for k, v in self.identity.items()
                       if k in identity_touched}})
            stats.events += len(enriched)
            stats.events_inserted += written.events_inserted
            stats.alert_versions += len(alerts)
            stats.alert_ids.update(a.alert_id for a in alerts)
            ingested(inbox)  # committed: the form's records are done
            if self.progress is not None:
                self.progress(stats)
        if self.notifier is not None:
            self.notifier.close(self.warehouse)
        return stats
