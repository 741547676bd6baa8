"""Detector state: named keyed maps, Faust tables live and plain dicts in replay.

A stateful detector asks a `StateSource` for its maps when it is built and keeps them. Every map
is partitioned like the detector (`Detector.partition`): its keys are routing keys of that
partitioning (a group id for "group", a sender account for "sender", a member account for
"member", an employee id for "employee"), or compound keys made by `state_key(routing_key, ...)`
(one group's data per sender, say), so each key lives on the worker that owns its routing key's
partition and recovers from that partition's changelog. Prefer compound keys to one big value per
routing key: live, every write sends the whole value to the changelog.

Rules for values, because live they go through a changelog:
- JSON types only (dict, list, str, int, float, bool, None); a tuple comes back as a list.
- Never mutate a value you read; build the new value and assign it (`state[key] = new`), or
  `del state[key]` when it is empty, so memory stays bounded.
- Updates must be idempotent under redelivery (at-least-once): remember event ids you counted.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Literal, Protocol

Partition = Literal["group", "sender", "member", "employee"]
# The partitionings of event detectors (streams.core.routing routes events to them). "employee" keys
# the escalation ladder (streams.ladder.steps), which is fed violations, not events.
PARTITIONS: tuple[Partition, ...] = ("group", "sender", "member")

StateMap = MutableMapping[str, Any]

_SEP = "\x1f"  # ASCII unit separator: never part of a group id or account id


def state_key(routing_key: str, *parts: str) -> str:
    """A map key under `routing_key` (which decides its partition), e.g. (group, sender)."""
    return _SEP.join((routing_key, *parts))


def routing_key_of(key: str) -> str:
    """The routing key a map key (plain or made by `state_key`) belongs to."""
    return key.split(_SEP, 1)[0]


def key_parts(key: str) -> list[str]:
    return key.split(_SEP)


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
