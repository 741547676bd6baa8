"""Detector state: named keyed maps, Faust tables live and plain dicts in replay.

A stateful detector asks a `StateSource` for its maps when it is built and keeps them. Every map
is partitioned like the detector (`Detector.partition`): its keys are exactly the routing keys
of that partitioning (a group id for "group", a sender account for "sender", a member account
for "member"), so each key lives on the worker that owns its partition and recovers from that
partition's changelog. Nest per-sender or per-member data inside the key's value.

Rules for values, because live they go through a changelog:
- JSON types only (dict, list, str, int, float, bool, None); a tuple comes back as a list.
- Never mutate a value you read; build the new value and assign it (`state[key] = new`), or
  `del state[key]` when it is empty, so memory stays bounded.
- Updates must be idempotent under redelivery (at-least-once): remember event ids you counted.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Literal, Protocol

Partition = Literal["group", "sender", "member"]
PARTITIONS: tuple[Partition, ...] = ("group", "sender", "member")

StateMap = MutableMapping[str, Any]


class StateSource(Protocol):
    def map(self, name: str, partition: Partition) -> StateMap:
        """The map called `name` (unique across detectors), partitioned by `partition`."""
        ...


class MemoryState:
    """Replay's state: one dict per map name."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[str, Any]] = {}

    def map(self, name: str, partition: Partition) -> StateMap:
        return self.maps.setdefault(name, {})
