"""The notifier's two steps, independent of Faust (agents.notify.app wires them to topics):

* `NotifyRouter` reads one violation record, resolves its recipients and renders one message
  per recipient, and forwards each to the recipient topic keyed by the recipient's address
  (role|key), so every message for one recipient is handled by one partition, in order.
* `RecipientDesk` takes a forwarded message: a low-severity one (`[digest] severities`) joins
  the recipient's pending digest (a changelog-backed table, so a restart loses nothing), any
  other is delivered at once. `flush` sends the due digests of one partition.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import orjson

from agents.notify.delivery import Deliverer
from agents.notify.metrics import CONSUMED, DEAD_LETTERS, DIGEST_ITEMS, MESSAGES
from agents.runtime.deadletter import DeadLetterSink, dead_letter
from agents.runtime.records import RawRecord
from agents.runtime.retry import retry_forever
from streams.core.directory import LedgerView, RosterView
from streams.notify.config import NotifyConfig
from streams.notify.digest import add_item, digest_recipient, is_due
from streams.notify.model import Notice
from streams.notify.recipients import resolve_recipients
from streams.notify.render import digest_entry, render_digest, render_notice
from topics.codec import DecodeError, decode_violation

Forward = Callable[[str, bytes], Awaitable[None]]


class Reference(RosterView, LedgerView, Protocol):
    """agents.stores.reference.ReferenceCache: the roster and ledger from Redis, refreshed on demand."""

    async def refresh(self) -> None: ...

    async def refresh_if_stale(self) -> Any: ...


class NotifyRouter:
    def __init__(
        self, config: NotifyConfig, reference: Reference, forward: Forward, dead_letters: DeadLetterSink
    ) -> None:
        self.config = config
        self.reference = reference
        self.forward = forward
        self.dead_letters = dead_letters
        self._loaded = False

    async def handle(self, record: RawRecord) -> int:
        """Forward one message per recipient of the violation in `record`; return how many."""
        try:
            violation = decode_violation(record.value)
        except DecodeError as exc:
            await dead_letter_unreadable(self.dead_letters, record, str(exc))
            return 0
        CONSUMED.labels(violation.rule).inc()
        if not self._loaded:
            await retry_forever(self.reference.refresh, "redis")
            self._loaded = True
        else:
            await retry_forever(self.reference.refresh_if_stale, "redis")
        recipients = resolve_recipients(violation, self.config, self.reference, self.reference)
        for recipient in recipients:
            notice = render_notice(violation, recipient, self.config, self.reference, self.reference)
            MESSAGES.labels(recipient.role, "digest" if notice.digestible else "notice").inc()
            await self.forward(recipient.address, orjson.dumps(notice.to_dict()))
        return len(recipients)


class RecipientDesk:
    def __init__(
        self,
        config: NotifyConfig,
        deliverer: Deliverer,
        digests: MutableMapping[str, Any],
        owns: Callable[[str, int], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.deliverer = deliverer
        self.digests = digests
        self.owns = owns  # owns(key, partition): does `key` live in that partition?
        self.clock = clock

    async def handle(self, record: RawRecord) -> None:
        try:
            notice = Notice.from_dict(orjson.loads(record.value or b""))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            await dead_letter_unreadable(self.deliverer.dead_letters, record, f"unreadable message: {exc}")
            return
        if not notice.digestible:
            await self.deliverer.deliver(notice)
            return
        if await self.deliverer.already_sent(notice):
            return  # a redelivered record whose digest already went out
        key = notice.recipient.address
        pending = add_item(self.digests.get(key), notice.recipient, digest_entry(notice), self.clock())
        if len(pending["items"]) >= self.config.digest.max_items:
            await self._send(key, pending)
        else:
            self.digests[key] = pending

    async def flush(self, partition: int) -> int:
        """Send every due digest whose recipient lives in `partition`; return how many."""
        now, sent = self.clock(), 0
        for key in [k for k in list(self.digests.keys()) if self.owns(k, partition)]:
            pending = self.digests.get(key)
            if is_due(pending, self.config.digest, now):
                await self._send(key, pending)
                sent += 1
        return sent

    def pending_items(self) -> int:
        return sum(len(v.get("items") or ()) for v in list(self.digests.values()) if v)

    async def _send(self, key: str, pending: dict[str, Any]) -> None:
        recipient = digest_recipient(pending)
        items = pending["items"]
        digest = render_digest(recipient, items, self.config)
        await self.deliverer.deliver(digest, covers=tuple(i["message_id"] for i in items))
        DIGEST_ITEMS.labels(recipient.role).observe(len(items))
        if key in self.digests:
            del self.digests[key]


async def dead_letter_unreadable(sink: DeadLetterSink, record: RawRecord, reason: str) -> None:
    """A consumed record the notifier cannot read: stage decode, no sink or role."""
    await dead_letter(sink, record, reason, DEAD_LETTERS.labels("decode", "-", "-"), stage="decode")
