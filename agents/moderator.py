"""The worker's per-record step: decode, refresh reference data, run the rule engine, emit.

Bad input never stops the worker (SPEC §7): a record that cannot be decoded, or that a detector
fails on, goes to the dead-letter sink with the reason, and the agent moves on.
"""

from __future__ import annotations

import logging
from typing import Protocol

from agents.metrics import DEAD_LETTERS, EVENTS, VIOLATIONS
from agents.retry import retry_forever
from agents.sinks import DeadLetterSink, RawRecord, ViolationSink
from streams.engine import RuleEngine
from topics.catalog import topic_for_kind
from topics.codec import DecodeError, decode_event
from topics.events import Event, RosterEvent

log = logging.getLogger(__name__)


class ReferenceSource(Protocol):
    """The worker-local view of Redis reference data (see agents.stores.ReferenceCache)."""

    async def refresh(self) -> None: ...

    async def refresh_employee(self, employee_id: str) -> None: ...

    async def refresh_if_stale(self) -> None: ...


class Moderator:
    def __init__(
        self,
        engine: RuleEngine,
        reference: ReferenceSource,
        violations: ViolationSink,
        dead_letters: DeadLetterSink,
    ) -> None:
        self.engine = engine
        self.reference = reference
        self.violations = violations
        self.dead_letters = dead_letters
        self._loaded = False

    async def start(self) -> None:
        await retry_forever(self.reference.refresh, "redis")
        self._loaded = True

    async def handle(self, record: RawRecord) -> int:
        """Process one record; return the number of violations emitted."""
        EVENTS.labels(record.topic).inc()
        event = await self._decode(record)
        if event is None:
            return 0
        if not self._loaded:
            await self.start()
        if isinstance(event, RosterEvent):
            await retry_forever(lambda: self.reference.refresh_employee(event.employee_id), "redis")
        else:
            await retry_forever(self.reference.refresh_if_stale, "redis")
        try:
            found = self.engine.process(event)
        except Exception as exc:  # a detector bug must not stop the stream
            log.exception("detector failed on %s", event.event_id)
            await self._dead_letter(record, f"detector error: {type(exc).__name__}: {exc}", "detect")
            return 0
        for violation in found:
            await self.violations.send(violation)
            VIOLATIONS.labels(violation.rule, violation.severity).inc()
        return len(found)

    async def _decode(self, record: RawRecord) -> Event | None:
        if record.value is None:
            await self._dead_letter(record, "empty record (no value)", "decode")
            return None
        try:
            event = decode_event(record.value)
        except DecodeError as exc:
            await self._dead_letter(record, str(exc), "decode")
            return None
        expected = topic_for_kind(event.kind)
        if expected is not None and expected.name != record.topic:
            reason = f"field 'kind': a {event.kind} event does not belong on {record.topic}"
            await self._dead_letter(record, reason, "decode")
            return None
        return event

    async def _dead_letter(self, record: RawRecord, reason: str, stage: str) -> None:
        log.warning("dead letter %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)
        DEAD_LETTERS.labels(record.topic, stage).inc()
        await self.dead_letters.send(record, reason)
