"""Batch messages between the Faust agents: one Kafka message per destination partition.

Why: one message per event per stage made Kafka (and Faust's per-message machinery) the
cost of the path, several times the detection work itself. A stage now gathers what one
input message produces into one message per partition of the next topic, sent to that
partition explicitly. Per-key partitioning is unchanged: an item goes to the partition
Kafka's default partitioner gives its key (murmur2), so the stateful agent that owns a
key still sees every item of that key, in order, and its table writes stay in the
partition of the message it is processing.

A batch message is `{"batch": [item, ...]}`; a message without `batch` is one item, so
readers accept the one-item messages earlier versions (and tests) write.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from functools import lru_cache
from typing import Any

import orjson
from kafka.partitioner.default import murmur2

# well under the broker's default message.max.bytes (1 MiB), uncompressed
MAX_BATCH_BYTES = 512 * 1024
_DELETED = object()


@lru_cache(maxsize=1 << 16)  # keys repeat (people, IPs, devices); murmur2 is pure Python
def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner puts `key` in (murmur2, as the clients do)."""
    return int((murmur2(key.encode()) & 0x7FFFFFFF) % partitions)


class PartitionBatches:
    """Items gathered per destination partition, serialised once, sent as few messages."""

    def __init__(self, partitions: int, max_bytes: int = MAX_BATCH_BYTES) -> None:
        self.partitions = partitions
        self.max_bytes = max_bytes
        self._parts: dict[int, list[bytes]] = {}

    def add(self, key: str, item: Mapping[str, Any]) -> int:
        """Queue `item` for the partition of `key`; returns that partition."""
        partition = partition_of(key, self.partitions)
        self._parts.setdefault(partition, []).append(orjson.dumps(item))
        return partition

    def __len__(self) -> int:
        return sum(len(v) for v in self._parts.values())

    def messages(self) -> Iterator[tuple[int, bytes]]:
        """(partition, message) pairs, items in the order added, each under `max_bytes`
        unless a single item is larger."""
        for partition in sorted(self._parts):
            chunk: list[bytes] = []
            size = len(_joined([]))
            for part in self._parts[partition]:
                if chunk and size + 1 + len(part) > self.max_bytes:
                    yield partition, _joined(chunk)
                    chunk, size = [], len(_joined([]))
                size += len(part) + (1 if chunk else 0)
                chunk.append(part)
            if chunk:
                yield partition, _joined(chunk)
        self._parts.clear()


def _joined(parts: list[bytes]) -> bytes:
    return b'{"batch":[' + b",".join(parts) + b"]}"


def items_of(msg: Any) -> list[dict[str, Any]]:
    """The items of a decoded message: its batch, or the message itself; ValueError if it
    is not a JSON object (the agents dead-letter it)."""
    if not isinstance(msg, Mapping):
        raise ValueError(f"not a JSON object: {type(msg).__name__}")
    batch = msg.get("batch")
    return list(batch) if isinstance(batch, list) else [dict(msg)]


class WriteBehind(MutableMapping[str, Any]):
    """A Faust table seen through a per-message write buffer.

    Why: every table write is a changelog record holding the key's whole value; a batch
    that touches one subject 50 times would write it 50 times. Reads see the buffered
    writes; `flush` writes each touched key once, while the agent is still processing
    the message, so the changelog records land in that message's partition as before.
    """

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self.dirty: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self.dirty:
            value = self.dirty[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self.table[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.dirty:
            value = self.dirty[key]
            return default if value is _DELETED else value
        return self.table.get(key, default)

    def __contains__(self, key: object) -> bool:
        if key in self.dirty:
            return self.dirty[key] is not _DELETED
        return key in self.table

    def __setitem__(self, key: str, value: Any) -> None:
        self.dirty[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.dirty[key] = _DELETED

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for key, value in self.dirty.items():
            seen.add(key)
            if value is not _DELETED:
                yield key
        yield from (k for k in list(self.table) if k not in seen)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def flush(self) -> int:
        """Write the buffered keys to the table; returns how many."""
        for key, value in self.dirty.items():
            if value is _DELETED:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        n = len(self.dirty)
        self.dirty.clear()
        return n
