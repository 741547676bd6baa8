"""Event-time order across the sources of one partition: a k-way merge behind their progress.

The group agent reads two source partitions for one partition of its state, chat.messages and
chat.membership of the same number. Each is read in order, but not at the same pace: while a
worker catches up on a backlog it may read a thousand messages before the membership events
that happened between them, and a rule that asks who was in the group at a message's time
(chat.private_in_group, ack.missing) would then judge by the wrong members. Replay reads one file
in event-time order; live has to restore that order before it judges.

`EventTimeMerge` holds what its sources deliver, each source's items in arrival order, and releases
the oldest head among them once no other source can still deliver something older: each other
source has an item waiting (its head is younger, or it would be the oldest), has already delivered
an event at least as young, or has nothing more to read (`caught_up`: live, its consumer position
has reached the partition's end). In steady state every source is caught up and an item goes at
once; only a source with a backlog holds the others back. A source heard from nothing for
`idle_after` seconds of wall time holds nothing back, so one that stalls never stops the others;
and at most `limit` items wait: past that the oldest goes regardless (order as read, as before).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
NEVER = float("-inf")


@dataclass
class _Source(Generic[T]):
    waiting: deque[tuple[float, T]] = field(default_factory=deque)
    newest: float = NEVER  # the youngest event time this source has delivered
    heard: float = NEVER  # wall time of its last delivery (or of its declaration)


class EventTimeMerge(Generic[T]):
    """One partition's merge over the sources declared up front."""

    def __init__(
        self, sources: Iterable[str], idle_after: float, limit: int = 10_000, wall: float = 0.0
    ) -> None:
        self.sources: dict[str, _Source[T]] = {name: _Source(heard=wall) for name in sources}
        self.idle_after = idle_after
        self.limit = limit
        self.held = 0

    def add(self, source: str, event_time: float, item: T, wall: float) -> None:
        """Hold `item` of `source` (a source not declared is added)."""
        state = self.sources.setdefault(source, _Source())
        state.waiting.append((event_time, item))
        state.newest = max(state.newest, event_time)
        state.heard = wall
        self.held += 1

    def saw(self, source: str, event_time: float, wall: float) -> None:
        """`source` has delivered everything up to `event_time` without an item here (a progress
        report of a source that feeds this partition through another process)."""
        state = self.sources.setdefault(source, _Source())
        state.newest = max(state.newest, event_time)
        state.heard = wall

    def release(self, caught_up: Callable[[str], bool], wall: float) -> list[T]:
        """The items that may be judged now, oldest first (see the module docstring)."""
        released: list[T] = []
        while self.held:
            name, oldest = min(
                ((name, s.waiting[0][0]) for name, s in self.sources.items() if s.waiting),
                key=lambda pair: pair[1],
            )
            if self.held <= self.limit and not all(
                other == name
                or state.waiting
                or state.newest >= oldest
                or wall - state.heard >= self.idle_after
                or caught_up(other)
                for other, state in self.sources.items()
            ):
                break
            released.append(self.sources[name].waiting.popleft()[1])
            self.held -= 1
        return released

    def drop(self, source: str) -> list[T]:
        """Forget what `source` holds (its partition went to another worker); return it."""
        state = self.sources.get(source)
        if state is None:
            return []
        dropped = [item for _ts, item in state.waiting]
        state.waiting.clear()
        self.held -= len(dropped)
        return dropped
