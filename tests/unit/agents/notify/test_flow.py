"""The notifier's router holds a violation while the reference data is refused: no recipient is
resolved against a flushed roster or ledger; it routes the violation once a load fixes the data."""

from __future__ import annotations

import asyncio

from agents.notify.flow import NotifyRouter
from agents.runtime.deadletter import MemoryDeadLetterSink
from agents.runtime.records import RawRecord
from streams.core.policy import load_policy
from streams.notify.config import load_notify_config
from tests.reference_doubles import GatedReference
from topics.catalog import VIOLATIONS
from topics.codec import encode
from topics.violation import Violation


def violation_record() -> RawRecord:
    policy = load_policy().rule("member.outsider")
    violation = Violation(
        violation_id="v-1", rule="member.outsider", severity=policy.severity, actions=policy.actions,
        group_id="g-sales", subject_id="wx_wanglei", employee_id=None, source_event_ids=("e-1",),
        event_ts="2026-11-23T10:00:00+08:00", detected_at="2026-11-23T10:00:01+08:00", clause=policy.clause,
        evidence={},
    )  # fmt: skip
    return RawRecord(VIOLATIONS.name, 0, 0, b"g-sales", encode(violation))


async def test_recipients_wait_for_the_reference_data() -> None:
    reference = GatedReference()
    forwarded: list[str] = []

    async def forward(address: str, value: bytes) -> None:
        forwarded.append(address)

    router = NotifyRouter(load_notify_config(), reference, forward, MemoryDeadLetterSink())
    held = asyncio.create_task(router.handle(violation_record()))
    await reference.waiting.wait()
    assert not held.done() and forwarded == []

    reference.reload()
    assert await held == len(forwarded) > 0
    assert any(address.startswith("owner|") for address in forwarded), forwarded
