"""The notifier's Faust app (`qunguard notify`): its own consumer group on moderation.violations.

    moderation.violations ─► notify.violations ─► <app id>-recipient (keyed role|recipient)
                                                      │
                  timer: tick per owned partition ──► notify.recipient ─► sinks (log, webhook)
                                                      │  digests table (changelog-backed)
                                                      └► moderation.notify.deadletter

Records are consumed raw and decoded in the agent, so a bad record reaches the dead-letter topic
instead of crashing Faust's deserializer. Forwarded messages and digest-table writes are attached
to the offset being processed, so an offset is committed only once what it produced is stored.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import faust
import faust.web
import redis.asyncio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.connect.security import redis_options
from agents.connect.settings import Settings
from agents.notify.delivery import Deliverer, SentStore
from agents.notify.flow import NotifyRouter, RecipientDesk
from agents.notify.metrics import watch_pending
from agents.notify.senders import build_sink
from agents.runtime.health import readiness, register_health
from agents.runtime.records import RawRecord
from agents.runtime.tables import partition_of
from agents.stores.reference import CLIENT_TIMEOUTS, ReferenceCache
from agents.worker.app import app_options, raw_topic, register_liveness
from agents.worker.topology import INTERNAL_PARTITIONS, TICK, TICK_HEADER
from streams.notify.config import NotifyConfig
from topics.catalog import DAY_MS, NOTIFY_DEADLETTER, VIOLATIONS, TopicSpec


@dataclass(frozen=True, slots=True)
class NotifyTopology:
    app_id: str

    @property
    def recipient(self) -> TopicSpec:
        config = {"retention.ms": str(7 * DAY_MS), "cleanup.policy": "delete"}
        return TopicSpec(f"{self.app_id}-recipient", "role|recipient", INTERNAL_PARTITIONS, config)

    def topics(self) -> tuple[TopicSpec, ...]:
        return (self.recipient, NOTIFY_DEADLETTER)


class TopicDeadLetters:
    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic

    async def send(self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        await self.topic.send(key=key, value=value, headers=headers)


def create_notify_app(
    settings: Settings, config: NotifyConfig, reference: ReferenceCache | None = None
) -> faust.App:
    """Build the notifier app; `settings.app_id` is its consumer group (QUNGUARD_NOTIFY_APP_ID)."""
    app = faust.App(settings.app_id, **app_options(settings))
    topology = NotifyTopology(settings.app_id)
    login = redis_options(settings)  # TLS and credentials (agents.connect.security)
    if reference is None:
        reference = ReferenceCache.from_url(settings.redis_url, prefix=settings.redis_prefix, **login)
    client = redis.asyncio.Redis.from_url(settings.redis_url, **CLIENT_TIMEOUTS, **login)
    sent = SentStore(client, settings.redis_prefix, config.delivery.dedupe_ttl_seconds)
    dead_letters = TopicDeadLetters(raw_topic(app, NOTIFY_DEADLETTER.name))
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

    router = NotifyRouter(config, reference, forward, dead_letters)

    @app.agent(raw_topic(app, VIOLATIONS.name), name="notify.violations")
    async def route(stream: faust.StreamT) -> AsyncIterator[int]:
        async for event in stream.events():
            yield await router.handle(RawRecord.from_event(event))

    @app.agent(recipient_topic, name="notify.recipient")
    async def deliver(stream: faust.StreamT) -> AsyncIterator[None]:
        async for event in stream.events():
            record = RawRecord.from_event(event)
            if (TICK_HEADER, TICK) in record.headers:
                yield await desk.flush(record.partition)
            else:
                yield await desk.handle(record)

    @app.timer(config.digest.check_seconds or 30.0, name="notify.digest_tick")
    async def tick() -> None:
        if app.rebalancing:
            return
        for tp in app.assignor.assigned_actives():
            if tp.topic == topology.recipient.name:
                await recipient_topic.send(value=b"", partition=tp.partition, headers=[(TICK_HEADER, TICK)])

    @app.on_before_shutdown.connect
    async def close_sinks(app: faust.App, **kwargs: object) -> None:
        await deliverer.close()  # the webhook sinks' HTTP sessions

    watch_pending(desk.pending_items)
    register_liveness(app, settings)
    app.notify_desk = desk  # type: ignore[attr-defined] - for tests and the status page
    app.notify_topology = topology  # type: ignore[attr-defined]
    if settings.web_port:
        _expose_pages(app, desk)
        register_health(app, readiness(app, reference.ping))
    return app


def _expose_pages(app: faust.App, desk: RecipientDesk) -> None:
    @app.page("/metrics")
    async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/notify/pending")
    async def pending(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        """Items waiting in digests on this notifier (`qunguard dev` waits for 0 before it exits)."""
        return web.json({"items": desk.pending_items(), "at": time.time()})


def notifier_settings(settings: Settings, app_id: str) -> Settings:
    return replace(settings, app_id=app_id)
