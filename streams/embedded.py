"""The embedded runner: the whole pipeline in one process, no broker.

Inputs are parsed in chunks and merged in time order (each file is in time order, as
logs are), enriched, run through the detector, and written to the warehouse in
batches. The default for a first run, a demo, a small school, and tests.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from producers.files import read_lines
from producers.parsing import ParseContext
from safeguard.alerts import Alert
from safeguard.deadletters import DeadLetter
from safeguard.events import Event
from safeguard.inputs import InputSpec
from streams.pipeline import Pipeline, batch_accounting
from warehouse.writer import IngestBatch, Warehouse


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
                 progress: Callable[[RunStats], None] | None = None) -> None:
        self.pipeline = pipeline
        self.warehouse = warehouse
        self.batch_size = batch_size
        self.now = now or datetime.now(UTC)
        self.progress = progress
        self.state: dict[str, Any] = {}
        self._dead: list[DeadLetter] = []
        self._batches: list[IngestBatch] = []

    def _events_of(self, spec: InputSpec, stats: RunStats) -> Iterator[Event]:
        path = Path(spec.path)
        ctx = ParseContext(school_id=self.pipeline.school_id, source=str(path), now=self.now)
        dataset = spec.source
        for lines, undecodable in read_lines(path, school_id=ctx.school_id, dataset=dataset,
                                             source=str(path)):
            result = self.pipeline.parse(spec.source, lines, ctx)
            result.dead_letters.extend(undecodable)
            numbers = [n for n, _ in lines] + [d.line_no or 0 for d in undecodable]
            self._batches.append(batch_accounting(ctx.school_id, spec.source, str(path),
                                                  numbers, result))
            self._dead.extend(result.dead_letters)
            stats.records_in += result.records_in
            stats.dead_letters += len(result.dead_letters)
            yield from result.events

    def run(self, inputs: Sequence[InputSpec]) -> RunStats:
        stats = RunStats()
        for spec in inputs:
            if not Path(spec.path).is_file():
                raise FileNotFoundError(f"input file not found: {spec.path}")
        merged = heapq.merge(*(self._events_of(s, stats) for s in inputs),
                             key=lambda e: e.timestamp)
        events: list[Event] = []
        alerts: list[Alert] = []
        for event in merged:
            enriched = self.pipeline.enrich(event)
            events.append(enriched)
            found = self.pipeline.detect(enriched, self.state)
            alerts.extend(found)
            if len(events) >= self.batch_size:
                self._flush(events, alerts, stats)
                events, alerts = [], []
        self._flush(events, alerts, stats)
        return stats

    def _flush(self, events: list[Event], alerts: list[Alert], stats: RunStats) -> None:
        written = self.warehouse.write_batch(events=events, alerts=alerts,
                                             dead_letters=self._dead, batches=self._batches)
        stats.events += len(events)
        stats.events_inserted += written.events_inserted
        stats.alert_versions += len(alerts)
        stats.alert_ids.update(a.alert_id for a in alerts)
        self._dead, self._batches = [], []
        if self.progress is not None:
            self.progress(stats)
