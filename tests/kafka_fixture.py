"""Pytest plugin: one real Kafka broker per test session, started from Maven jars.

Registered with `pytest_plugins = ["tests.kafka_fixture"]` (or `-p tests.kafka_fixture`).
Set `SAFEGUARD_KAFKA_BOOTSTRAP=host:port` to run the same tests against an existing
broker instead (e.g. the one from docker-compose.yml); nothing is started then.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from streams.local_kafka import LocalKafka, LocalKafkaError

EXTERNAL_BOOTSTRAP_ENV = "SAFEGUARD_KAFKA_BOOTSTRAP"


@pytest.fixture(scope="session")
def local_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka | None]:
    """The session's LocalKafka, running; None when an external broker is configured.

    Teardown stops the broker by its PID file, so no JVM outlives the session.
    """
    if os.environ.get(EXTERNAL_BOOTSTRAP_ENV):
        yield None
        return
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip(f"no java on PATH; install Java 17+ or set {EXTERNAL_BOOTSTRAP_ENV}")
    kafka = LocalKafka(tmp_path_factory.mktemp("kafka"))
    try:
        kafka.start()
    except LocalKafkaError as exc:
        kafka.stop()
        pytest.fail(f"could not start a local Kafka: {exc}", pytrace=False)
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(local_kafka: LocalKafka | None) -> str:
    """A `host:port` bootstrap string for a running broker (local or external)."""
    external = os.environ.get(EXTERNAL_BOOTSTRAP_ENV)
    if external:
        return external
    assert local_kafka is not None
    status = local_kafka.status()
    if not status.running or status.bootstrap is None:
        pytest.fail(f"local Kafka in {local_kafka.home} is not running", pytrace=False)
    return status.bootstrap
