"""The Faust app: one agent per input topic, each binding its topic to the shared `Moderator`.

Topics are consumed with the raw serializer and decoded inside the agent, so a record that is
not valid JSON reaches the dead-letter topic instead of crashing Faust's deserializer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import faust
import faust.web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.moderator import Moderator, ReferenceSource
from agents.settings import Settings
from agents.sinks import FaustDeadLetterSink, FaustViolationSink, RawRecord
from streams.detectors import build_detectors
from streams.engine import RuleEngine
from streams.policy import load_policy
from topics.catalog import DEADLETTER, INPUT_TOPICS, VIOLATIONS


def utc_now() -> datetime:
    return datetime.now(UTC)


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_serializer="raw", value_serializer="raw", allow_empty=True)


def create_app(settings: Settings, reference: ReferenceSource | None = None, **overrides: Any) -> faust.App:
    """Build the worker app. `reference` defaults to the Redis-backed cache at settings.redis_url."""
    options: dict[str, Any] = {
        "broker": settings.kafka_url,
        "store": "memory://",
        "web_enabled": settings.web_port > 0,
        "web_port": settings.web_port or 6066,
        "web_host": "0.0.0.0",
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": min(3.0, settings.session_timeout / 3),
        "broker_max_poll_interval": settings.max_poll_interval,
        "broker_commit_interval": settings.commit_interval,
        "consumer_auto_offset_reset": "earliest",
        "topic_replication_factor": settings.replication_factor,
        "producer_acks": -1,
        "logging_config": None,
    }
    if settings.data_dir:
        options["datadir"] = settings.data_dir
    options.update(overrides)
    app = faust.App(settings.app_id, **options)
    policy = load_policy(settings.policy_path)
    if reference is None:
        from agents.stores import ReferenceCache

        reference = ReferenceCache.from_url(settings.redis_url, prefix=settings.redis_prefix)
    engine = RuleEngine(policy, reference, reference, build_detectors(policy), clock=utc_now)
    moderator = Moderator(
        engine,
        reference,
        FaustViolationSink(raw_topic(app, VIOLATIONS.name)),
        FaustDeadLetterSink(raw_topic(app, DEADLETTER.name)),
    )
    for spec in INPUT_TOPICS:
        app.agent(raw_topic(app, spec.name), name=f"moderate.{spec.name}")(_moderate(moderator))
    app.moderator = moderator  # type: ignore[attr-defined] - for tests and the CLI
    if settings.web_port:
        _expose_metrics(app)
    return app


def _expose_metrics(app: faust.App) -> None:
    @app.page("/metrics")
    async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _moderate(moderator: Moderator):
    async def moderate(stream: faust.StreamT) -> AsyncIterator[int]:
        async for event in stream.events():
            message = event.message
            headers = message.headers or ()
            if isinstance(headers, dict):
                headers = headers.items()
            record = RawRecord(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=event.key,
                value=event.value,
                headers=tuple(headers),
            )
            yield await moderator.handle(record)

    return moderate
