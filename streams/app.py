"""The Faust worker: topics, agents and tables that only wire the shared pipeline steps.

raw.<kind>.<format> --parse--> events, one copy per network key the event names (IP,
device; the first is forwarded, the others only update identity) --enrich (table
`identity`: login and loan sessions per network key)--> signals, one item per partition
of the subject keys the rules need --correlate (table `subject-state`)--> alerts (key:
alert id). Absence deadlines advance on event time: a leader timer sends a tick to every
`signals` partition, and the agent that owns the partition fires what is due for the
keys of that partition only, so every table write stays in its own partition.

Between agents, what one input message produces travels as one batch message per
destination partition (`streams.batches`): an item still goes to the partition of its
key, so partitioning, per-key order and table placement are what they were with one
message per event, at a fraction of the Kafka messages. Table writes of a batch are
buffered and written once per key before the next message (`WriteBehind`). Delivery
stays at-least-once: a batch re-delivered after a crash is processed again, and
deterministic event and alert ids (and the detector's evidence check) make that a no-op
downstream.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faust
import orjson

from safeguard.deadletters import DeadLetter
from safeguard.detection import SubjectKey
from safeguard.events import Event
from streams.batches import PartitionBatches, WriteBehind, items_of, partition_of
from streams.pipeline import Pipeline, batch_accounting
from streams.rule_config import RuleConfigWatcher
from streams.topics import Topics

log = logging.getLogger(__name__)

TICK_SECONDS = 2.0
# how far behind a partition's newest event time a deadline is judged: events may arrive
# this much out of order (other sources, other partitions) and still meet it
ALLOWED_LATENESS = timedelta(minutes=10)
# how long a crashed worker's partitions wait before the group moves them (Faust's default
# of 60 s held every alert of those partitions back for a minute after a kill -9); well
# above the 3 s heartbeat, so a busy event loop is not taken for a dead worker
SESSION_TIMEOUT = 20.0


__all__ = ["create_app", "partition_of", "run_worker", "signal_items"]


def signal_items(event: Event, keys: list[SubjectKey],
                 partitions: int) -> list[tuple[str, dict[str, Any]]]:
    """The `signals` items of an enriched event: one per partition its keys fall in, with
    those keys in order; `primary` marks the item holding the first key (the sink stores
    the event from that one only)."""
    payload = event.to_dict()
    grouped: dict[int, list[SubjectKey]] = {}
    for key in keys:
        grouped.setdefault(partition_of(key.subject, partitions), []).append(key)
    return [(group[0].subject, {"event": payload, "keys": [k.to_dict() for k in group],
                                "primary": group[0] is keys[0]})
            for group in grouped.values()]


def create_app(pipeline: Pipeline, *, bootstrap: str, data_dir: Path, topics: Topics,
               partitions: int = 4, store: str = "memory://",
               rules: RuleConfigWatcher | None = None,
               session_timeout: float = SESSION_TIMEOUT) -> faust.App:
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
        # let the producer gather a batch per partition instead of one request per message
        producer_linger=0.01,
        producer_max_batch_size=1024 * 1024,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=session_timeout,
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
    identity = app.Table("identity", default=dict, partitions=partitions, key_type=str,
                         help="login sessions per network key")
    subject_state = app.Table("subject-state", default=dict, partitions=partitions,
                              key_type=str, help="per-subject rule and alert state")
    # event-time watermark per `signals` partition, kept in a table so that it moves
    # with the partition on a rebalance: a new owner that saw none of the partition's
    # events must still judge its pending deadlines
    marks = app.Table("watermarks", default=str, partitions=partitions, key_type=str,
                      help="newest event time per signals partition")
    watermarks: dict[int, datetime] = {}

    def watermark(partition: int) -> datetime | None:
        local, stored = watermarks.get(partition), marks.get(str(partition))
        if stored:
            kept = datetime.fromisoformat(stored)
            local = kept if local is None else max(local, kept)
        return local
    applied = {"version": 0}

    def refresh_rules() -> None:
        """Swap in IT's latest settings between events (the watcher reads config.rules)."""
        if rules is not None and rules.version != applied["version"]:
            applied["version"] = rules.version
            pipeline.apply_settings(rules.snapshot())

    async def dead_letter(d: DeadLetter) -> None:
        await deadletters.send(key=d.dead_letter_id.encode(), value=orjson.dumps(d.to_dict()))

    async def poison(stage: str, value: bytes, exc: Exception) -> None:
        """A message a step cannot handle is a dead letter, not a crash-looping agent
        (Faust restarts a crashed agent on the same message, so one bad record would stall
        its partition for good)."""
        log.error("%s: message dead-lettered after %s", stage, type(exc).__name__)
        await dead_letter(DeadLetter(
            school_id=pipeline.school_id, dataset="stream", stage=stage,
            reason=f"{stage} failed: {type(exc).__name__}: {exc}",
            raw=bytes(value).decode("utf-8", "backslashreplace")))

    async def send_alerts(found: list[Any]) -> None:
        for alert in found:
            await alerts.send(key=alert.alert_id.encode(), value=orjson.dumps(alert.to_dict()))

    @app.agent(raw)
    async def parse(stream: Any) -> None:
        async for value in stream:
            try:
                msg = orjson.loads(value)
                lines = [(int(n), str(t)) for n, t in msg["lines"]]
                ctx = pipeline.context(msg["path"], header=msg.get("header"))
                result, report = pipeline.parse_checked(msg["source"], lines, ctx)
                result.dead_letters.extend(DeadLetter.from_dict(d) for d in msg["dead_letters"])
            except (ValueError, KeyError, TypeError) as exc:
                await dead_letter(DeadLetter(
                    school_id=pipeline.school_id, dataset="raw", stage="parse",
                    reason=f"malformed raw message: {type(exc).__name__}: {exc}",
                    raw=bytes(value).decode("utf-8", "backslashreplace")))
                continue
            out = PartitionBatches(partitions)
            for e in result.events:
                payload = e.to_dict()
                for i, key in enumerate(pipeline.routing_keys(e)):
                    out.add(key, {"event": payload, "key": key, "forward": i == 0})
            for partition, message in out.messages():
                await events.send(value=message, partition=partition)
            for d in result.dead_letters:
                await dead_letter(d)
            numbers = [n for n, _ in lines] + [d.line_no or 0 for d in result.dead_letters]
            batch = batch_accounting(ctx.school_id, msg["source"], msg["path"], numbers, result)
            await accounting.send(key=batch.batch_id.encode(), value=orjson.dumps(
                {**batch.__dict__, "quality": pipeline.quality_rows(report, batch, ctx.now)}))

    @app.agent(events)
    async def enrich(stream: Any) -> None:
        async for value in stream:
            try:
                items = items_of(orjson.loads(value))
            except ValueError as exc:
                await poison("enrich", value, exc)
                continue
            sessions = WriteBehind(identity)
            out = PartitionBatches(partitions)
            for item in items:
                try:
                    parsed = Event.from_dict(item["event"])
                    if not item["forward"]:  # a copy for another key: identity only
                        pipeline.observe(parsed, item["key"], sessions)
                        continue
                    found = [pair for e in pipeline.with_daily(parsed)
                             for enriched in [pipeline.enrich(e, sessions, item["key"])]
                             for pair in signal_items(enriched, pipeline.keys(enriched),
                                                      partitions)]
                except Exception as exc:  # any failure: a dead letter
                    await poison("enrich", orjson.dumps(item), exc)
                    continue
                for key, signal in found:
                    out.add(key, signal)
            sessions.flush()
            for partition, message in out.messages():
                await signals.send(value=message, partition=partition)

    @app.agent(signals)
    async def correlate(stream: Any) -> None:
        async for event_ in stream.events():
            refresh_rules()
            try:
                msg = orjson.loads(event_.value)
                items = [] if "tick" in msg else items_of(msg)
            except (ValueError, TypeError) as exc:
                await poison("detect", event_.value, exc)
                continue
            partition = event_.message.partition
            if "tick" in msg:
                mark = watermark(partition)
                if mark is not None:
                    watermarks[partition] = mark
                    if marks.get(str(partition)) != mark.isoformat():
                        marks[str(partition)] = mark.isoformat()  # at most once per tick
                    now = mark - ALLOWED_LATENESS
                    mine = [k for k in list(subject_state.keys())
                            if partition_of(k, partitions) == partition]
                    await send_alerts(pipeline.advance(now, subject_state, mine))
                continue
            state = WriteBehind(subject_state)
            found: list[Any] = []
            for item in items:
                try:
                    event = Event.from_dict(item["event"])
                    keys = item["keys"] if "keys" in item else [item["key"]]
                    for key in keys:
                        found.extend(pipeline.detect_key(event, SubjectKey.from_dict(key),
                                                         state))
                except Exception as exc:  # any failure: a dead letter
                    await poison("detect", orjson.dumps(item), exc)
                    continue
                mark = watermarks.get(partition)
                watermarks[partition] = (event.timestamp if mark is None
                                         else max(mark, event.timestamp))
            state.flush()
            await send_alerts(found)

    @app.task  # type: ignore[untyped-decorator]
    async def load_quality_suites() -> None:
        # GX's import and context take seconds (more on a busy box): do it while the
        # consumer group forms, in a thread so the loop keeps heart-beating, rather than
        # stalling the first raw message after every start
        await asyncio.get_running_loop().run_in_executor(None, pipeline.validator.start)

    @app.timer(TICK_SECONDS, on_leader=True)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        stamp = orjson.dumps({"tick": datetime.now(UTC).isoformat()})
        for p in range(partitions):
            await signals.send(key=b"tick", value=stamp, partition=p)

    return app


def run_worker(app: faust.App, loglevel: str = "warning") -> None:
    """Run until SIGTERM/SIGINT; Faust commits offsets and flushes tables on shutdown."""
    level = logging.getLevelName(loglevel.upper())

    @app.task  # type: ignore[untyped-decorator]
    async def quiet_logging() -> None:
        # Faust's worker leaves the root logger at DEBUG (only its handler filters), so
        # every send formatted a debug record: measured at 7% of the worker's time
        logging.getLogger().setLevel(level)

    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
