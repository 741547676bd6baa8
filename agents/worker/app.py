"""The Faust app: one agent per partitioning of detector state, each binding its topics to the
shared `Moderator` (agents.worker.topology has the wiring).

Topics are consumed with the raw serializer and decoded inside the agent, so a record that is
not valid JSON reaches the dead-letter topic instead of crashing Faust's deserializer. Detector
state lives in changelog-backed Faust tables (agents.runtime.tables); a timer sends tick records to the
partitions this worker owns, and each tick sweeps its partition in the agent's own context.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import faust
import faust.web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.connect.security import faust_broker_options, redis_options
from agents.connect.settings import Settings
from agents.runtime import transport
from agents.runtime.health import readiness, register_health
from agents.runtime.records import FaustDeadLetterSink, FaustViolationSink, RawRecord
from agents.runtime.stall_guard import register_stall_guard
from agents.runtime.tables import TableState
from agents.runtime.watchdog import register_rebalance_watchdog
from agents.worker.ladder import EmployeeAgent, EscalationStep
from agents.worker.metrics import install_faust_sensor, timed, watch_calendars, watch_table_sizes
from agents.worker.moderator import Moderator, ReferenceSource
from agents.worker.reload import register_reload
from agents.worker.sweep_clock import SweepClock
from agents.worker.topology import TICK, TICK_HEADER, Topology
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.core.state import PARTITIONS, Partition
from streams.detectors import build_detectors
from streams.ladder.steps import Ladder
from topics.catalog import DEADLETTER, ROSTER, VIOLATIONS
from topics.timeutil import format_ts, parse_ts


def utc_now() -> datetime:
    return datetime.now(UTC)


def raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    return app.topic(*names, key_serializer="raw", value_serializer="raw", allow_empty=True)


class TopicForwarder:
    """`Moderator.forwarder` over the internal topics: the repartition step."""

    def __init__(self, topics: dict[Partition, faust.TopicT]) -> None:
        self.topics = topics

    async def send(self, partition: Partition, key: str, record: RawRecord) -> None:
        await self.topics[partition].send(key=key.encode("utf-8"), value=record.value, headers=record.headers)


def app_options(settings: Settings) -> dict[str, Any]:
    """The Faust options of the worker (and of the bench's no-op baseline, agents.bench.noop)."""
    options: dict[str, Any] = {
        "broker": settings.kafka_url,
        # The consumer with exact log-end offsets for table recovery (agents.runtime.transport).
        "broker_consumer": settings.kafka_url.replace("kafka://", f"{transport.SCHEME}://"),
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
        # Batch what one pass over a fetched batch produces (forwards, changelogs, violations)
        # into fewer produce requests: ~8 % less CPU per event in the bench, ≤5 ms of latency.
        "producer_linger": 0.005,
        "logging_config": None,
        **faust_broker_options(settings),  # TLS/SASL credentials (agents.connect.security)
    }
    if settings.data_dir:
        options["datadir"] = settings.data_dir
    return options


def use_event_loop() -> str:
    """Run the worker on uvloop where it is installed (call before the app is created);
    QUNGUARD_EVENT_LOOP=asyncio keeps asyncio's own loop (for comparisons)."""
    import mode.loop

    if os.environ.get("QUNGUARD_EVENT_LOOP", "uvloop") != "uvloop":
        return "asyncio"
    try:
        mode.loop.use("uvloop")
    except ImportError:
        return "asyncio"
    return "uvloop"


def create_app(settings: Settings, reference: ReferenceSource | None = None, **overrides: Any) -> faust.App:
    """Build the worker app. `reference` defaults to the Redis-backed cache at settings.redis_url."""
    options = app_options(settings)
    options.update(overrides)
    app = faust.App(settings.app_id, **options)
    topology = Topology(settings.app_id)
    policy = load_policy(settings.policy_path)
    discipline = None  # the Redis read model of the ladder; none with a given reference (unit tests)
    if reference is None:
        from agents.stores.ladder import DisciplineStore
        from agents.stores.reference import ReferenceCache

        login = redis_options(settings)  # TLS and credentials (agents.connect.security)
        reference = ReferenceCache.from_url(settings.redis_url, prefix=settings.redis_prefix, **login)
        discipline = DisciplineStore.from_url(settings.redis_url, prefix=settings.redis_prefix, **login)
    state = TableState(app, {p: topology.internal(p).partitions for p in (*PARTITIONS, "employee")})
    detectors = build_detectors(policy, state)
    engine = RuleEngine(policy, reference, reference, timed(detectors), clock=utc_now)
    escalation = EscalationStep(Ladder(policy, state, clock=utc_now), discipline)
    watch_table_sizes(state.tables)
    watch_calendars(detectors)
    partitions = ("group", *(p for p in engine.partitions() if p != "group"))
    internal = {p: raw_topic(app, topology.internal(p).name) for p in (*partitions, "employee")}
    violations = FaustViolationSink(raw_topic(app, VIOLATIONS.name))
    dead_letters = FaustDeadLetterSink(raw_topic(app, DEADLETTER.name))
    moderator = Moderator(
        engine,
        reference,
        violations,
        dead_letters,
        TopicForwarder({p: t for p, t in internal.items() if p != "group"}),
        SweepClock(idle_after=max(2 * settings.tick_interval, 10.0)),
        escalation,
    )
    for partition in partitions:
        channel = raw_topic(app, *topology.sources(partition))
        app.agent(channel, name=f"moderate.{partition}")(_moderate(moderator, topology, partition))
    app.agent(raw_topic(app, ROSTER.name), name=f"moderate.{ROSTER.name}")(_moderate_input(moderator))
    employee = EmployeeAgent(escalation, violations, dead_letters)  # the ladder (agents.worker.ladder)
    app.agent(internal["employee"], name="moderate.employee")(_moderate_input(employee))
    app.internal_partitions = (*partitions, "employee")  # type: ignore[attr-defined] - topics to create
    app.employee_agent = employee  # type: ignore[attr-defined]
    _tick(app, settings, engine, internal)
    register_reload(app, detectors)
    register_liveness(app, settings)
    app.moderator = moderator  # type: ignore[attr-defined] - for tests and the CLI
    app.topology = topology  # type: ignore[attr-defined]
    app.detector_state = state  # type: ignore[attr-defined]
    if settings.faust_sensor:
        install_faust_sensor(app)
    if settings.web_port:
        _expose_metrics(app)
        ping = getattr(reference, "ping", None)
        register_health(app, readiness(app, ping or _no_redis))
    return app


def register_liveness(app: faust.App, settings: Settings) -> None:
    """The timers that keep a Faust app (worker or notifier) consuming: re-reading partitions
    Faust stopped short on (agents.runtime.stall_guard) and exiting when out of the group too long
    (agents.runtime.watchdog). A setting of 0 turns either off."""
    if settings.stall_after > 0:
        register_stall_guard(app, settings.stall_after)
    if settings.rebalance_limit > 0:
        register_rebalance_watchdog(app, settings.rebalance_limit)


async def _no_redis() -> None:
    """Readiness ping for a reference source without Redis (test_context unit tests)."""


def _expose_metrics(app: faust.App) -> None:
    @app.page("/metrics")
    async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _tick(app: faust.App, settings: Settings, engine: RuleEngine, internal: dict[Partition, Any]) -> None:
    """Every tick interval, send a tick to each partition this worker actively owns of every
    internal topic whose partitioning has sweepers."""
    swept = {p: t for p, t in internal.items() if engine.sweepers(p)}
    if not swept:
        return

    @app.timer(settings.tick_interval, name="qunguard.tick")
    async def tick() -> None:
        if app.rebalancing:
            return
        now = format_ts(utc_now()).encode()
        owned = app.assignor.assigned_actives()
        for topic in swept.values():
            name = topic.get_topic_name()
            for tp in owned:
                if tp.topic == name:
                    await topic.send(value=now, partition=tp.partition, headers=[(TICK_HEADER, TICK)])


def _moderate(moderator: Moderator, topology: Topology, partition: Partition):
    internal = topology.internal(partition)

    async def moderate(stream: faust.StreamT) -> AsyncIterator[int]:
        async for event in stream.events():
            record = RawRecord.from_event(event)
            if record.topic != internal.name:
                yield await moderator.handle(record)
            elif (TICK_HEADER, TICK) in record.headers:
                now = parse_ts(record.value.decode()) if record.value else utc_now()
                yield await moderator.sweep(partition, record.partition, internal.partitions, now)
            else:
                yield await moderator.handle_routed(record, partition)

    return moderate


def _moderate_input(moderator: Moderator | EmployeeAgent):
    async def moderate(stream: faust.StreamT) -> AsyncIterator[int]:
        async for event in stream.events():
            yield await moderator.handle(RawRecord.from_event(event))

    return moderate
