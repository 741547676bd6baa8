"""Faust's aiokafka transport with exact log-end offsets for table recovery.

Faust restores a table by reading its changelog up to the partition's log-end offset, which it
asks for with ListOffsets(latest). The embedded Tansu broker answers that with the base offset of
the last batch + 1, so after batched writes a restarted worker stopped short and lost the tail
of its state. This consumer takes the high watermark of a fetch instead (agents.connect.offsets,
exact on Tansu and on Apache Kafka); it is only asked at rebalances, so the extra fetch is cheap.
The apps use it through the broker URL scheme `qunguard://` (agents.runtime.app).

It also never commits past a record the agent has not acknowledged. Faust reads a jump in a
stream's offsets as a compacted range and commits past it, and it commits past a single missing
record at the head of the acknowledged ones (faust-streaming/faust#606). The topics the worker
consumes are never compacted, so either means a record this process dropped (faust#596): the
commit waits instead, and agents.runtime.stall_guard reads the partition again from its committed offset.

And its fetches wait at most FETCH_MAX_WAIT_MS on the broker (below).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from agents.connect.offsets import GroupOffsets, OffsetReadError

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


class Consumer(faust_aiokafka.Consumer):
    _offsets: GroupOffsets | None = None
    acks_total = 0  # records the agents acknowledged, for agents.runtime.stall_guard

    def ack(self, message: Any) -> bool:
        acked = super().ack(message)
        if acked:
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

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        committed = self._committed_offset.get(tp)
        if acked and committed is not None and min(acked) > committed:
            return None  # the record at the committed offset was never acknowledged
        return super()._new_offset(tp)

    def _exact(self, listed: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        if self._offsets is None:
            bootstrap = ",".join(f"{url.host}:{url.port or 9092}" for url in self.app.conf.broker_consumer)
            self._offsets = GroupOffsets(bootstrap)
        nonempty = {tp: end for tp, end in listed.items() if end > 0}
        return {**listed, **self._offsets.watermarks(nonempty)} if nonempty else listed


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
