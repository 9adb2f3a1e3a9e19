"""Tests for streams.local_kafka: pure rendering/port helpers, and a real broker (`kafka`)."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from streams.local_kafka import (
    DEPENDENCY_PLUGIN_VERSION,
    KAFKA_VERSION,
    LOG4J_VERSION,
    KafkaStatus,
    LocalKafka,
    LocalKafkaError,
    fetch_kafka_libs,
    new_cluster_id,
    pick_free_port,
    pick_free_ports,
    port_is_free,
    render_log4j2_config,
    render_pom,
    render_server_properties,
)


def _parse_properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key] = value
    return props


# --------------------------------------------------------------------------- unit tests


def test_server_properties_single_node_kraft_on_loopback(tmp_path: Path) -> None:
    props = _parse_properties(render_server_properties(tmp_path, 19092, 19093))

    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["num.partitions"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "true"


def test_log4j2_config_writes_to_the_given_file(tmp_path: Path) -> None:
    import yaml

    log_file = tmp_path / "kafka.log"
    config = yaml.safe_load(render_log4j2_config(log_file))

    appender = config["Configuration"]["Appenders"]["RollingFile"]
    assert appender["fileName"] == str(log_file)


def test_pom_pins_broker_logging_binding_and_plugin() -> None:
    pom = render_pom()

    assert f"<artifactId>kafka_2.13</artifactId>\n      <version>{KAFKA_VERSION}</version>" in pom
    assert "<artifactId>log4j-slf4j-impl</artifactId>" in pom
    assert "log4j-slf4j2-impl" not in pom  # Kafka 4.1 uses slf4j-api 1.7
    assert "<artifactId>log4j-core</artifactId>" in pom
    assert pom.count(f"<version>{LOG4J_VERSION}</version>") == 2
    assert f"<version>{DEPENDENCY_PLUGIN_VERSION}</version>" in pom


def test_pick_free_ports_are_distinct_and_bindable() -> None:
    ports = pick_free_ports(4)

    assert len(set(ports)) == 4
    for port in ports:
        assert 0 < port < 65536
        assert port_is_free(port)
    assert port_is_free(pick_free_port())


def test_port_with_a_listener_is_not_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert not port_is_free(sock.getsockname()[1])


def test_cluster_id_is_unpadded_urlsafe_uuid() -> None:
    cluster_id = new_cluster_id()

    assert len(cluster_id) == 22
    assert "=" not in cluster_id
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    assert new_cluster_id() != cluster_id


def test_cluster_id_never_looks_like_a_command_line_option() -> None:
    # ~1 in 64 raw ids start with '-', which StorageTool would parse as a flag.
    assert not any(new_cluster_id().startswith("-") for _ in range(2000))


def test_constructor_does_no_io(tmp_path: Path) -> None:
    home = tmp_path / "not-created"
    LocalKafka(home, cache_dir=tmp_path / "cache-not-created")

    assert not home.exists()
    assert not (tmp_path / "cache-not-created").exists()


def test_status_and_stop_without_a_broker(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path / "home")

    assert kafka.status() == KafkaStatus(running=False, pid=None, bootstrap=None)
    assert kafka.stop() is False


def test_stale_pid_file_never_signals_an_unrelated_process(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path)
    kafka.pid_file.write_text(f"{os.getpid()}\n")  # this pytest process: alive, not Kafka

    assert kafka.status().running is False
    assert kafka.stop() is False  # and we are still here to assert it
    assert not kafka.pid_file.exists()


def test_fetch_reuses_a_completed_cache_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / f"kafka-{KAFKA_VERSION}"
    (root / "libs").mkdir(parents=True)
    digest = hashlib.sha256(render_pom().encode("utf-8")).hexdigest()
    (root / ".complete").write_text(digest + "\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no mvn, no java

    assert fetch_kafka_libs(tmp_path) == root / "libs"


def test_fetch_redoes_a_half_download_and_explains_missing_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / f"kafka-{KAFKA_VERSION}" / "libs").mkdir(parents=True)  # jars but no marker
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("JAVA_HOME", raising=False)

    with pytest.raises(LocalKafkaError, match="`mvn` not found"):
        fetch_kafka_libs(tmp_path)


def test_cache_dir_defaults_to_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / f"kafka-{KAFKA_VERSION}"
    (root / "libs").mkdir(parents=True)
    digest = hashlib.sha256(render_pom().encode("utf-8")).hexdigest()
    (root / ".complete").write_text(digest + "\n")
    monkeypatch.setenv("SAFEGUARD_CACHE_DIR", str(tmp_path))

    assert LocalKafka(tmp_path / "home").fetch() == root / "libs"


# --------------------------------------------------------------------------- real broker


def _consume_one(bootstrap: str, topic: str, timeout: float) -> list[tuple[bytes, bytes]]:
    """Read from the topic's start until one record arrives or the deadline passes."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    received: list[tuple[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while not received and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received.extend((r.key, r.value) for r in records)
    finally:
        consumer.close()
    return received


@pytest.mark.kafka
def test_produce_and_consume_round_trip(kafka_bootstrap: str) -> None:
    topic = f"test.local-kafka.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics(
            {topic: {"num_partitions": 1, "replication_factor": 1}},
            wait_for_metadata=True,
        )
        assert topic in admin.list_topics()
    finally:
        admin.close()

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        producer.send(topic, key=b"device-1", value=b'{"synthetic": true}').get(timeout=30)
    finally:
        producer.close()

    assert _consume_one(kafka_bootstrap, topic, timeout=30) == [
        (b"device-1", b'{"synthetic": true}')
    ]


@pytest.mark.kafka
def test_status_reports_the_running_broker(local_kafka: LocalKafka | None) -> None:
    if local_kafka is None:
        pytest.skip("external broker configured; nothing local to inspect")

    status = local_kafka.status()

    assert status.running is True
    assert status.pid == int(local_kafka.pid_file.read_text())
    assert status.bootstrap is not None
    assert status.bootstrap.startswith("127.0.0.1:")
    cmdline = Path(f"/proc/{status.pid}/cmdline").read_bytes().split(b"\0")
    assert b"kafka.Kafka" in cmdline
    # A second start on the same home finds it instead of launching another.
    assert local_kafka.start() == status.bootstrap
    assert local_kafka.status().pid == status.pid


@pytest.mark.kafka
def test_second_broker_starts_and_stops_cleanly(tmp_path: Path, kafka_bootstrap: str) -> None:
    kafka = LocalKafka(tmp_path / "second")
    try:
        bootstrap = kafka.start()
        status = kafka.status()
        assert status.running and status.pid is not None
        assert bootstrap != kafka_bootstrap  # its own free ports

        assert kafka.stop() is True

        assert not Path(f"/proc/{status.pid}").exists()  # gone, and reaped
        assert kafka.status() == KafkaStatus(running=False, pid=None, bootstrap=None)
        assert kafka.stop() is False
    finally:
        kafka.stop()


@pytest.mark.kafka
def test_requested_port_in_use_is_refused(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        kafka = LocalKafka(tmp_path / "busy", port=sock.getsockname()[1])

        with pytest.raises(LocalKafkaError, match="already in use"):
            kafka.start()

    assert kafka.status().running is False


@pytest.mark.kafka
def test_start_failure_raises_with_log_tail_and_leaves_nothing_running(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path / "bad-heap", heap="not-a-size")

    with pytest.raises(LocalKafkaError, match="exited during start-up") as info:
        kafka.start(timeout=30)

    assert info.value.context is not None
    assert "heap" in info.value.context.lower()
    assert kafka.status().running is False
    assert not kafka.pid_file.exists()
