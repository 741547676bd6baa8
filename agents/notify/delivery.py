"""Delivering one message to every sink of its recipient's role: dedupe, retries, dead letters.

Dedupe is per message id and sink, in Redis (agents.stores.dedupe: `<prefix>:notify:sent:<message id>:<sink>`,
SET with a TTL after a successful delivery): it survives restarts and rebalances and is shared by
every notifier process, and a message that reached one sink of two is not sent there again when
the other is retried. The check comes before the send and the mark after it, so a crash between
a delivery and its mark can repeat that one message (at-least-once), never lose it.

Off the agent's loop: `submit` hands a message to `DeliveryLanes` (agents.notify.lanes), which
delivers up to `[delivery] concurrency` messages at once, one at a time per recipient, so a slow
or failing webhook holds up neither the other recipients nor the consumer's polls. The caller
acknowledges its record once the deliveries it submitted are over (agents.notify.app).

Retries: a retryable failure (connection error, timeout, HTTP 5xx/429, WeCom busy) is tried again
after capped exponential backoff (streams.notify.backoff), up to `[delivery] attempts`; then, or
at once for a non-retryable failure (HTTP 4xx), the message goes to the notify dead-letter topic
with the reason, and the notifier moves on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from agents.notify.lanes import Delivery, DeliveryLanes
from agents.notify.metrics import DEAD_LETTERS, DELIVERED, DUPLICATES, FAILED, LATENCY, RETRIED
from agents.notify.senders import Sink
from agents.runtime.deadletter import DeadLetterSink, dead_letter_headers
from agents.runtime.retry import retry_forever
from agents.stores.dedupe import SentStore
from streams.notify.backoff import Outcome, backoff_delays
from streams.notify.config import NotifyConfig
from streams.notify.model import Notice
from topics.timeutil import parse_ts

log = logging.getLogger(__name__)
CLOSE_WAIT_SECONDS = 5.0  # for pending deliveries at shutdown


class Deliverer:
    def __init__(
        self,
        config: NotifyConfig,
        sinks: dict[str, Sink],
        sent: SentStore,
        dead_letters: DeadLetterSink,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.sinks = sinks
        self.sent = sent
        self.dead_letters = dead_letters
        self.sleep = sleep
        self.lanes = DeliveryLanes(config.delivery.concurrency)

    async def submit(
        self, notice: Notice, covers: tuple[str, ...] = (), then: Callable[[], None] | None = None
    ) -> Delivery:
        """`deliver` in the recipient's lane, then `then()` (in the caller's context: a Faust
        table may be written there); waits while `[delivery] concurrency` deliveries are pending."""

        async def work() -> None:
            await self.deliver(notice, covers)
            if then is not None:
                then()

        return await self.lanes.submit(notice.recipient.address, work)

    async def already_sent(self, notice: Notice) -> bool:
        """Delivered before to every sink of its role (a digest item need not be kept again)."""
        for sink in self.config.role(notice.recipient.role).sinks:
            if not await retry_forever(lambda s=sink: self.sent.sent(notice.message_id, s), "redis"):
                return False
        return True

    async def deliver(self, notice: Notice, covers: tuple[str, ...] = ()) -> None:
        """Send `notice` to each sink of its role not yet delivered to; `covers` are the ids of
        the items a digest carries, marked as delivered with it."""
        role = notice.recipient.role
        for name in self.config.role(role).sinks:
            if await retry_forever(lambda n=name: self.sent.sent(notice.message_id, n), "redis"):
                DUPLICATES.labels(name, role).inc()
                continue
            outcome = await self._attempts(self.sinks[name], notice)
            if outcome.ok:
                await retry_forever(lambda n=name: self.sent.mark((notice.message_id, *covers), n), "redis")
                DELIVERED.labels(name, role, notice.kind).inc()
                _observe_latency(name, notice)
            else:
                await self._dead_letter(notice, name, outcome.reason)

    async def _attempts(self, sink: Sink, notice: Notice) -> Outcome:
        role = notice.recipient.role
        delays = backoff_delays(self.config.delivery)
        attempt = 0
        while True:
            outcome = await sink.send(notice)
            if outcome.ok:
                return outcome
            FAILED.labels(sink.name, role).inc()
            attempt += 1
            if not outcome.retryable or attempt > len(delays):
                tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
                return Outcome(False, False, f"{outcome.reason} after {tries}")
            log.warning(
                "delivery of %s to %s failed (%s); retry in %.1fs",
                notice.message_id, sink.name, outcome.reason, delays[attempt - 1],
                extra={"violation_id": notice.violation_id, "rule": notice.rule},
            )  # fmt: skip
            RETRIED.labels(sink.name, role).inc()
            await self.sleep(delays[attempt - 1])

    async def _dead_letter(self, notice: Notice, sink: str, reason: str) -> None:
        role = notice.recipient.role
        log.error(
            "gave up delivering %s to %s: %s", notice.message_id, sink, reason,
            extra={"violation_id": notice.violation_id, "rule": notice.rule},
        )  # fmt: skip
        DEAD_LETTERS.labels("deliver", sink, role).inc()
        sink_headers = (("qg-sink", sink.encode()), ("qg-role", role.encode()))
        headers = dead_letter_headers(f"sink {sink}: {reason}", stage="deliver", extra=sink_headers)
        value = orjson.dumps(notice.to_dict())
        await self.dead_letters.send(notice.recipient.address.encode(), value, headers)

    async def close(self) -> None:
        # What is not delivered by then stays unacknowledged: whoever owns its partition next sends it.
        await self.lanes.drain(CLOSE_WAIT_SECONDS)
        for sink in self.sinks.values():
            await sink.close()


def _observe_latency(sink: str, notice: Notice) -> None:
    stamps = [notice.detected_at] if notice.kind == "notice" else [i.get("detected_at") for i in notice.items]
    try:
        oldest = min(parse_ts(s).timestamp() for s in stamps if s)
    except ValueError:
        return
    LATENCY.labels(sink, notice.kind).observe(max(0.0, time.time() - oldest))
