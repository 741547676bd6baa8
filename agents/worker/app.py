"""The worker's Faust app: one agent per partitioning of detector state, each binding its topics
to the shared `Moderator` (agents.worker.topology has the wiring). What it shares with the
notifier (Faust options, raw topics, liveness timers, /metrics) is in agents.runtime.app.

`moderate.feedback` consumes reviewers' verdicts (agents.worker.feedback); every violation emitted
is kept in Redis for them to name (agents.stores.violations), and the content detector reads the
allow entries they leave through a cache refreshed every few seconds (agents.stores.allow).

Topics are consumed with the raw serializer and decoded inside the agent, so a record that is
not valid JSON reaches the dead-letter topic instead of crashing Faust's deserializer. Detector
state lives in changelog-backed Faust tables (agents.runtime.tables); a timer sends tick records to the
partitions this worker owns (agents.runtime.ticks), and each tick sweeps its partition in the
agent's own context.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

import faust
from faust.types import TP

from agents.connect.settings import Settings
from agents.runtime.app import (
    app_options,
    check_log_level_first,
    expose_metrics,
    raw_topic,
    register_liveness,
)
from agents.runtime.commit import BeforeCommit
from agents.runtime.deadletter import FaustDeadLetterSink
from agents.runtime.health import readiness, register_health, register_reference_watch
from agents.runtime.records import RawRecord
from agents.runtime.retry import TRANSIENT
from agents.runtime.tables import TableState
from agents.runtime.ticks import is_tick, register_ticks
from agents.stores.allow import REFRESH_SECONDS, AllowCache, RedisAllowEntries
from agents.worker.event_order import EventOrder, ForwardProgress, Held, InputPositions
from agents.worker.feedback import FeedbackAgent
from agents.worker.forwards import FLUSH_SECONDS as FORWARD_FLUSH_SECONDS
from agents.worker.forwards import (
    PROGRESS_SECONDS,
    BatchingForwarder,
    Progress,
    source_name,
    source_of,
    unbatch,
)
from agents.worker.ladder import EmployeeAgent, LadderStep
from agents.worker.metrics import (
    detector_timer,
    install_faust_sensor,
    watch_calendars,
    watch_late_events,
    watch_table_sizes,
    zero_series,
)
from agents.worker.moderator import GROUP_KEYED, Moderator, ReferenceSource, expected_sources
from agents.worker.outputs import FaustViolationSink, InlineKeeper, KeptViolationSink, ViolationKeeper
from agents.worker.reload import register_reload
from agents.worker.sweep_clock import SweepClock
from agents.worker.topology import Topology
from streams.behaviour.eventtime import source_idle_seconds
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.core.state import PARTITIONS, Partition
from streams.detectors import build_detectors
from streams.feedback.judges import Judges, load_judges
from streams.feedback.stores import FeedbackLimits, FeedbackStores
from streams.ladder.steps import Ladder
from topics.catalog import DEADLETTER, FEEDBACK, MESSAGES, ROSTER, VIOLATIONS
from topics.timeutil import format_ts, parse_ts

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    reference: ReferenceSource | None = None,
    judges: Judges | None = None,
    **overrides: Any,
) -> faust.App:
    """Build the worker app. `reference` defaults to the Redis-backed cache at settings.redis_url,
    and with it the feedback stores to Redis (given: in memory); `judges` to those of the policy and
    the notify configuration (streams.feedback.judges.load_judges)."""
    options = app_options(settings)
    options.update(overrides)
    app = faust.App(settings.app_id, **options)
    topology = Topology(settings.app_id)
    policy = load_policy(settings.policy_path)
    judges = judges or load_judges(policy, settings.notify_config)
    ladder_store = None  # the Redis read model of the ladder; none with a given reference (unit tests)
    stores, allow_cache = FeedbackStores(), None  # reviewers' feedback: in memory for unit tests
    keeper: ViolationKeeper = InlineKeeper(stores.violations)
    if reference is None:
        from agents.stores.cache import ReferenceCache
        from agents.stores.feedback import redis_feedback_stores
        from agents.stores.ladder import LadderStore
        from agents.stores.violations import ViolationWriter
        from agents.worker.policy_guard import guard_policy_version

        guard_policy_version(app, settings, policy.version)  # one policy per consumer group, or exit 2
        reference = ReferenceCache.from_settings(settings)
        ladder_store = LadderStore.from_settings(settings)
        limits = FeedbackLimits.from_policy(policy)
        stores = redis_feedback_stores(settings, limits)
        keeper = ViolationWriter.from_settings(settings, limits.violation_seconds)
        allow_cache = AllowCache(cast(RedisAllowEntries, stores.allow))
    commits = BeforeCommit()  # what must be produced before offsets are committed
    app.sensors.add(commits)
    state = TableState(app, {p: topology.internal(p).partitions for p in (*PARTITIONS, "employee")}, commits)
    detectors = build_detectors(policy, state, allow_cache or stores.allow)
    engine = RuleEngine(policy, reference, reference, detectors, clock=utc_now, timer=detector_timer)
    ladder = LadderStep(Ladder(policy, state, clock=utc_now), ladder_store)
    watch_table_sizes(state.tables)
    watch_calendars(detectors)
    watch_late_events(detectors)
    partitions = ("group", *(p for p in engine.partitions() if p != "group"))
    # the dead-letter stages of each topic the agents below consume: moderator, ladder, feedback agent
    moderated = (*(t for p in partitions for t in topology.sources(p)), ROSTER.name)
    stages = dict.fromkeys(moderated, ("decode", "detect"))
    stages |= {
        topology.internal("employee").name: ("decode", "ladder"),
        FEEDBACK.name: ("decode", "feedback"),
    }
    zero_series(policy.rules, stages)
    internal = {p: raw_topic(app, topology.internal(p).name) for p in (*partitions, "employee")}
    # every violation is kept where a verdict will look for it (agents.stores.violations)
    violations = KeptViolationSink(FaustViolationSink(raw_topic(app, VIOLATIONS.name)), keeper)
    dead_letters = FaustDeadLetterSink(raw_topic(app, DEADLETTER.name))
    # the repartition step: events batched per destination partition, violations one by one
    # judged in event-time order across their source partitions (agents.worker.event_order)
    positions, progress = InputPositions(app), ForwardProgress()
    orders = {
        "group": EventOrder(partial(expected_sources, "group"), positions.of, source_idle_seconds(policy))
    }
    if "sender" in partitions:
        orders["sender"] = EventOrder(
            partial(expected_sources, "sender"), progress.of, source_idle_seconds(policy)
        )
    forwarder = BatchingForwarder(
        {p: t for p, t in internal.items() if p != "group"},
        {p: topology.internal(p).partitions for p in internal},
        batched=(p for p in partitions if p != "group"),
        ordered=(p for p in orders if p != "group"),
    )
    register_forward_flush(app, forwarder, commits)
    moderator = Moderator(
        engine,
        reference,
        violations,
        dead_letters,
        forwarder,
        SweepClock(idle_after=max(2 * settings.tick_interval, 10.0)),
        ladder,
        preload=allow_cache,
        vacant=empty_partition(app),
    )
    register_event_order(app, orders, positions, forwarder)
    for partition in partitions:
        channel = raw_topic(app, *topology.sources(partition))
        moderate = _moderate(moderator, topology, partition, orders.get(partition), positions, progress)
        app.agent(channel, name=f"moderate.{partition}")(moderate)
    app.agent(raw_topic(app, ROSTER.name), name=f"moderate.{ROSTER.name}")(_moderate_input(moderator))
    employee = EmployeeAgent(ladder, violations, dead_letters)  # the ladder (agents.worker.ladder)
    app.agent(internal["employee"], name="moderate.employee")(_moderate_input(employee))
    feedback = FeedbackAgent(moderator, judges, stores, allow_cache)  # verdicts (agents.worker.feedback)
    app.agent(raw_topic(app, FEEDBACK.name), name="moderate.feedback")(_moderate_input(feedback))
    check_log_level_first(app)
    app.internal_partitions = (*partitions, "employee")  # type: ignore[attr-defined] - topics to create
    app.employee_agent = employee  # type: ignore[attr-defined]
    app.feedback_agent = feedback  # type: ignore[attr-defined]
    _tick(app, settings, engine, internal)
    if allow_cache is not None:
        register_allow_refresh(app, allow_cache)
    register_reload(app, detectors)
    register_reference_watch(app, reference, settings.reference_check_interval)
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


def _moderate(
    moderator: Moderator,
    topology: Topology,
    partition: Partition,
    order: EventOrder | None,
    positions: InputPositions,
    progress: ForwardProgress,
):
    internal = topology.internal(partition)

    async def judge(released: list[Held]) -> int:
        emitted = 0
        for held in released:
            if held.record.topic in GROUP_KEYED:
                emitted += await moderator.judge(held.record, held.decoded)
            else:
                emitted += await moderator.judge_forwarded(held.record, held.decoded, partition)
            order.done(held)  # type: ignore[union-attr] - only an order releases
        return emitted

    async def forwarded(event: Any, record: RawRecord, order: EventOrder) -> int:
        released: list[Held] = []
        for item in unbatch(record):
            if isinstance(item, Progress):
                progress.report(record.partition, item)
                order.saw(record.partition, item)
            elif (decoded := await moderator.admit_forwarded(item)) is not None:
                released += order.hold(record.partition, Held(event, item, decoded, source_of(item)))
        return await judge(released + order.due(record.partition))

    async def moderate(stream: faust.StreamT) -> AsyncIterator[int]:
        async for event in stream.events():
            record = RawRecord.from_event(event)
            if record.topic != internal.name:
                if order is None or record.topic not in GROUP_KEYED:
                    yield await moderator.handle(record)
                else:
                    source = positions.delivered(record)  # a dead-lettered record is read too
                    decoded = await moderator.admit(record)
                    if decoded is None:
                        yield await judge(order.due(record.partition))
                    else:
                        yield await judge(order.hold(record.partition, Held(event, record, decoded, source)))
            elif is_tick(record):
                emitted = await judge(order.due(record.partition)) if order is not None else 0
                now = parse_ts(record.value.decode()) if record.value else utc_now()
                yield emitted + await moderator.sweep(partition, record.partition, internal.partitions, now)
            elif order is None:
                yield await moderator.handle_routed(record, partition)
            else:
                yield await forwarded(event, record, order)

    return moderate


def register_event_order(
    app: faust.App,
    orders: dict[Partition, EventOrder],
    positions: InputPositions,
    forwarder: BatchingForwarder,
) -> None:
    """Let go of held events before a rebalance waits for them, and report the progress of the
    chat.messages partitions this process reads to the sender topic (agents.worker.event_order)."""

    def forget() -> None:
        positions.forget()
        for order in orders.values():
            order.forget(app.consumer._unacked_messages)

    app.consumer.before_wait_empty.append(forget)
    if "sender" not in orders:
        return

    @app.timer(PROGRESS_SECONDS / 2)
    async def report_progress() -> None:
        for tp in app.assignor.assigned_actives():
            if tp.topic == MESSAGES.name:
                source = source_name(tp.topic, tp.partition)
                forwarder.progress(orders["group"].progress(source, positions.state(source) is True))


def empty_partition(app: faust.App) -> Callable[[str], bool]:
    """Whether a source ("<topic>:<partition>") is an input partition this worker reads that holds
    no record at all: it never holds a watermark back (streams.core.watermark)."""

    def empty(source: str) -> bool:
        topic, _, number = source.rpartition(":")
        try:
            return app.consumer.highwater(TP(topic, int(number))) == 0
        except Exception:  # not assigned to this worker, or not fetched yet: not known to be empty
            return False

    return empty


def register_forward_flush(app: faust.App, forwarder: BatchingForwarder, commits: BeforeCommit) -> None:
    """Send pending forward batches every few milliseconds and whenever a commit starts."""
    commits.hooks.append(forwarder.flush)

    @app.timer(FORWARD_FLUSH_SECONDS)
    async def flush_forwards() -> None:
        forwarder.flush()


def register_allow_refresh(app: faust.App, cache: AllowCache) -> None:
    """Reload the allow entries the content detector reads when any worker changed them."""

    @app.timer(REFRESH_SECONDS)
    async def refresh_allow_entries() -> None:
        try:
            await asyncio.to_thread(cache.refresh)
        except TRANSIENT as exc:  # Redis down: the entries in memory stay until the next try
            log.warning("allow entries not refreshed: Redis unavailable (%s)", exc)


def _moderate_input(moderator: Moderator | EmployeeAgent | FeedbackAgent):
    async def moderate(stream: faust.StreamT) -> AsyncIterator[int]:
        async for event in stream.events():
            yield await moderator.handle(RawRecord.from_event(event))

    return moderate
