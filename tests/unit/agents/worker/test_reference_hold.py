"""A worker holds what it would judge while the reference data is refused, and judges it once a
load fixes the data: no violation comes from a flushed roster (agents.worker.moderator)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson

from agents.runtime.deadletter import MemoryDeadLetterSink
from agents.runtime.records import RawRecord
from agents.worker.moderator import Moderator
from agents.worker.outputs import MemoryViolationSink
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.detectors import build_detectors
from tests.reference_doubles import GatedReference
from tests.support import recent_working_morning
from topics.catalog import MESSAGES


def gambling(offset: int) -> RawRecord:
    doc = {"kind": "message", "event_id": f"m-{offset}", "ts": recent_working_morning().isoformat(),
           "group_id": "g-sales", "sender_id": "wx_wanglei", "text": "今晚买六合彩"}  # fmt: skip
    return RawRecord(MESSAGES.name, 0, offset, b"g-sales", orjson.dumps(doc))


def moderator(reference: GatedReference) -> tuple[Moderator, MemoryViolationSink]:
    policy = load_policy()
    engine = RuleEngine(policy, reference, reference, build_detectors(policy))
    violations = MemoryViolationSink()
    return Moderator(engine, reference, violations, MemoryDeadLetterSink()), violations


async def test_a_record_waits_for_the_reference_data_and_is_judged_after_the_reload() -> None:
    reference = GatedReference()
    worker, violations = moderator(reference)
    held = asyncio.create_task(worker.handle(gambling(1)))
    await reference.waiting.wait()
    assert not held.done() and violations.records == []

    reference.reload()
    assert await held == 1
    [found] = violations.records
    assert (found.rule, found.employee_id) == ("content.gambling", "E0006")


async def test_a_sweep_waits_too() -> None:
    reference = GatedReference()
    worker, _ = moderator(reference)
    sweep = asyncio.create_task(worker.sweep("group", 0, 6, datetime.now(UTC)))
    await reference.waiting.wait()
    assert not sweep.done()
    reference.reload()
    assert await sweep >= 0


async def test_a_usable_reference_does_not_hold() -> None:
    reference = GatedReference()
    reference.reload()
    worker, _ = moderator(reference)
    assert await worker.handle(gambling(2)) == 1 and not reference.waiting.is_set()
