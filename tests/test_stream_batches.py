"""Batch messages between agents keep per-key partitioning and order; table writes buffer."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.batches import PartitionBatches, WriteBehind, items_of, partition_of


def test_partition_of_is_the_partition_faust_would_pick_for_the_key() -> None:
    from aiokafka.partitioner import DefaultPartitioner  # Faust's producer's partitioner

    parts = list(range(4))
    for key in ("ip:10.0.0.7", "P1", "device:lab-01", "location:ICT suite", ""):
        assert partition_of(key, 4) == DefaultPartitioner()(key.encode(), parts, parts)


def test_items_go_to_their_keys_partition_in_order_and_messages_stay_small() -> None:
    batches = PartitionBatches(4, max_bytes=2_000)
    keys = [f"user{i % 7}" for i in range(300)]
    for n, key in enumerate(keys):
        batches.add(key, {"key": key, "n": n, "pad": "x" * 50})
    seen: dict[int, list[dict[str, Any]]] = {}
    for partition, message in batches.messages():
        assert len(message) <= 2_000
        seen.setdefault(partition, []).extend(items_of(orjson.loads(message)))
    assert sum(len(v) for v in seen.values()) == 300
    for partition, items in seen.items():
        assert all(partition_of(i["key"], 4) == partition for i in items)
        assert [i["n"] for i in items] == sorted(i["n"] for i in items)  # order kept
    assert not list(batches.messages())  # drained


def test_a_message_without_batch_is_one_item_and_a_non_object_is_refused() -> None:
    single = {"event": {"event.id": "e1"}, "key": {}, "primary": True}
    assert items_of(single) == [single]
    for bad in ([1, 2], 3, "x", None):
        with pytest.raises(ValueError, match="not a JSON object"):
            items_of(bad)


def test_write_behind_reads_its_own_writes_and_flushes_each_key_once() -> None:
    class Counting(dict[str, Any]):
        writes = 0

        def __setitem__(self, key: str, value: Any) -> None:
            Counting.writes += 1
            super().__setitem__(key, value)

    table = Counting(a={"n": 0}, gone={"n": 9})
    view = WriteBehind(table)
    for n in range(1, 51):
        view["a"] = {"n": n}
        assert view["a"] == {"n": n} and table["a"] == {"n": 0}
    view["b"] = {"n": 1}
    del view["gone"]
    assert "gone" not in view and view.get("gone") is None and set(view) == {"a", "b"}
    assert view.flush() == 3
    assert table == {"a": {"n": 50}, "b": {"n": 1}} and Counting.writes == 2
