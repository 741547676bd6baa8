"""Event-time watermarks per source partition: how far a consumer's input has certainly got.

A live agent reads several source partitions at once: the group agent a partition of
chat.messages and one of chat.membership, the sender and member agents forwards from every group
partition. Each source is read in order, but the agent reads them at different paces, most of all
while it catches up on a backlog, so an event may trail another key's or another source's events
by far more than the out-of-order tolerance without being late at all.

The watermark of an agent's partition is the oldest of its sources' newest event times: no
source will deliver anything older than that minus its own disorder. Behaviour rules judge
lateness and prune their windows against it (streams.behaviour.windows), so an event is dropped
only when it is late by its own source's standards. The sources a partition expects are declared
when it is first seen (`expected`): one not heard from yet holds the watermark at minus infinity,
since a worker catching up reads partitions roughly one after another and the last one read may
still deliver the oldest events. A source that has delivered nothing for `idle_after` seconds of
wall time (counted from when it was declared, if never heard) is left out: it would otherwise hold
the watermark, and with it the state kept, back for as long as it stays quiet. So is one never
heard that is known to hold nothing (`vacant`: live, an empty input partition this process reads).

Replay reads one file in order and has no watermark (None): there a key's newest event is the
reference, as it always was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass
class SourceWatermarks:
    """The sources feeding one partition of one partitioning, and the watermark they allow."""

    idle_after: float
    newest: dict[str, float] = field(default_factory=dict)  # source → newest event time (epoch s)
    heard: dict[str, float] = field(default_factory=dict)  # source → wall time of its last event

    def expect(self, sources: Iterable[str], wall: float) -> None:
        """Declare sources not heard from yet: each holds the watermark back until heard, or until
        quiet for `idle_after` from now."""
        for source in sources:
            if source not in self.newest:
                self.newest[source] = float("-inf")
                self.heard[source] = wall

    def observe(self, source: str, event_time: float, wall: float) -> None:
        if event_time > self.newest.get(source, float("-inf")):
            self.newest[source] = event_time
        self.heard[source] = wall

    def watermark(self, wall: float, vacant: Callable[[str], bool] = lambda source: False) -> float | None:
        """The oldest newest event time among the sources heard from lately (minus infinity while
        an expected one is still to be heard, unless `vacant`); None without any."""
        active = [
            t
            for source, t in self.newest.items()
            if wall - self.heard[source] < self.idle_after and not (t == float("-inf") and vacant(source))
        ]
        return min(active) if active else None


@dataclass
class Watermarks:
    """Per (partitioning, partition number) of one process: `SourceWatermarks` on demand."""

    idle_after: float
    expected: Callable[[str, int], Iterable[str]] = lambda partitioning, number: ()
    vacant: Callable[[str], bool] = lambda source: False
    partitions: dict[tuple[str, int], SourceWatermarks] = field(default_factory=dict)

    def observe(
        self, partitioning: str, number: int, source: str, event_time: float, wall: float
    ) -> float | None:
        """Record an event from `source` and return the watermark of its destination partition."""
        slot = (partitioning, number)
        sources = self.partitions.get(slot)
        if sources is None:
            sources = self.partitions[slot] = SourceWatermarks(self.idle_after)
            sources.expect(self.expected(partitioning, number), wall)
        sources.observe(source, event_time, wall)
        return sources.watermark(wall, self.vacant)
