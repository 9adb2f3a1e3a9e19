"""Every worker's view of `config.rules`: the compacted topic of IT's rule settings.

Read with a plain consumer that assigns itself every partition and starts at the
beginning (no consumer group), so each worker sees every change, not a share of them;
a background thread keeps reading, and `version` tells the agents when to swap rules.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson

from safeguard.rule_settings import RuleChange

log = logging.getLogger(__name__)


class RuleConfigWatcher:
    """Latest settings per rule of one school, kept current from `config.rules`."""

    def __init__(self, bootstrap: str, topic: str, school_id: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.school_id = school_id
        self.version = 0
        self._settings: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None

    def _connect(self) -> Any:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                 client_id="safeguard-rule-config")
        parts = consumer.partitions_for_topic(self.topic) or {0}
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return consumer

    def _apply(self, key: bytes | None, value: bytes | None) -> bool:
        if key is None:
            return False
        school, _, rule_id = key.decode("utf-8", "replace").partition("/")
        if school != self.school_id:
            return False
        with self._lock:
            if value is None:  # a tombstone: back to the profile's values
                self._settings.pop(rule_id, None)
            else:
                try:
                    change = RuleChange.from_dict(orjson.loads(value))
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("ignoring malformed rule change %s: %s", rule_id, exc)
                    return False
                if change.settings:
                    self._settings[rule_id] = dict(change.settings)
                else:
                    self._settings.pop(rule_id, None)
            self.version += 1
        return True

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Read what is there now; returns the number of changes applied."""
        if self._consumer is None:
            self._consumer = self._connect()
        applied = 0
        for records in self._consumer.poll(timeout_ms=timeout_ms).values():
            for rec in records:
                applied += self._apply(rec.key, rec.value)
        return applied

    def read_to_end(self, timeout: float = 15.0) -> dict[str, dict[str, Any]]:
        """Catch up with the topic (for a one-off reader such as `safeguard rules`)."""
        self.poll_once(0)
        consumer = self._consumer
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ends = consumer.end_offsets(list(consumer.assignment()))
            if all(consumer.position(tp) >= end for tp, end in ends.items()):
                break
            self.poll_once(200)
        return self.snapshot()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._settings.items()}

    def start(self) -> RuleConfigWatcher:
        self._thread = threading.Thread(target=self._run, name="rule-config", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(500)
            except Exception:  # a broker hiccup must not kill the worker's rule updates
                log.exception("reading config.rules failed; retrying")
                time.sleep(1.0)  # back-off before reconnecting
                self._consumer = None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def publish_change(bootstrap: str, topic: str, change: RuleChange) -> None:
    """Write one change to `config.rules` (keyed school/rule, so compaction keeps the latest)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             client_id="safeguard-rules")
    try:
        producer.send(topic, key=change.key.encode(),
                      value=orjson.dumps(change.to_dict())).get(timeout=30)
    finally:
        producer.close()
