"""The live state plumbing without a broker: partition hashing and sweep-time key filtering."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from agents.runtime.tables import TableMap, partition_of, sweeping
from agents.worker.topology import Topology


def test_partition_of_matches_the_producers_partitioner() -> None:
    keys = ["g-sales", "g-rd", "wx_wanglei", "组-中文", ""]
    aiokafka = DefaultPartitioner()
    for key in keys:
        assert partition_of(key, 6) == aiokafka(key.encode(), list(range(6)), list(range(6)))


class FakeTable(dict):
    """A dict standing in for faust.Table: TableMap only uses the mapping protocol."""


def test_sweeping_yields_only_the_swept_partitions_keys() -> None:
    table = FakeTable({f"g-{i}": {"n": i} for i in range(50)})
    state = TableMap(table, 6)  # type: ignore[arg-type]
    assert sorted(state) == sorted(table)
    seen: list[str] = []
    for partition in range(6):
        with sweeping(partition):
            keys = list(state)
            assert all(partition_of(k, 6) == partition for k in keys)
            seen.extend(keys)
    assert sorted(seen) == sorted(table)


def test_compound_keys_are_swept_with_their_routing_key() -> None:
    from streams.core.state import routing_key_of, state_key

    keys = [state_key(f"g-{i}", f"wx_{j}") for i in range(20) for j in range(3)]
    state = TableMap(FakeTable(dict.fromkeys(keys, 1)), 6)  # type: ignore[arg-type]
    for partition in range(6):
        with sweeping(partition):
            assert all(partition_of(routing_key_of(k), 6) == partition for k in state)
    assert routing_key_of(state_key("g-1", "wx_a")) == "g-1" and routing_key_of("g-1") == "g-1"


def test_sweep_may_delete_while_iterating() -> None:
    table = FakeTable({f"g-{i}": i for i in range(20)})
    state = TableMap(table, 6)  # type: ignore[arg-type]
    with sweeping(partition_of("g-1", 6)):
        for key in state:
            del state[key]
    assert "g-1" not in table and len(table) < 20


def test_topology_sources_are_copartitioned() -> None:
    topology = Topology("qunguard")
    assert topology.sources("group") == ("chat.messages", "chat.membership", "qunguard-group")
    assert topology.sources("sender") == ("qunguard-sender",)
    assert topology.internal("member").partitions == 6
