"""The Faust worker: topics, agents and a table that only wire the shared pipeline steps.

raw.<kind>.<format> --parse--> events (key: device/IP) --enrich--> signals (key: subject)
--correlate (table `subject-state`, changelogged)--> alerts (key: alert id).
Dead letters and per-batch accounting go to their own topics; the sink stores them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import orjson

from safeguard.deadletters import DeadLetter
from safeguard.enrichment import subject_of
from safeguard.events import Event
from streams.pipeline import Pipeline, batch_accounting
from streams.topics import Topics


def create_app(pipeline: Pipeline, *, bootstrap: str, data_dir: Path, topics: Topics,
               partitions: int = 4, store: str = "memory://") -> faust.App:
    """Build the app; nothing connects until the worker starts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        topics.name("safeguard-worker"),
        broker=f"kafka://{bootstrap}",
        store=store,
        datadir=str(data_dir),
        web_enabled=False,
        topic_partitions=partitions,
        topic_replication_factor=1,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
    )
    raw = app.topic(*topics.raw, value_serializer="raw", key_serializer="raw")
    events = app.topic(topics.events, value_serializer="raw", key_serializer="raw",
                       partitions=partitions)
    signals = app.topic(topics.signals, value_serializer="raw", key_serializer="raw",
                        partitions=partitions)
    alerts = app.topic(topics.alerts, value_serializer="raw", key_serializer="raw",
                       partitions=partitions)
    deadletters = app.topic(topics.deadletters, value_serializer="raw", key_serializer="raw")
    accounting = app.topic(topics.accounting, value_serializer="raw", key_serializer="raw")
    subject_state = app.Table("subject-state", default=dict, partitions=partitions,
                              key_type=str, help="per-subject rule and alert state")

    async def dead_letter(d: DeadLetter) -> None:
        await deadletters.send(key=d.dead_letter_id.encode(), value=orjson.dumps(d.to_dict()))

    @app.agent(raw)
    async def parse(stream: Any) -> None:
        async for value in stream:
            try:
                msg = orjson.loads(value)
                lines = [(int(n), str(t)) for n, t in msg["lines"]]
                ctx = pipeline.context(msg["path"], header=msg.get("header"))
                result = pipeline.parse(msg["source"], lines, ctx)
                result.dead_letters.extend(DeadLetter.from_dict(d) for d in msg["dead_letters"])
            except (ValueError, KeyError, TypeError) as exc:
                await dead_letter(DeadLetter(
                    school_id=pipeline.school_id, dataset="raw", stage="parse",
                    reason=f"malformed raw message: {type(exc).__name__}: {exc}",
                    raw=bytes(value).decode("utf-8", "backslashreplace")))
                continue
            for e in result.events:
                await events.send(key=(e.device or "").encode(), value=orjson.dumps(e.to_dict()))
            for d in result.dead_letters:
                await dead_letter(d)
            numbers = [n for n, _ in lines] + [d.line_no or 0 for d in result.dead_letters]
            batch = batch_accounting(ctx.school_id, msg["source"], msg["path"], numbers, result)
            await accounting.send(key=batch.batch_id.encode(),
                                  value=orjson.dumps(batch.__dict__))

    @app.agent(events)
    async def enrich(stream: Any) -> None:
        async for value in stream:
            event = pipeline.enrich(Event.from_dict(orjson.loads(value)))
            subject, _ = subject_of(event)
            await signals.send(key=subject.encode(), value=orjson.dumps(event.to_dict()))

    @app.agent(signals)
    async def correlate(stream: Any) -> None:
        async for value in stream:
            event = Event.from_dict(orjson.loads(value))
            for alert in pipeline.detect(event, subject_state):
                await alerts.send(key=alert.alert_id.encode(), value=orjson.dumps(alert.to_dict()))

    return app


def run_worker(app: faust.App, loglevel: str = "warning") -> None:
    """Run until SIGTERM/SIGINT; Faust commits offsets and flushes tables on shutdown."""
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
