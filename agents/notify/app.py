"""The notifier's Faust app (`qunguard notify`): its own consumer group on moderation.violations.

    moderation.violations ─► notify.violations ─► <app id>-recipient (keyed role|recipient)
                                                      │
                  timer: tick per owned partition ──► notify.recipient ─► sinks (log, webhook)
                                                      │  digests table (changelog-backed)
                                                      └► moderation.notify.deadletter
    web: GET/POST /review/<token> (review links, agents.notify.review) ─► moderation.feedback

Records are consumed raw and decoded in the agent, so a bad record reaches the dead-letter topic
instead of crashing Faust's deserializer. Forwarded messages and digest-table writes are attached
to the offset being processed, so an offset is committed only once what it produced is stored;
a notify.recipient record only once the deliveries it started are over (agents.notify.lanes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import faust
import faust.web

from agents.connect.settings import Settings
from agents.notify.delivery import Deliverer
from agents.notify.flow import NotifyRouter, RecipientDesk
from agents.notify.lanes import when_delivered
from agents.notify.metrics import watch_pending, zero_series
from agents.notify.review import Produce, ReviewDesk, register_review_pages
from agents.notify.senders import build_sink
from agents.runtime.app import (
    app_options,
    check_log_level_first,
    expose_metrics,
    raw_topic,
    register_liveness,
)
from agents.runtime.deadletter import FaustDeadLetterSink
from agents.runtime.health import readiness, register_health, register_reference_watch
from agents.runtime.internal import internal_topic
from agents.runtime.records import RawRecord
from agents.runtime.tables import partition_of
from agents.runtime.ticks import is_tick, register_ticks
from agents.stores.cache import ReferenceCache
from agents.stores.dedupe import SentStore
from agents.stores.review import ReviewStore
from streams.notify.config import NotifyConfig
from streams.review.links import ReviewLinks
from topics.catalog import FEEDBACK, NOTIFY_DEADLETTER, VIOLATIONS, TopicSpec

log = logging.getLogger(__name__)
PRODUCE_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class NotifyTopology:
    app_id: str

    @property
    def recipient(self) -> TopicSpec:
        return internal_topic(self.app_id, "recipient", "role|recipient")

    def topics(self) -> tuple[TopicSpec, ...]:
        return (self.recipient, NOTIFY_DEADLETTER, FEEDBACK)


def create_notify_app(
    settings: Settings,
    config: NotifyConfig,
    reference: ReferenceCache | None = None,
    links: ReviewLinks | None = None,
) -> faust.App:
    """Build the notifier app; `settings.app_id` is its consumer group (QUNGUARD_NOTIFY_APP_ID);
    `links`: review links in its messages, their pages on its web server."""
    app = faust.App(settings.app_id, **app_options(settings))
    topology = NotifyTopology(settings.app_id)
    if reference is None:
        reference = ReferenceCache.from_settings(settings)
    sent = SentStore.from_settings(settings, config.delivery.dedupe_ttl_seconds)
    dead_letters = FaustDeadLetterSink(raw_topic(app, NOTIFY_DEADLETTER.name))
    sinks = {name: build_sink(spec, config.delivery.timeout_seconds) for name, spec in config.sinks.items()}
    deliverer = Deliverer(config, sinks, sent, dead_letters)
    recipient_topic = raw_topic(app, topology.recipient.name)
    partitions = topology.recipient.partitions
    digests = app.Table(
        "notify-digests", partitions=partitions, default=None, help="pending digests per recipient"
    )
    desk = RecipientDesk(config, deliverer, digests, owns=lambda key, p: partition_of(key, partitions) == p)

    async def forward(address: str, value: bytes) -> None:
        await recipient_topic.send(key=address.encode("utf-8"), value=value)

    reviews = ReviewStore.from_settings(settings) if links is not None else None
    router = NotifyRouter(config, reference, forward, dead_letters, links, reviews)

    @app.agent(raw_topic(app, VIOLATIONS.name), name="notify.violations")
    async def route(stream: faust.StreamT) -> AsyncIterator[int]:
        async for event in stream.events():
            yield await router.handle(RawRecord.from_event(event))

    @app.agent(recipient_topic, name="notify.recipient")
    async def deliver(stream: faust.StreamT) -> AsyncIterator[int]:
        # A record is acknowledged once the deliveries it started are over, not when the agent
        # takes the next one (they run off its loop: agents.notify.lanes).
        async for event in stream.noack().events():
            record = RawRecord.from_event(event)
            started = await (desk.flush(record.partition) if is_tick(record) else desk.handle(record))
            when_delivered(started, event.ack)
            yield len(started)

    # A tick flushes the due digests of its partition.
    register_ticks(
        app, config.digest.check_seconds or 30.0, "notify.digest_tick", [recipient_topic], lambda: b""
    )

    @app.on_before_shutdown.connect
    async def close_sinks(app: faust.App, **kwargs: object) -> None:
        await deliverer.close()  # the webhook sinks' HTTP sessions

    check_log_level_first(app)
    watch_pending(desk.pending_items)
    zero_series(config)
    register_reference_watch(app, reference, settings.reference_check_interval)
    register_liveness(app, settings, holding=lambda: bool(reference.refusals()))
    app.notify_desk = desk  # type: ignore[attr-defined] - for tests and the status page
    app.notify_topology = topology  # type: ignore[attr-defined]
    if settings.web_port:
        expose_metrics(app)
        _expose_pending(app, desk)
        register_health(app, readiness(app, reference.ping, reference))
        if links is not None and reviews is not None:
            register_review_pages(app, ReviewDesk(links.signer, config, reviews, reference, _producer(app)))
    log.info("review links: %s", f"on, {links.base_url}/review/…" if links else "off")
    return app


def _producer(app: faust.App) -> Produce:
    """Verdicts of the review pages to moderation.feedback; returns once the broker has one, and
    raises after PRODUCE_TIMEOUT_SECONDS (the page then asks to try again: a verdict that got
    through meanwhile is sent twice with one feedback id, which the worker applies once)."""
    feedback = raw_topic(app, FEEDBACK.name)

    async def produce(key: bytes, value: bytes) -> None:
        sent = await feedback.send(key=key, value=value, force=True)
        await asyncio.wait_for(sent, PRODUCE_TIMEOUT_SECONDS)

    return produce


def _expose_pending(app: faust.App, desk: RecipientDesk) -> None:
    @app.page("/notify/pending")
    async def pending(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        """Items waiting in digests on this notifier (`qunguard dev` waits for 0 before it exits)."""
        return web.json({"items": desk.pending_items(), "at": time.time()})


def notifier_settings(settings: Settings, app_id: str) -> Settings:
    return replace(settings, app_id=app_id)
