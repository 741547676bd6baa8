"""The worker's per-record steps: decode, refresh reference data, run the rule engine, emit.

Every record the engine judges (input, forwarded, tick) waits while the roster or ledger in Redis
may not be judged by (agents.stores.reference.refusal: flushed, restored older, records lost), and
goes on once a load fixes it; its offset is not committed meanwhile (docs/runtime.md).

`handle` takes a record from an input topic and follows the engine's routing plan
(streams.core.engine.RuleEngine.plan): it runs the detectors partitioned by group (input topics
are keyed by group) and forwards the event to the internal topic of every other partitioning the
engine needs (agents.worker.topology). `handle_routed` takes a record from an internal
topic: a forwarded event, run for its routing key, or a tick, which sweeps that partition.

Event time: every judged event updates the watermark of the partition it is judged in
(streams.core.watermark), each source partition separately: for the group agent chat.messages and
chat.membership, for the others the input partition a forward came from, which the forward names
in the batch (agents.worker.forwards). The behaviour rules judge lateness against it (docs/behaviour.md).

A violation the escalation ladder tracks is also forwarded to the employee topic, whose agent emits
its discipline steps; one whose actions depend on the ladder (content.ad's 2nd offence) is emitted
there too instead of here (agents.worker.ladder). Without a forwarder (one process, unit tests) the
ladder runs inline.

Bad input never stops the worker (SPEC §7): a record that cannot be decoded, is not admitted
(streams.core.admission: size, key, event-time bounds), or that a detector fails on, goes to the
dead-letter sink with the reason, and the agent moves on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from agents.runtime.deadletter import DeadLetterSink, dead_letter
from agents.runtime.records import RawRecord
from agents.runtime.retry import retry_forever
from agents.worker.forwards import source_name, source_of, unbatch
from agents.worker.ladder import LadderStep, forward_record, send_all
from agents.worker.metrics import DEAD_LETTERS, EVENTS, count_decode_failure
from agents.worker.outputs import ViolationSink
from agents.worker.sweep_clock import SweepClock
from streams.behaviour.eventtime import source_idle_seconds
from streams.core.admission import AdmissionLimits, check_event, record_size
from streams.core.detector import Sweeper
from streams.core.engine import RuleEngine
from streams.core.state import Partition
from streams.core.watermark import Watermarks
from topics.catalog import MEMBERSHIP, MESSAGES, topic_for_kind
from topics.codec import DecodeError, decode_event
from topics.events import Event, RosterEvent
from topics.violation import Violation

log = logging.getLogger(__name__)
GROUP_KEYED = frozenset((MESSAGES.name, MEMBERSHIP.name))  # co-partitioned with the group state


class ReferenceSource(Protocol):
    """The worker-local view of Redis reference data (see agents.stores.cache.ReferenceCache)."""

    async def refresh(self) -> None: ...

    async def refresh_employee(self, employee_id: str) -> None: ...

    async def refresh_if_stale(self) -> object: ...

    async def usable(self) -> None:
        """Return once the roster and ledger may be judged by (at once, normally)."""
        ...

    def refusals(self) -> Mapping[str, str]:
        """Dataset → why it may not be judged by now; empty when both may."""
        ...


class Refreshable(Protocol):
    """What the worker loads from Redis before it judges its first record besides the reference
    data (the allow cache, agents.stores.allow): a blocking refresh, run in a thread."""

    def refresh(self) -> bool: ...


class Forwarder(Protocol):
    """Sends an input record on to the internal topic of a partitioning, keyed by `key`."""

    async def send(self, partition: Partition, key: str, record: RawRecord) -> None: ...


def expected_sources(partitioning: Partition, number: int) -> tuple[str, ...]:
    """The source partitions a partition's watermark waits for (streams.core.watermark): a group
    partition reads both input topics' partition of its number; the sender partitions, where
    flood.broadcast keeps its windows, get forwards from every chat.messages partition. (The member
    partitions keep no windows judged by event time.)"""
    if partitioning == "group":
        return (source_name(MESSAGES.name, number), source_name(MEMBERSHIP.name, number))
    if partitioning == "sender":
        return tuple(source_name(MESSAGES.name, n) for n in range(MESSAGES.partitions))
    return ()


class Moderator:
    def __init__(
        self,
        engine: RuleEngine,
        reference: ReferenceSource,
        violations: ViolationSink,
        dead_letters: DeadLetterSink,
        forwarder: Forwarder | None = None,
        clock: SweepClock | None = None,
        ladder: LadderStep | None = None,
        preload: Refreshable | None = None,
        vacant: Callable[[str], bool] = lambda source: False,
    ) -> None:
        self.engine = engine
        self.reference = reference
        self.violations = violations
        self.dead_letters = dead_letters
        self.forwarder = forwarder
        self._loaded = False
        self._admission: tuple[object, AdmissionLimits] | None = None  # (policy, its limits)
        self._last_sweep: dict[tuple[int, Partition, int], float] = {}
        self.clock = clock or SweepClock(idle_after=60.0)
        self.ladder = ladder
        self.preload = preload
        self.watermarks = Watermarks(source_idle_seconds(engine.policy), expected_sources, vacant)

    async def start(self) -> None:
        await retry_forever(self.reference.refresh, "redis")
        if (preload := self.preload) is not None:
            await retry_forever(lambda: asyncio.to_thread(preload.refresh), "redis")
        self._loaded = True

    async def reference_ready(self) -> None:
        """Return once the reference data is loaded and may be judged by (holding the caller
        meanwhile, docs/runtime.md)."""
        if not self._loaded:
            await self.start()
        await retry_forever(self.reference.usable, "redis")

    async def handle(self, record: RawRecord) -> int:
        """Process one input-topic record; return the number of violations emitted."""
        event = await self.admit(record)
        return 0 if event is None else await self.judge(record, event)

    async def admit(self, record: RawRecord) -> Event | None:
        """An input-topic record's event, or None once it is dead-lettered (`_decode`)."""
        EVENTS.labels(record.topic).inc()
        return await self._decode(record, check_topic=True)

    async def judge(self, record: RawRecord, event: Event) -> int:
        """Run the engine's plan for an admitted input event; return the violations emitted."""
        await self._refresh(event)
        watermark = None  # hr.roster is keyed by employee: its partitions feed no group partition
        if record.topic in GROUP_KEYED:
            self.clock.saw("group", record.partition, event.ts)
            watermark = self.watermarks.observe(
                "group", record.partition, source_of(record), event.ts.timestamp(), time.monotonic()
            )
        plan = self.engine.plan(event)
        emitted = 0
        for key in plan.group:
            emitted += await self._run(record, event, "group", key, watermark)
        for partition, keys in plan.others.items():
            for key in keys:
                if self.forwarder is None:  # one process owns every key (unit tests)
                    emitted += await self._run(record, event, partition, key, watermark)
                else:
                    await self.forwarder.send(partition, key, record)
        return emitted

    async def handle_routed(self, record: RawRecord, partition: Partition) -> int:
        """Process one record of `partition`'s internal topic: a batch of forwarded events
        (agents.worker.forwards) or a single one."""
        emitted = 0
        for forwarded in unbatch(record):
            if isinstance(forwarded, RawRecord) and (event := await self.admit_forwarded(forwarded)):
                emitted += await self.judge_forwarded(forwarded, event, partition)
        return emitted

    async def admit_forwarded(self, record: RawRecord) -> Event | None:
        """A forwarded record's event, or None once it is dead-lettered (`_decode`)."""
        return await self._decode(record, check_topic=False)

    async def judge_forwarded(self, record: RawRecord, event: Event, partition: Partition) -> int:
        """Run `partition`'s detectors on a forwarded event, for its routing key."""
        await self._refresh(event)
        self.clock.saw(partition, record.partition, event.ts)
        key = (record.key or b"").decode("utf-8", "replace")
        watermark = self.watermarks.observe(
            partition, record.partition, source_of(record), event.ts.timestamp(), time.monotonic()
        )
        return await self._run(record, event, partition, key, watermark)

    async def sweep(self, partition: Partition, number: int, partitions: int, now: datetime) -> int:
        """Sweep the keys of one partition of `partition`'s state as of `now` (a tick's wall
        clock; event time instead while the partition is busy, agents.worker.sweep_clock)."""
        from agents.runtime.tables import partition_of, sweeping

        now = self.clock.now(partition, number, now)

        due = [d for d in self.engine.sweepers(partition) if self._due(d, partition, number)]
        if not due:
            return 0
        await retry_forever(self.reference.usable, "redis")
        with sweeping(number):
            found = self.engine.sweep(
                now, owns=lambda key: partition_of(key, partitions) == number, sweepers=due
            )
        await self._emit(found)
        return len(found)

    def _due(self, detector: Sweeper, partition: Partition, number: int) -> bool:
        interval = detector.sweep_interval
        slot = (id(detector), partition, number)
        now = time.monotonic()
        last = self._last_sweep.get(slot)
        if last is not None and now - last < interval:
            return False
        self._last_sweep[slot] = now
        return True

    async def _run(
        self, record: RawRecord, event: Event, partition: Partition, key: str, watermark: float | None
    ) -> int:
        try:
            found = self.engine.process_keyed(event, partition, key, watermark)
        except Exception as exc:  # a detector bug must not stop the stream
            log.exception(
                "detector failed on %s (%s %s)",
                event.event_id,
                partition,
                key,
                extra={"event_id": event.event_id},
            )
            await self._dead_letter(record, f"detector error: {type(exc).__name__}: {exc}", "detect")
            return 0
        await self._emit(found)
        return len(found)

    async def _emit(self, found: list[Violation]) -> None:
        for violation in found:
            if self.ladder is None or not self.ladder.wants(violation):
                await send_all(self.violations, [violation])
            elif self.forwarder is not None:
                held = self.ladder.holds(violation)  # its actions wait for the ladder
                if not held:
                    await send_all(self.violations, [violation])
                record = forward_record(violation, emitted=not held)
                await self.forwarder.send("employee", violation.employee_id or "", record)
            else:
                await send_all(self.violations, await self.ladder.run(violation))

    async def _refresh(self, event: Event) -> None:
        """Bring the reference data up to date for `event`; hold it (the agent waits, its offset
        stays uncommitted) while the data may not be judged by (docs/runtime.md)."""
        await self.reference_ready()
        if isinstance(event, RosterEvent):
            employee_id = event.employee_id
            await retry_forever(lambda: self.reference.refresh_employee(employee_id), "redis")

    async def _decode(self, record: RawRecord, check_topic: bool) -> Event | None:
        """The record's event, or None once it is dead-lettered. `check_topic`: an input-topic
        record, checked at the door (right topic, then streams.core.admission); a forwarded one
        was admitted on its input topic. An oversized record's dead letter goes without its value
        and headers (they would exceed what a producer may send); qg-source-* point at it."""
        if record.value is None:
            count_decode_failure(record.topic, "empty")
            await self._dead_letter(record, "empty record (no value)", "decode")
            return None
        limits = self._limits()
        size = record_size(record.key, record.value, record.headers)
        letter = replace(record, value=None, headers=()) if limits.oversized(size) else record
        try:
            event = decode_event(record.value)
        except DecodeError as exc:
            count_decode_failure(record.topic, "invalid")
            await self._dead_letter(letter, str(exc), "decode")
            return None
        if not check_topic:
            return event
        expected = topic_for_kind(event.kind)
        if expected is not None and expected.name != record.topic:
            reason = f"field 'kind': a {event.kind} event does not belong on {record.topic}"
            count_decode_failure(record.topic, "wrong_topic")
            await self._dead_letter(letter, reason, "decode")
            return None
        refusal = check_event(event, size, record.key, limits, datetime.now(UTC))
        if refusal is not None:
            count_decode_failure(record.topic, refusal.check)
            await self._dead_letter(letter, str(refusal), "decode")
            return None
        return event

    def _limits(self) -> AdmissionLimits:
        """The admission limits of the engine's policy, read again only when a reload swapped it."""
        policy = self.engine.policy
        if self._admission is None or self._admission[0] is not policy:
            self._admission = (policy, AdmissionLimits.from_policy(policy))
        return self._admission[1]

    async def _dead_letter(self, record: RawRecord, reason: str, stage: str) -> None:
        await dead_letter(self.dead_letters, record, reason, DEAD_LETTERS.labels(record.topic, stage))
