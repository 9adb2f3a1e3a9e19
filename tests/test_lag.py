"""The IT page's sink lag on a real broker (kafka-python 3 renamed the offsets call)."""

from __future__ import annotations

import time
import uuid

import pytest

from pipelines.lag import sink_lag
from streams.topics import Topics, ensure_topics

pytestmark = pytest.mark.kafka


def test_sink_lag_is_what_the_sink_group_has_not_committed(kafka_bootstrap: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    topics = Topics(f"t{uuid.uuid4().hex[:8]}.")
    ensure_topics(kafka_bootstrap, topics, partitions=1)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for _ in range(5):
        producer.send(topics.alerts, b"{}")
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(topics.alerts, bootstrap_servers=kafka_bootstrap,
                             group_id=topics.name("safeguard-sink"),
                             auto_offset_reset="earliest", enable_auto_commit=False)
    got, deadline = 0, time.monotonic() + 60
    while got < 2 and time.monotonic() < deadline:
        got += sum(len(r) for r in consumer.poll(timeout_ms=500, max_records=2 - got).values())
    consumer.commit()
    consumer.close()
    assert got == 2
    assert sink_lag(kafka_bootstrap, topics) == 3
