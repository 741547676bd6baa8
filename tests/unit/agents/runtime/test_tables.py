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
    """A dict standing in for faust.Table: its own local store, changelog records kept in a list."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[int, str, object]] = []

    @property
    def data(self) -> FakeTable:
        return self

    def send_changelog(self, partition: int, key: str, value: object, value_serializer: str = "json") -> None:
        self.sent.append((partition, key, value))


def test_writes_reach_the_changelog_once_per_key_at_a_flush() -> None:
    table = FakeTable({"gone": 0})
    partition = [3]
    state = TableMap(table, 6, partition_now=lambda: partition[0])  # type: ignore[arg-type]
    for n in range(5):
        state["g-1"] = {"n": n}
    partition[0] = 4
    state["g-2"] = {"n": 9}
    del state["gone"]
    assert state["g-1"] == {"n": 4} and "gone" not in state and table.sent == []
    assert state.flush() == 3
    assert sorted(table.sent, key=str) == [(3, "g-1", {"n": 4}), (4, "g-2", {"n": 9}), (4, "gone", None)]
    assert state.flush() == 0 and len(table.sent) == 3


def test_a_key_written_then_deleted_before_a_flush_sends_a_tombstone() -> None:
    table = FakeTable()
    state = TableMap(table, 6, partition_now=lambda: 1)  # type: ignore[arg-type]
    state["g-1"] = 1
    del state["g-1"]
    state.flush()
    assert table.sent == [(1, "g-1", None)]


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
    state = TableMap(table, 6, partition_now=lambda: partition_of("g-1", 6))  # type: ignore[arg-type]
    with sweeping(partition_of("g-1", 6)):
        for key in state:
            del state[key]
    assert "g-1" not in table and len(table) < 20


def test_topology_sources_are_copartitioned() -> None:
    topology = Topology("qunguard")
    assert topology.sources("group") == ("chat.messages", "chat.membership", "qunguard-group")
    assert topology.sources("sender") == ("qunguard-sender",)
    assert topology.internal("member").partitions == 6
