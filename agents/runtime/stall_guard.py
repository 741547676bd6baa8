"""Re-reads a partition whose committed offset stopped short of its end.

Faust resumes input partitions after table recovery while it is still seeking them to their
committed offsets, and records fetched in that window can be dropped from its in-memory queues
(faust-streaming/faust#596). The agent never sees them, Faust's commit waits forever for their
acknowledgements, and nothing is logged. We saw it after restarts on the embedded broker: a
worker SIGKILLed mid-stream and restarted skipped a run of records, or committed nothing more.

The guard finds such a partition from outside the stream, among the actively assigned partitions
that are not changelogs and have records beyond their committed offset, in two ways:

- a gap: the agent has acknowledged later records but not the one at the committed offset, and
  the committed offset has not moved for `stall_after` seconds (agents process a partition in
  order, so that record never reached the agent); this holds under load too;
- idle: the whole worker has acknowledged nothing for `stall_after` seconds and the partition's
  committed offset has not moved. Ticks (agents.runtime.ticks) do not count: they are the app's
  own clock, and a notifier ticking its digests every few seconds never looked idle. A worker
  busy elsewhere (a tick queued behind a backlog, say) is not idle. A worker stuck on one event,
  say while Redis is down, is; its partitions are then re-read, which only queues records it will
  see again anyway. A worker that holds its records on purpose (reference data refused,
  agents.stores.reference) is not idle: `holding` says so.

It then clears Faust's acknowledgement bookkeeping for the partition and seeks it back to where
processing resumes (agents.runtime.transport.Consumer.resume_offset: the committed offset, or the
log start when nothing is committed). Reprocessing is safe: detector state
is idempotent and violation ids are deterministic (docs/runtime.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP

log = logging.getLogger(__name__)


@dataclass
class Progress:
    committed: int | None
    since: float


@dataclass
class StallGuard:
    app: Any
    stall_after: float
    clock: Any = time.monotonic
    progress: dict[TP, Progress] = field(default_factory=dict)
    acks_seen: int = -1
    active_at: float = 0.0
    holding: Callable[[], bool] = lambda: False

    def candidates(self) -> list[TP]:
        """Partitions with a gap, or idle, whose committed offset has not moved for a while."""
        consumer = self.app.consumer
        changelogs = set(self.app.tables.changelog_topics)
        now = self.clock()
        acks = getattr(consumer, "acks_total", 0)
        if acks != self.acks_seen or self.holding():
            self.acks_seen, self.active_at = acks, now
        idle = now - self.active_at >= self.stall_after
        found = []
        # a record the agents hold or are judging is not lost (agents.worker.event_order holds some)
        in_process = {(message.tp, message.offset) for message in consumer.unacked}
        actives = self.app.assignor.assigned_actives()
        for tp in actives:
            if tp.topic in changelogs:
                continue
            committed = consumer.resume_offset(tp)
            if (tp, committed) in in_process:
                self.progress[tp] = Progress(committed, now)
                continue
            seen = self.progress.get(tp)
            if seen is None or seen.committed != committed:
                self.progress[tp] = Progress(committed, now)
                continue
            if now - seen.since < self.stall_after:
                continue
            acked = consumer._acked.get(tp) or ()
            gap = bool(acked) and committed is not None and min(acked) > committed
            if gap or idle:
                found.append(tp)
        for tp in set(self.progress) - set(actives):
            del self.progress[tp]
        return found

    async def check(self) -> list[TP]:
        """Re-read every stalled partition; return those re-read."""
        if self.app.rebalancing or not self.app.tables.recovery.completed.is_set():
            return []
        stalled = self.candidates()
        if not stalled:
            return []
        consumer = self.app.consumer
        ends = await consumer.highwaters(*stalled)
        behind = []
        for tp in stalled:
            committed = consumer.resume_offset(tp) or 0
            if ends.get(tp, 0) > committed:
                behind.append(tp)
                await self.reread(tp, committed, ends[tp])
            else:  # caught up: look again only after another `stall_after`
                self.progress[tp] = Progress(consumer.resume_offset(tp), self.clock())
        return behind

    async def reread(self, tp: TP, committed: int, end: int) -> None:
        consumer = self.app.consumer
        log.warning(
            "partition %s[%d] stalled at committed offset %d of %d; reading it again from there",
            tp.topic,
            tp.partition,
            committed,
            end,
            extra={"topic": tp.topic, "partition": tp.partition, "offset": committed},
        )
        consumer._acked[tp].clear()
        consumer._acked_index[tp].clear()
        consumer._gap.pop(tp, None)
        await consumer.seek(tp, committed)
        consumer.resume_partitions({tp})
        self.progress[tp] = Progress(consumer.resume_offset(tp), self.clock())


def register_stall_guard(
    app: Any, stall_after: float, holding: Callable[[], bool] | None = None
) -> StallGuard:
    guard = StallGuard(app, stall_after)
    if holding is not None:
        guard.holding = holding

    @app.timer(max(1.0, stall_after / 4), name="qunguard.stall_guard")
    async def stall_guard() -> None:
        await guard.check()

    return guard
