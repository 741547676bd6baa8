"""Detector state live: `streams.core.state.StateSource` over changelog-backed Faust tables.

Each state map is one Faust table with as many partitions as the topics its partitioning is
consumed from. Faust writes a table's changelog to the partition of the event being processed,
so a map is only touched while its agent processes a record of the key's own partition, and
recovers from that partition's changelog after a restart or a rebalance.

A sweep runs on a tick record of one partition (agents.worker.app), so while it runs, iterating a map
yields only the keys that hash to that partition: writes then land in the right changelog, and
standby replicas the worker also holds are left alone.

Writes are coalesced (write-behind): a write changes the table's local store at once (reads see
it) and marks the key; when a commit starts (agents.runtime.commit), one changelog record per
marked key goes to the producer, its value as of then, so every committed offset's state is in the
changelog first: a SIGKILL loses only uncommitted work,
which is processed again (at-least-once, as with a changelog record per write). A key written many
times between two commits (a busy sender's window) costs one changelog record instead of one per
message. A commit also precedes a rebalance's revocation, so marked keys leave with their partition.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

import faust
from confluent_kafka.cimpl import murmur2  # the producers' partitioner (Kafka's default)
from faust import current_event

from agents.runtime.commit import BeforeCommit
from streams.core.state import Partition, StateMap, routing_key_of

_sweeping: ContextVar[int | None] = ContextVar("qunguard_sweeping_partition", default=None)


def partition_of(key: str, partitions: int) -> int:
    return murmur2(key.encode("utf-8"), partitions)


def record_partition() -> int:
    """The partition of the record being processed: where Faust's own changelog writes go."""
    event = current_event()
    if event is None:
        raise RuntimeError("state may only change while an agent processes a record")
    return event.message.partition


@contextlib.contextmanager
def sweeping(partition: int) -> Iterator[None]:
    """Within this block, map iteration yields only keys of `partition`."""
    token = _sweeping.set(partition)
    try:
        yield
    finally:
        _sweeping.reset(token)


class TableMap(MutableMapping[str, Any]):
    """A Faust table seen as a plain mutable mapping of routing key → JSON value, its changelog
    written behind: `flush` sends the keys written since the last flush."""

    def __init__(
        self, table: faust.Table, partitions: int, partition_now: Callable[[], int] | None = None
    ) -> None:
        self.table = table
        self.partitions = partitions
        self.partition_now = partition_now or record_partition
        self.marked: dict[str, int] = {}  # key written since the last flush → changelog partition

    def __getitem__(self, key: str) -> Any:
        return self.table[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.table.data[key] = value
        self._mark(key)

    def __delitem__(self, key: str) -> None:
        del self.table.data[key]
        self._mark(key)

    def _mark(self, key: str) -> None:
        self.marked[key] = self.partition_now()

    def flush(self) -> int:
        """Send each marked key's current value (a tombstone if deleted); return how many."""
        marked, self.marked = self.marked, {}
        data = self.table.data
        for key, partition in marked.items():
            if key in data:
                self.table.send_changelog(partition, key, data[key])
            else:
                self.table.send_changelog(partition, key, None, value_serializer="raw")
        return len(marked)

    def __contains__(self, key: object) -> bool:
        return key in self.table

    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(key, default)

    def __iter__(self) -> Iterator[str]:
        partition = _sweeping.get()
        keys = list(self.table.keys())  # a copy: sweeps delete while iterating
        if partition is None:
            return iter(keys)
        return (k for k in keys if partition_of(routing_key_of(k), self.partitions) == partition)

    def __len__(self) -> int:
        return len(self.table)


class TableState:
    """Creates one Faust table per state map; `tables` lists them for metrics and readiness."""

    def __init__(self, app: faust.App, partitions: dict[Partition, int], commits: BeforeCommit) -> None:
        self.app = app
        self.partitions = partitions
        self.tables: dict[str, TableMap] = {}
        commits.hooks.append(self.flush)

    def flush(self) -> int:
        """Send the changelog records of every map's marked keys; return how many."""
        return sum(state_map.flush() for state_map in self.tables.values())

    def map(self, name: str, partition: Partition) -> StateMap:
        if name in self.tables:
            raise ValueError(f"state map {name!r} is declared twice")
        count = self.partitions[partition]
        table = self.app.Table(name, partitions=count, help=f"{name} ({partition}-partitioned)")
        self.tables[name] = TableMap(table, count)
        return self.tables[name]
