"""Kafka topic names and their creation; the topology of DESIGN "Kafka topology".

`raw.<kind>.<format>` carry batches of source lines (several lines per message);
`events` carries parsed events keyed by device/IP (enrichment's key); `signals`
carries enriched events keyed by subject (correlation's key, and what the sink
stores); `alerts` is keyed by alert id; `config.rules` and `directory` are compacted.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from producers.formats import PARSERS, raw_topic
from safeguard.directory_snapshot import DirectorySnapshot


@dataclass(frozen=True)
class Topics:
    prefix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def raw(self) -> list[str]:
        return [self.name(raw_topic(s)) for s in sorted(PARSERS)]

    @property
    def events(self) -> str:
        return self.name("events")

    @property
    def signals(self) -> str:
        return self.name("signals")

    @property
    def alerts(self) -> str:
        return self.name("alerts")

    @property
    def alert_actions(self) -> str:
        return self.name("alert-actions")

    @property
    def deadletters(self) -> str:
        return self.name("deadletters")

    @property
    def accounting(self) -> str:
        return self.name("accounting")

    @property
    def rules(self) -> str:
        return self.name("config.rules")

    @property
    def directory(self) -> str:
        return self.name("directory")

    @property
    def compacted(self) -> list[str]:
        return [self.rules, self.directory]

    def all_streams(self) -> list[str]:
        return [*self.raw, self.events, self.signals, self.alerts, self.alert_actions,
                self.deadletters, self.accounting]


def ensure_topics(bootstrap: str, topics: Topics, partitions: int = 4) -> list[str]:
    """Create missing topics (compacted ones with cleanup.policy=compact); returns created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="safeguard-admin")
    try:
        existing = set(admin.list_topics())
        wanted: list[NewTopic] = []
        for name in topics.all_streams():
            if name not in existing:
                wanted.append(NewTopic(name, num_partitions=partitions, replication_factor=1))
        for name in topics.compacted:
            if name not in existing:
                wanted.append(NewTopic(name, num_partitions=1, replication_factor=1,
                                       topic_configs={"cleanup.policy": "compact"}))
        created = []
        for topic in wanted:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()


def partition_count(bootstrap: str, topic: str, wait: float = 0.0) -> int | None:
    """How many partitions a topic really has (None if it does not exist). With `wait`,
    keep asking that long: a topic another process has just created can be missing from
    the metadata for a moment, and a worker that took its own --partitions then would
    build tables that do not match the topic (Faust's PartitionsMismatch)."""
    import time

    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="safeguard-admin")
    try:
        deadline = time.monotonic() + wait
        while True:
            parts = consumer.partitions_for_topic(topic)
            if parts or time.monotonic() >= deadline:
                return len(parts) if parts else None
            time.sleep(0.2)  # retry interval while the metadata catches up
            consumer.topics()  # refresh the cluster metadata
    finally:
        consumer.close()


def publish_directory(bootstrap: str, topics: Topics, snap: DirectorySnapshot) -> None:
    """The worker's directory to the compacted `directory` topic (keyed by school), for
    the sink to keep as the snapshot termly figures are computed against."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             client_id="safeguard-directory", compression_type="gzip")
    try:
        producer.send(topics.directory, key=snap.school_id.encode(),
                      value=orjson.dumps(snap.to_dict())).get(timeout=30)
    finally:
        producer.close()
