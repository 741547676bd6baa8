"""The notifier's two steps, independent of Faust (agents.notify.app wires them to topics):

* `NotifyRouter` reads one violation record, resolves its recipients and renders one message
  per recipient, and forwards each to the recipient topic keyed by the recipient's address
  (role|key), so every message for one recipient is handled by one partition, in order.
* `RecipientDesk` takes a forwarded message: a low-severity one (`[digest] severities`) joins
  the recipient's pending digest (a changelog-backed table, so a restart loses nothing), any
  other is delivered at once. `flush` sends the due digests of one partition. Deliveries run off
  the agent's loop, in order per recipient (agents.notify.lanes).

Recipients are resolved against the roster and ledger, so the router holds a violation (waits,
its offset uncommitted) while Redis holds reference data that may not be judged by
(agents.stores.reference.refusal: flushed, restored older, records lost) and goes on once a
load fixes it; no message is made from an empty roster or ledger. The desk needs no reference
data and keeps delivering.

With review links on (agents.notify.review), the router adds each recipient's links to its
message and keeps the violation in Redis for the review page before it forwards any message.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Protocol

import orjson

from agents.notify.delivery import Deliverer
from agents.notify.lanes import Delivery
from agents.notify.metrics import CONSUMED, DEAD_LETTERS, DIGEST_ITEMS, MESSAGES
from agents.runtime.deadletter import DeadLetterSink, dead_letter
from agents.runtime.records import RawRecord
from agents.runtime.retry import retry_forever
from streams.core.directory import LedgerView, RosterView
from streams.notify.config import NotifyConfig
from streams.notify.digest import add_item, digest_recipient, is_due
from streams.notify.model import Notice, Recipient
from streams.notify.recipients import resolve_recipients
from streams.notify.render import digest_entry, render_digest, render_notice
from streams.review.links import LinkSet, ReviewLinks
from topics.codec import DecodeError, decode_violation
from topics.violation import Violation

Forward = Callable[[str, bytes], Awaitable[None]]


class Reference(RosterView, LedgerView, Protocol):
    """agents.stores.cache.ReferenceCache: the roster and ledger from Redis, refreshed on demand."""

    async def refresh(self) -> None: ...

    async def refresh_if_stale(self) -> Any: ...

    async def usable(self) -> None: ...

    def refusals(self) -> Mapping[str, str]: ...


class ViolationKeeper(Protocol):
    """agents.stores.review.ReviewStore: the violations review pages show."""

    async def keep(self, violation_id: str, record: bytes, expires: int) -> None: ...


class NotifyRouter:
    def __init__(
        self,
        config: NotifyConfig,
        reference: Reference,
        forward: Forward,
        dead_letters: DeadLetterSink,
        links: ReviewLinks | None = None,
        keeper: ViolationKeeper | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (links is None) != (keeper is None):
            raise ValueError("review links and their keeper come together")
        self.config = config
        self.reference = reference
        self.forward = forward
        self.dead_letters = dead_letters
        self.links = links
        self.keeper = keeper
        self.clock = clock
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
        await retry_forever(self.reference.usable, "redis")  # holds the record while refused
        recipients = resolve_recipients(violation, self.config, self.reference, self.reference)
        links = await self._links(violation, record.value or b"", recipients)
        for recipient in recipients:
            found = links.get(recipient.address)
            notice = render_notice(violation, recipient, self.config, self.reference, self.reference, found)
            MESSAGES.labels(recipient.role, "digest" if notice.digestible else "notice").inc()
            await self.forward(recipient.address, orjson.dumps(notice.to_dict()))
        return len(recipients)

    async def _links(
        self, violation: Violation, record: bytes, recipients: list[Recipient]
    ) -> dict[str, LinkSet | None]:
        """Each recipient's review links (by address); first the violation is kept for their
        page until they expire, so a link in a message always finds it."""
        if self.links is None or self.keeper is None:
            return {}
        made = {r.address: self.links.links(violation, r) for r in recipients}
        expires, keeper = self.links.expires(violation), self.keeper
        if any(made.values()) and expires is not None and expires > self.clock():
            await retry_forever(lambda: keeper.keep(violation.violation_id, record, expires), "redis")
        return made


class RecipientDesk:
    """`handle` and `flush` start deliveries (agents.notify.lanes) and return them without waiting;
    the caller acknowledges the record once they are over (agents.notify.app)."""

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
        self._sending: set[str] = set()  # recipients whose digest is being delivered

    async def handle(self, record: RawRecord) -> list[Delivery]:
        try:
            notice = Notice.from_dict(orjson.loads(record.value or b""))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            await dead_letter_unreadable(self.deliverer.dead_letters, record, f"unreadable message: {exc}")
            return []
        if not notice.digestible:
            return [await self.deliverer.submit(notice)]
        if await self.deliverer.already_sent(notice):
            return []  # a redelivered record whose digest already went out
        key = notice.recipient.address
        pending = add_item(self.digests.get(key), notice.recipient, digest_entry(notice), self.clock())
        self.digests[key] = pending
        if len(pending["items"]) >= self.config.digest.max_items and key not in self._sending:
            return [await self._send(key, pending)]
        return []

    async def flush(self, partition: int) -> list[Delivery]:
        """Start sending every due digest whose recipient lives in `partition`."""
        now, started = self.clock(), []
        for key in [k for k in list(self.digests.keys()) if self.owns(k, partition)]:
            pending = self.digests.get(key)
            if key not in self._sending and is_due(pending, self.config.digest, now):
                started.append(await self._send(key, pending))
        return started

    def pending_items(self) -> int:
        """Items in digests not yet delivered (those being delivered included)."""
        return sum(len(v.get("items") or ()) for v in list(self.digests.values()) if v)

    async def _send(self, key: str, pending: dict[str, Any]) -> Delivery:
        """Deliver `pending` as one digest. Its items leave the table once it is delivered (or
        dead-lettered), so a crash meanwhile loses none; items added meanwhile wait for the next."""
        recipient = digest_recipient(pending)
        items = pending["items"]
        covers = tuple(str(i["message_id"]) for i in items)

        def delivered() -> None:
            DIGEST_ITEMS.labels(recipient.role).observe(len(items))
            self._drop(key, covers)

        self._sending.add(key)
        digest = render_digest(recipient, items, self.config)
        delivery = await self.deliverer.submit(digest, covers, then=delivered)
        delivery.add_done_callback(lambda _: self._sending.discard(key))
        return delivery

    def _drop(self, key: str, covers: tuple[str, ...]) -> None:
        pending = self.digests.get(key)
        if not pending:
            return
        left = [i for i in pending["items"] if i["message_id"] not in covers]
        if left:
            self.digests[key] = {**pending, "items": left, "since": self.clock()}
        else:
            del self.digests[key]


async def dead_letter_unreadable(sink: DeadLetterSink, record: RawRecord, reason: str) -> None:
    """A consumed record the notifier cannot read: stage decode, no sink or role."""
    await dead_letter(sink, record, reason, DEAD_LETTERS.labels("decode", "-", "-"), stage="decode")
