"""Detector state live: `streams.core.state.StateSource` over changelog-backed Faust tables.

Each state map is one Faust table with as many partitions as the topics its partitioning is
consumed from. Faust writes a table's changelog to the partition of the event being processed,
so a map is only touched while its agent processes a record of the key's own partition, and
recovers from that partition's changelog after a restart or a rebalance.

A sweep runs on a tick record of one partition (agents.worker.app), so while it runs, iterating a map
yields only the keys that hash to that partition: writes then land in the right changelog, and
standby replicas the worker also holds are left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

import faust
from confluent_kafka.cimpl import murmur2  # the producers' partitioner (Kafka's default)

from streams.core.state import Partition, StateMap, routing_key_of

_sweeping: ContextVar[int | None] = ContextVar("qunguard_sweeping_partition", default=None)


def partition_of(key: str, partitions: int) -> int:
    return murmur2(key.encode("utf-8"), partitions)


@contextlib.contextmanager
def sweeping(partition: int) -> Iterator[None]:
    """Within this block, map iteration yields only keys of `partition`."""
    token = _sweeping.set(partition)
    try:
        yield
    finally:
        _sweeping.reset(token)


class TableMap(MutableMapping[str, Any]):
    """A Faust table seen as a plain mutable mapping of routing key → JSON value."""

    def __init__(self, table: faust.Table, partitions: int) -> None:
        self.table = table
        self.partitions = partitions

    def __getitem__(self, key: str) -> Any:
        return self.table[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.table[key] = value

    def __delitem__(self, key: str) -> None:
        del self.table[key]

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

    def __init__(self, app: faust.App, partitions: dict[Partition, int]) -> None:
        self.app = app
        self.partitions = partitions
        self.tables: dict[str, TableMap] = {}

    def map(self, name: str, partition: Partition) -> StateMap:
        if name in self.tables:
            raise ValueError(f"state map {name!r} is declared twice")
        count = self.partitions[partition]
        table = self.app.Table(name, partitions=count, help=f"{name} ({partition}-partitioned)")
        self.tables[name] = TableMap(table, count)
        return self.tables[name]
