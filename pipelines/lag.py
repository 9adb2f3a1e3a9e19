"""Consumer lag of the sink's group: how far the warehouse is behind the broker."""

from __future__ import annotations

import logging

from streams.topics import Topics

log = logging.getLogger(__name__)


def sink_lag(broker: str, topics: Topics, timeout_ms: int = 3_000) -> int | None:
    """Messages the sink has yet to commit, summed over its partitions; None if the
    broker cannot be asked (the page says 'n/a' rather than failing)."""
    from kafka import KafkaAdminClient, KafkaConsumer
    from kafka.errors import KafkaError

    group = topics.name("safeguard-sink")
    try:
        admin = KafkaAdminClient(bootstrap_servers=broker, client_id="safeguard-dashboard",
                                 request_timeout_ms=timeout_ms)
        try:
            # kafka-python 2.x: list_consumer_group_offsets(group); 3.x renamed it
            # list_group_offsets, keyed by group (the old name is gone)
            legacy = getattr(admin, "list_consumer_group_offsets", None)
            committed = (legacy(group) if legacy is not None
                         else admin.list_group_offsets(group).get(group) or {})
        finally:
            admin.close()
        if not committed:
            return None
        consumer = KafkaConsumer(bootstrap_servers=broker, client_id="safeguard-dashboard",
                                 request_timeout_ms=max(timeout_ms, 10_000))
        try:
            ends = consumer.end_offsets(list(committed))
        finally:
            consumer.close()
    except KafkaError as exc:
        log.warning("consumer lag unavailable: %s", type(exc).__name__)
        return None
    return int(sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items() if tp in ends))
