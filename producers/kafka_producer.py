"""Sends source files to Kafka: several lines per message, idempotent, acks=all, compressed.

A message on `raw.<kind>.<format>` is JSON: the school, the source, the file, and a
batch of `[line_no, text]` pairs (plus lines that were not UTF-8, already as dead
letters), so the worker can account for every record it was sent.

Up to 5,000 lines a message (the embedded runner's chunk), because the worker's fixed
costs are per message: the data-quality suite (Great Expectations) costs about the same
for 500 rows as for 5,000 (pipelines.quality), and so do the accounting row and the
batch messages to the next stage. A message is also cut at ~800 kB of text, between
records (never inside a quoted CSV field, never in a whole-file document), so long
lines (JSON sign-in logs) stay well under the broker's 1 MiB message limit compressed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from producers.csv_records import quote_open_after
from producers.errors import ProducerError
from producers.files import read_header, read_lines
from producers.follow import CursorFile, read_new_lines
from producers.formats import parser_for, raw_topic, reading_of
from safeguard.inputs import InputSpec

LINES_PER_MESSAGE = 5_000
MAX_MESSAGE_CHARS = 800_000


def split_by_size(lines: list[tuple[int, str]], *, csv: bool, whole_file: bool,
                  max_chars: int = MAX_MESSAGE_CHARS) -> list[list[tuple[int, str]]]:
    """`lines` as consecutive pieces of at most `max_chars` of text, cut only between
    records: not inside a quoted CSV field, and not at all for a whole-file document."""
    if whole_file:
        return [lines]
    pieces: list[list[tuple[int, str]]] = [[]]
    size, open_quote = 0, False
    for number, text in lines:
        if pieces[-1] and not open_quote and size + len(text) > max_chars:
            pieces.append([])
            size = 0
        pieces[-1].append((number, text))
        size += len(text) + 16  # the JSON pair around it
        if csv:
            open_quote = quote_open_after(text, open_quote)
    return pieces


def raw_message(school_id: str, spec: InputSpec, lines: list[tuple[int, str]],
                dead: list[dict[str, Any]], header: str | None = None) -> bytes:
    return orjson.dumps({"school_id": school_id, "source": spec.source, "path": spec.path,
                         "lines": lines, "dead_letters": dead, "header": header})


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
        reading = reading_of(spec.source)
        header = read_header(path) if reading.csv else None
        sent = 0
        futures = []
        for lines, dead in read_lines(path, school_id=school_id, dataset=spec.source,
                                      source=spec.path, chunk_lines=self.lines_per_message,
                                      csv=reading.csv, whole_file=reading.whole_file):
            pieces = split_by_size(lines, csv=reading.csv, whole_file=reading.whole_file)
            for n, piece in enumerate(pieces):  # undecodable lines ride with the first
                value = raw_message(school_id, spec, piece,
                                    [d.to_dict() for d in dead] if n == 0 else [], header)
                futures.append(self._producer.send(topic, key=spec.path.encode(), value=value))
            sent += len(lines) + len(dead)
            if progress is not None:
                progress(sent)
        self._producer.flush()
        for fut in futures:
            fut.get(timeout=60)  # raise if any batch was not acknowledged
        return sent

    def follow(self, specs: Sequence[InputSpec], school_id: str, store: CursorFile, *,
               poll_interval: float = 0.5, idle_exit: float | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> int:
        """Tail the inputs; a file's cursor is saved only after the broker acknowledged
        every message before it (at-least-once; event ids make redelivery harmless)."""
        if self._producer is None:
            raise ProducerError("producer is not started", source=self.bootstrap)
        for spec in specs:
            parser_for(spec.source)
        cursors = store.load()
        sent = 0
        idle_since = time.monotonic()
        while not should_stop():
            moved = False
            for spec in specs:
                path = Path(spec.path)
                if not path.exists():
                    continue
                lines, dead, cur = read_new_lines(path, cursors.get(spec.path),
                                                  school_id=school_id, dataset=spec.source,
                                                  max_lines=self.lines_per_message)
                if cur == cursors.get(spec.path):
                    continue
                reading = reading_of(spec.source)
                header = read_header(path) if reading.csv else None
                topic = self.topic_prefix + raw_topic(spec.source)
                pieces = split_by_size(lines, csv=reading.csv, whole_file=reading.whole_file)
                sends = [self._producer.send(topic, key=spec.path.encode(), value=raw_message(
                    school_id, spec, piece, [d.to_dict() for d in dead] if n == 0 else [],
                    header)) for n, piece in enumerate(pieces)]
                for fut in sends:
                    fut.get(timeout=60)
                cursors[spec.path] = cur
                store.save(cursors)
                sent += len(lines) + len(dead)
                moved = True
            if moved:
                idle_since = time.monotonic()
            elif idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                break
            else:
                time.sleep(poll_interval)  # a tailing daemon's poll interval
        return sent

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush()
            self._producer.close()
            self._producer = None
