"""Sends source files to Kafka: several lines per message, idempotent, acks=all, compressed.

A message on `raw.<kind>.<format>` is JSON: the school, the source, the file, and a
batch of `[line_no, text]` pairs (plus lines that were not UTF-8, already as dead
letters), so the worker can account for every record it was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from producers.errors import ProducerError
from producers.files import read_lines
from producers.formats import parser_for, raw_topic
from safeguard.inputs import InputSpec

LINES_PER_MESSAGE = 500


def raw_message(school_id: str, spec: InputSpec, lines: list[tuple[int, str]],
                dead: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"school_id": school_id, "source": spec.source, "path": spec.path,
                         "lines": lines, "dead_letters": dead})


class RawProducer:
    """kafka-python producer for raw source lines; connects in `start()`, not before."""

    def __init__(self, bootstrap: str, *, topic_prefix: str = "",
                 lines_per_message: int = LINES_PER_MESSAGE) -> None:
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self.lines_per_message = lines_per_message
        self._producer: Any = None

    def start(self) -> RawProducer:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        try:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap, client_id="safeguard-ingest",
                acks="all", enable_idempotence=True, compression_type="gzip",
                linger_ms=20, batch_size=512 * 1024, max_request_size=8 * 1024 * 1024,
                retries=2_147_483_647, request_timeout_ms=30_000)
        except KafkaError as exc:
            raise ProducerError(f"cannot connect: {exc}", source=self.bootstrap) from exc
        return self

    def send_file(self, spec: InputSpec, school_id: str,
                  progress: Callable[[int], None] | None = None) -> int:
        """Send one input; returns the number of records (lines) sent."""
        parser_for(spec.source)  # unsupported formats fail before anything is sent
        if self._producer is None:
            raise ProducerError("producer is not started", source=self.bootstrap)
        path = Path(spec.path)
        if not path.is_file():
            raise ProducerError("input file not found", source=spec.path)
        topic = self.topic_prefix + raw_topic(spec.source)
        sent = 0
        futures = []
        for lines, dead in read_lines(path, school_id=school_id, dataset=spec.source,
                                      source=spec.path, chunk_lines=self.lines_per_message):
            value = raw_message(school_id, spec, lines, [d.to_dict() for d in dead])
            futures.append(self._producer.send(topic, key=spec.path.encode(), value=value))
            sent += len(lines) + len(dead)
            if progress is not None:
                progress(sent)
        self._producer.flush()
        for fut in futures:
            fut.get(timeout=60)  # raise if any batch was not acknowledged
        return sent

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush()
            self._producer.close()
            self._producer = None
