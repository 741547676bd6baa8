"""Faust's aiokafka transport with exact log-end offsets for table recovery.

Faust restores a table by reading its changelog up to the partition's log-end offset, which it
asks for with ListOffsets(latest). The embedded Tansu broker answers that with the base offset of
the last batch + 1, so after batched writes a restarted worker stopped short and lost the tail
of its state. This consumer takes the high watermark of a fetch instead (agents.connect.offsets,
exact on Tansu and on Apache Kafka); it is only asked at rebalances, so the extra fetch is cheap.
The apps use it through the broker URL scheme `qunguard://` (agents.runtime.app).

It also never commits past a record the agent has not acknowledged. Faust reads a jump in a
stream's offsets as a compacted range and commits past it, and it commits past a single missing
record at the head of the acknowledged ones (faust-streaming/faust#606), or past any number of them
in a partition that has no committed offset yet. The topics the worker consumes are never
compacted, so each means a record this process dropped (faust#596): the commit waits instead, and
agents.runtime.stall_guard reads the partition again from where it resumes (`resume_offset`: the
committed offset, or the log start where nothing is committed).

And its fetches wait at most FETCH_MAX_WAIT_MS on the broker (below), and it rejoins its group
after a revocation however long that took (ConsumerThread.on_partitions_revoked).

Commits never hold up the poll loop nor wait on an unbounded flush (docs/runtime.md, "Bursts"):
Faust commits from its fetch loop every `broker_commit_every` acknowledgements, so the next poll
waited for that commit's producer flush; here only the commit timer (`broker_commit_interval`)
commits. And Faust's flush before a commit drained its send buffer until it found it empty,
which under a burst (every table write adds to it) could go on for as long as the burst; the
`Producer` below waits for what was sent before the commit began, which is all the offsets being
committed produced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import FutureMessage

from agents.connect.offsets import GroupOffsets, OffsetReadError
from agents.runtime.ticks import is_tick_message

log = logging.getLogger(__name__)
SCHEME = "qunguard"
# How long a fetch may wait on the broker for records (Faust hard-codes 1,500 ms). Tansu does not
# answer a waiting fetch when records arrive, so every record waited for the rest of the fetch:
# produce → violation was 0.5-1 s at any rate. Apache Kafka answers at once; there a short wait
# only adds empty fetches while idle (measured ~3 % of a core at 50 ms, 0.6 % at 1,500 ms).
FETCH_MAX_WAIT_MS = 50


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: faust_aiokafka.Transport) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts its fetcher
        return consumer

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        await super().on_partitions_revoked(revoked)
        # Faust polls nothing from a revocation until its next assignment, and aiokafka does not
        # rejoin a consumer that has not polled for max_poll_interval: once that much time had
        # passed (a long revocation, or the eviction that started it), the consumer stayed out of
        # its group, silent, until the rebalance watchdog stopped the process. The app has just
        # done its part of the rebalance, so count it as a poll.
        with self._ensure_consumer()._subscription.fetch_context():
            pass


class Consumer(faust_aiokafka.Consumer):
    _offsets: GroupOffsets | None = None
    _log_start: Mapping[TP, int] = {}  # of the assigned partitions with no committed offset
    acks_total = 0  # records the agents acknowledged, ticks aside, for agents.runtime.stall_guard

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commit_every = None  # commits come from the commit timer only, never from the poll loop
        # Run before a rebalance waits for every record in process to be acknowledged: an agent
        # that holds records on purpose (agents.worker.event_order) lets go of them here.
        self.before_wait_empty: list[Callable[[], None]] = []

    async def wait_empty(self) -> None:
        for hook in self.before_wait_empty:
            hook()
        await super().wait_empty()

    def ack(self, message: Any) -> bool:
        acked = super().ack(message)
        # A tick is the app's own clock (agents.runtime.ticks), not work on its input: counted, a
        # notifier ticking its digests every few seconds never looked idle, and a partition whose
        # head record Faust had dropped after a restart stayed stalled (tests/e2e/test_notify.py).
        if acked and not is_tick_message(message):
            self.acks_total += 1
        return acked

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        listed = await super().highwaters(*partitions)
        try:
            exact = await asyncio.to_thread(
                self._exact, {(tp.topic, tp.partition): o for tp, o in listed.items()}
            )
        except OffsetReadError as exc:
            log.warning("exact log-end offsets unavailable, using ListOffsets: %s", exc)
            return listed
        return {tp: exact.get((tp.topic, tp.partition), offset) for tp, offset in listed.items()}

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        log.warning(
            "offsets %d..%d of %s[%d] were skipped; not committing past them",
            offset_from,
            offset_to - 1,
            tp.topic,
            tp.partition,
            extra={"topic": tp.topic, "partition": tp.partition, "offset": offset_from},
        )

    async def perform_seek(self) -> None:
        await super().perform_seek()
        # Faust seeks at every assignment; a partition it finds nothing committed for starts at its
        # log start (consumer_auto_offset_reset "earliest"), noted so a lost head counts as missing.
        uncommitted = [
            tp
            for tp in self.assignment()
            if self._committed_offset.get(tp) is None and self.app.topics.acks_enabled_for(tp.topic)
        ]
        try:
            self._log_start = dict(await self.earliest_offsets(*uncommitted)) if uncommitted else {}
        except Exception as exc:  # the broker did not answer: such a head goes unchecked until the next seek
            log.warning("log start offsets unavailable: %s", exc)
            self._log_start = {}

    def resume_offset(self, tp: TP) -> int | None:
        """Where processing of `tp` resumes: its committed offset, or with none its log start at
        the last assignment (None when neither is known)."""
        committed = self._committed_offset.get(tp)
        return committed if committed is not None else self._log_start.get(tp)

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        acked.sort()  # Faust expects acknowledgements in offset order; the sender agent's are not
        resume = self.resume_offset(tp)
        if acked and resume is not None and min(acked) > resume:
            return None  # the record processing resumes from was never acknowledged
        return super()._new_offset(tp)

    def _exact(self, listed: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        if self._offsets is None:
            bootstrap = ",".join(f"{url.host}:{url.port or 9092}" for url in self.app.conf.broker_consumer)
            self._offsets = GroupOffsets(bootstrap)
        nonempty = {tp: end for tp, end in listed.items() if end > 0}
        return {**listed, **self._offsets.watermarks(nonempty)} if nonempty else listed


class Producer(faust_aiokafka.Producer):
    """`flush` waits for the messages sent before it was called, not for those sent meanwhile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unsent: set[FutureMessage] = set()  # given to send_soon, not yet acknowledged

    def send_soon(self, fut: FutureMessage) -> None:
        self._unsent.add(fut)
        fut.add_done_callback(self._unsent.discard)  # resolved once the broker acknowledged it (or failed)
        super().send_soon(fut)

    async def flush(self) -> None:
        # Table writes go through Faust's send buffer (send_soon); the rest went to aiokafka directly.
        buffered = [fut for fut in self._unsent if not fut.done()]
        if buffered:
            await asyncio.wait(buffered)
        if self._producer is not None:
            await self._producer.flush()  # the batches aiokafka holds now
        for producer in self._transaction_producers.values():
            await producer.flush()


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer
    Producer = Producer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
