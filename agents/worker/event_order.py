"""Agents judge their input in event-time order across the source partitions that feed them
(streams.core.merge), so that a backlog read at uneven paces is judged as replay judges it.

- The group agent reads partition n of chat.messages and of chat.membership: a message must not
  be judged before a membership change that happened earlier but sits further back in the other
  partition (who was in the group decides chat.private_in_group and ack.missing). A source is
  read to its end (`InputPositions`) when the offset after the last record it delivered has
  reached the high watermark of its latest fetch.
- The sender agent gets forwards from every chat.messages partition, through the group agents of
  whichever processes own them: the copies of a broadcast must be counted in the order they were
  sent. Each group agent reports its sources' progress into the forward batches
  (agents.worker.forwards.Progress): the newest event time judged and forwarded from a source,
  and whether that source is read to its end with nothing left to judge (`ForwardProgress`).

An event is held in its partition's merge and judged when the merge releases it: at once while
every source is read to its end (live, steady state), in event-time order while one of them has a
backlog. A held event keeps its record unacknowledged (one more reference on Faust's message per
held event), so its offset is not committed before it is judged; `done` acknowledges it. At a
rebalance Faust waits for every unacknowledged record and then reads every partition again from
its committed offset: `forget` lets go of what is held (unjudged, uncommitted: it comes again).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from faust.types import TP

from agents.runtime.records import RawRecord
from agents.worker.forwards import Progress, source_name
from streams.core.merge import EventTimeMerge
from topics.events import Event


@dataclass(frozen=True, slots=True)
class Held:
    event: Any  # the Faust stream event whose record carried it: acknowledged by `EventOrder.done`
    record: RawRecord
    decoded: Event
    source: str


class EventOrder:
    """The merges of one partitioning's partitions in this process: `sources_of(n)` names the
    sources partition n waits for (agents.worker.moderator.expected_sources), `caught_up(n)` tells whether one of them is read to its end."""

    def __init__(
        self,
        sources_of: Callable[[int], Iterable[str]],
        caught_up: Callable[[int], Callable[[str], bool]],
        idle_after: float,
        limit: int = 10_000,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources_of = sources_of
        self.caught_up = caught_up
        self.idle_after = idle_after
        self.limit = limit
        self.wall = wall
        self.merges: dict[int, EventTimeMerge[Held]] = {}
        self.unjudged: Counter[str] = Counter()  # source → events held or released, not yet done
        self.judged: dict[str, float] = {}  # source → newest event time judged

    def hold(self, number: int, held: Held) -> list[Held]:
        """Hold an admitted event of partition `number`; return what it may judge now, oldest first."""
        held.event.message.incref()  # acknowledged by `done` once judged, not when the stream moves on
        self.unjudged[held.source] += 1
        now = self.wall()
        merge = self._merge(number, now)
        if held.source not in merge.sources:  # not one the partition waits for (a single forward)
            return [held, *self.due(number)]
        merge.add(held.source, held.decoded.ts.timestamp(), held, now)
        return self.due(number)

    def saw(self, number: int, progress: Progress) -> None:
        if progress.event_time is not None:
            self._merge(number, self.wall()).saw(progress.source, progress.event_time, self.wall())

    def due(self, number: int) -> list[Held]:
        """What partition `number` may judge now (also without a new event: a source went quiet)."""
        merge = self.merges.get(number)
        return merge.release(self.caught_up(number), self.wall()) if merge else []

    def done(self, held: Held) -> None:
        """`held` was judged (and what it forwards handed to the forwarder)."""
        self.unjudged[held.source] -= 1
        self.judged[held.source] = max(
            self.judged.get(held.source, float("-inf")), held.decoded.ts.timestamp()
        )
        held.event.ack()

    def progress(self, source: str, read_to_end: bool) -> Progress:
        """What this process reports of a source it reads (agents.worker.forwards), given whether
        that source is known to be read to its end."""
        return Progress(source, self.judged.get(source), read_to_end and self.unjudged[source] <= 0)

    def forget(self, unacked: set[Any]) -> None:
        """Let go of every held event, unjudged and unacknowledged (see the module docstring):
        `unacked` is the consumer's set of records in process, which a rebalance waits on."""
        for merge in self.merges.values():
            for source in list(merge.sources):
                for held in merge.drop(source):
                    held.event.message.decref()
                    unacked.discard(held.event.message)
        self.merges.clear()
        self.unjudged.clear()
        self.judged.clear()  # what was judged and not committed is read and judged again

    def _merge(self, number: int, now: float) -> EventTimeMerge[Held]:
        merge = self.merges.get(number)
        if merge is None:
            merge = self.merges[number] = EventTimeMerge(
                self.sources_of(number), self.idle_after, self.limit, now
            )
        return merge


class InputPositions:
    """How far the input partitions this process reads are read; `delivered` notes each record as
    it reaches the group agent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_offset: dict[str, int] = {}

    def delivered(self, record: RawRecord) -> str:
        source = source_name(record.topic, record.partition)
        self.last_offset[source] = record.offset
        return source

    def state(self, source: str) -> bool | None:
        """True: read to its end; False: records are left to read, or it is not known yet; None:
        no running consumer here reads it (unit tests without a broker, say)."""
        topic, _, number = source.rpartition(":")
        tp = TP(topic, int(number))
        consumer = self.app.consumer
        try:
            # raises for a partition not assigned here, or without a running consumer; asked per
            # event, so the assignment is not copied into a set to look it up first
            end = consumer.highwater(tp)
            last = self.last_offset.get(source)
            position = last + 1 if last is not None else consumer.resume_offset(tp)
        except Exception:  # not read here, not running, or mid-rebalance
            return None
        return end is not None and position is not None and position >= end

    def caught_up(self, source: str) -> bool:
        """The group merge's view: nothing to wait for unless records are known to be left."""
        return self.state(source) is not False

    def of(self, number: int) -> Callable[[str], bool]:
        """Partition `number`'s `caught_up` (the same for every partition)."""
        return self.caught_up

    def forget(self) -> None:
        self.last_offset.clear()


class ForwardProgress:
    """The sender agent's `caught_up`: what each source's group agent last reported, per sender
    partition (a report is behind the forwards it covers in that partition only)."""

    def __init__(self) -> None:
        self.reported: dict[tuple[int, str], bool] = {}

    def report(self, number: int, progress: Progress) -> None:
        self.reported[(number, progress.source)] = progress.caught_up

    def of(self, number: int) -> Callable[[str], bool]:
        """Partition `number`'s `caught_up`."""
        return lambda source: self.reported.get((number, source), False)
