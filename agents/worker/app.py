"""The worker's Faust app: one agent per partitioning of detector state, each binding its topics
to the shared `Moderator` (agents.worker.topology has the wiring). What it shares with the
notifier (Faust options, raw topics, liveness timers, /metrics) is in agents.runtime.app.

Topics are consumed with the raw serializer and decoded inside the agent, so a record that is
not valid JSON reaches the dead-letter topic instead of crashing Faust's deserializer. Detector
state lives in changelog-backed Faust tables (agents.runtime.tables); a timer sends tick records to the
partitions this worker owns (agents.runtime.ticks), and each tick sweeps its partition in the
agent's own context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import faust

from agents.connect.settings import Settings
from agents.runtime.app import app_options, expose_metrics, raw_topic, register_liveness
from agents.runtime.deadletter import FaustDeadLetterSink
from agents.runtime.health import readiness, register_health, register_reference_watch
from agents.runtime.records import RawRecord
from agents.runtime.tables import TableState
from agents.runtime.ticks import is_tick, register_ticks
from agents.worker.ladder import EmployeeAgent, LadderStep
from agents.worker.metrics import (
    detector_timer,
    install_faust_sensor,
    watch_calendars,
    watch_table_sizes,
)
from agents.worker.moderator import Moderator, ReferenceSource
from agents.worker.outputs import FaustViolationSink
from agents.worker.reload import register_reload
from agents.worker.sweep_clock import SweepClock
from agents.worker.topology import Topology
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.core.state import PARTITIONS, Partition
from streams.detectors import build_detectors
from streams.ladder.steps import Ladder
from topics.catalog import DEADLETTER, ROSTER, VIOLATIONS
from topics.timeutil import format_ts, parse_ts


def utc_now() -> datetime:
    return datetime.now(UTC)


class TopicForwarder:
    """`Moderator.forwarder` over the internal topics: the repartition step."""

    def __init__(self, topics: dict[Partition, faust.TopicT]) -> None:
        self.topics = topics

    async def send(self, partition: Partition, key: str, record: RawRecord) -> None:
        await self.topics[partition].send(key=key.encode("utf-8"), value=record.value, headers=record.headers)


def create_app(settings: Settings, reference: ReferenceSource | None = None, **overrides: Any) -> faust.App:
    """Build the worker app. `reference` defaults to the Redis-backed cache at settings.redis_url."""
    options = app_options(settings)
    options.update(overrides)
    app = faust.App(settings.app_id, **options)
    topology = Topology(settings.app_id)
    policy = load_policy(settings.policy_path)
    ladder_store = None  # the Redis read model of the ladder; none with a given reference (unit tests)
    if reference is None:
        from agents.stores.cache import ReferenceCache
        from agents.stores.ladder import LadderStore
        from agents.worker.policy_guard import guard_policy_version

        guard_policy_version(app, settings, policy.version)  # one policy per consumer group, or exit 2
        reference = ReferenceCache.from_settings(settings)
        ladder_store = LadderStore.from_settings(settings)
    state = TableState(app, {p: topology.internal(p).partitions for p in (*PARTITIONS, "employee")})
    detectors = build_detectors(policy, state)
    engine = RuleEngine(policy, reference, reference, detectors, clock=utc_now, timer=detector_timer)
    ladder = LadderStep(Ladder(policy, state, clock=utc_now), ladder_store)
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
        ladder,
    )
    for partition in partitions:
        channel = raw_topic(app, *topology.sources(partition))
        app.agent(channel, name=f"moderate.{partition}")(_moderate(moderator, topology, partition))
    app.agent(raw_topic(app, ROSTER.name), name=f"moderate.{ROSTER.name}")(_moderate_input(moderator))
    employee = EmployeeAgent(ladder, violations, dead_letters)  # the ladder (agents.worker.ladder)
    app.agent(internal["employee"], name="moderate.employee")(_moderate_input(employee))
    app.internal_partitions = (*partitions, "employee")  # type: ignore[attr-defined] - topics to create
    app.employee_agent = employee  # type: ignore[attr-defined]
    _tick(app, settings, engine, internal)
    register_reload(app, detectors)
    register_reference_watch(app, reference)
    register_liveness(app, settings, holding=lambda: bool(reference.refusals()))
    app.moderator = moderator  # type: ignore[attr-defined] - for tests and the CLI
    app.topology = topology  # type: ignore[attr-defined]
    app.detector_state = state  # type: ignore[attr-defined]
    if settings.faust_sensor:
        install_faust_sensor(app)
    if settings.web_port:
        expose_metrics(app)
        ping = getattr(reference, "ping", None)
        register_health(app, readiness(app, ping or _no_redis, reference))
    return app


async def _no_redis() -> None:
    """Readiness ping for a reference source without Redis (test_context unit tests)."""


def _tick(app: faust.App, settings: Settings, engine: RuleEngine, internal: dict[Partition, Any]) -> None:
    """Every tick interval, a tick with the wall-clock time to each partition this worker actively
    owns of every internal topic whose partitioning has sweepers."""
    swept = [topic for partition, topic in internal.items() if engine.sweepers(partition)]
    register_ticks(app, settings.tick_interval, "qunguard.tick", swept, lambda: format_ts(utc_now()).encode())


def _moderate(moderator: Moderator, topology: Topology, partition: Partition):
    internal = topology.internal(partition)

    async def moderate(stream: faust.StreamT) -> AsyncIterator[int]:
        async for event in stream.events():
            record = RawRecord.from_event(event)
            if record.topic != internal.name:
                yield await moderator.handle(record)
            elif is_tick(record):
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
