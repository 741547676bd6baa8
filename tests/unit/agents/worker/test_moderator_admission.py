"""Moderator checks input records at the door (streams.core.admission): a record out of the
event-time bounds, keyed other than its group / employee, or over the size limits is dead-lettered
with the reason and judged by no detector; forwarded records were admitted on their input topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from agents.runtime.deadletter import MemoryDeadLetterSink
from agents.runtime.records import RawRecord
from agents.worker.metrics import DECODE_FAILURES
from agents.worker.moderator import Moderator
from agents.worker.outputs import MemoryViolationSink
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.detectors import build_detectors
from tests.membership_world import EMPLOYEES
from tests.reference_doubles import StaticReference
from topics.catalog import MESSAGES, ROSTER

NOW = datetime.now(UTC).replace(microsecond=0)


class Door:
    def __init__(self) -> None:
        policy, reference = load_policy(), StaticReference(EMPLOYEES)
        engine = RuleEngine(policy, reference, reference, build_detectors(policy))
        self.violations, self.dead_letters = MemoryViolationSink(), MemoryDeadLetterSink()
        self.moderator = Moderator(engine, reference, self.violations, self.dead_letters)
        self.offset = 0

    async def send(self, doc: dict[str, Any] | bytes, key: bytes | None = b"g-proj", topic: str = MESSAGES.name,
                   headers: tuple[tuple[str, bytes], ...] = ()) -> int:  # fmt: skip
        value = doc if isinstance(doc, bytes) else orjson.dumps(doc)
        self.offset += 1
        return await self.moderator.handle(RawRecord(topic, 0, self.offset, key, value, headers))

    @property
    def reasons(self) -> list[str]:
        return [reason for _, reason in self.dead_letters.records]


def message(n: int, ts: datetime | str, **fields: Any) -> dict[str, Any]:
    return {"kind": "message", "event_id": f"m-{n}", "ts": ts if isinstance(ts, str) else ts.isoformat(),
            "group_id": "g-proj", "sender_id": "wx_zhangwei", "text": f"第{n}条进度同步", **fields}  # fmt: skip


def refused(check: str) -> float:
    return DECODE_FAILURES.labels(MESSAGES.name, check)._value.get()


async def test_a_far_future_record_is_dead_lettered_and_the_next_burst_still_fires() -> None:
    door, before = Door(), refused("event_time")
    future = message(0, "2126-01-01T00:00:00+08:00")
    assert await door.send(future) == 0
    [(letter, reason)] = door.dead_letters.records
    assert reason.startswith("field 'ts': 2126-01-01T00:00:00+08:00 is ") and reason.endswith(
        " days in the future (limit 1 day)"
    )
    assert letter.value == orjson.dumps(future) and letter.key == b"g-proj"  # the original record
    assert refused("event_time") == before + 1
    for n in range(1, 13):  # 12 messages in 22 s
        await door.send(message(n, NOW - timedelta(seconds=60) + timedelta(seconds=2 * n)))
    rate = [v for v in door.violations.records if v.rule == "flood.rate"]
    assert [v.source_event_ids for v in rate] == [tuple(f"m-{n}" for n in range(1, 11))]


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-05:00"])
async def test_years_1_and_9999_are_dead_letters_not_detector_errors(ts: str) -> None:
    door = Door()
    await door.send(message(1, ts))
    assert door.reasons == [f"field 'ts': {ts} is outside the supported range (1900-01-01 to 8999-12-31 UTC)"]


async def test_a_record_keyed_other_than_its_group_is_dead_lettered() -> None:
    door, before = Door(), refused("key")
    await door.send(message(1, NOW, text="今晚一起买六合彩赌球"), key=b"g-sales")
    await door.send(message(2, NOW, text="今晚一起买六合彩赌球"), key=None)
    assert door.reasons == [
        "field 'group_id': 'g-proj' differs from the record key 'g-sales'",
        "field 'group_id': the record has no key (expected 'g-proj')",
    ]
    assert door.violations.records == [] and refused("key") == before + 2


async def test_a_roster_record_keyed_other_than_its_employee_is_dead_lettered() -> None:
    door = Door()
    roster = {
        "kind": "roster",
        "event_id": "r-1",
        "ts": NOW.isoformat(),
        "employee_id": "E4",
        "change": "departed",
    }
    await door.send(roster, key=b"E5", topic=ROSTER.name)
    assert door.reasons == ["field 'employee_id': 'E4' differs from the record key 'E5'"]


async def test_an_oversized_record_is_dead_lettered_without_its_value() -> None:
    door = Door()
    await door.send(message(1, NOW, padding="x" * 3_000_000), headers=(("trace", b"t-1"),))
    await door.send(message(2, NOW, mentions=[f"wx_{n:05d}" for n in range(40_000)]))
    (big, big_reason), (crowded, crowded_reason) = door.dead_letters.records
    assert big_reason.startswith("record is 30") and big_reason.endswith(" bytes (limit 524288)")
    assert big.key == b"g-proj" and big.value is None  # a producer could not send it whole
    assert [name for name, _ in big.headers] == ["qg-reason", "qg-source-topic", "qg-source-partition",
                                                 "qg-source-offset"]  # fmt: skip
    assert crowded_reason == "field 'mentions': 40000 mentions (limit 500)"
    assert crowded.value is not None and len(crowded.value) < 524_288
    assert door.violations.records == []


async def test_a_forwarded_record_keyed_by_its_sender_is_not_refused() -> None:
    door = Door()
    record = RawRecord("qg-sender", 0, 1, b"wx_zhangwei", orjson.dumps(message(1, NOW)))
    await door.moderator.handle_routed(record, "sender")
    assert door.dead_letters.records == []
