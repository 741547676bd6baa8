"""Where the worker's output goes: violations and dead letters.

The Faust sinks send through Faust topics, so each record is attached to the input offset and
produced before that offset is committed (at-least-once). The memory sinks keep records in lists
and back `test_context()` unit tests and anything else that runs without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from topics.codec import encode
from topics.violation import Violation

REASON_HEADER = "qg-reason"
SOURCE_HEADERS = ("qg-source-topic", "qg-source-partition", "qg-source-offset")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One consumed record exactly as it arrived."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def from_event(cls, event: Any) -> RawRecord:
        """A Faust stream event (`stream.events()`) as a RawRecord."""
        message = event.message
        headers = message.headers or ()
        if isinstance(headers, dict):
            headers = headers.items()
        return cls(message.topic, message.partition, message.offset, event.key, event.value, tuple(headers))


class ViolationSink(Protocol):
    async def send(self, violation: Violation) -> None: ...


class DeadLetterSink(Protocol):
    async def send(self, record: RawRecord, reason: str) -> None: ...


def dead_letter_headers(record: RawRecord, reason: str) -> list[tuple[str, bytes]]:
    source = (record.topic, str(record.partition), str(record.offset))
    return [
        *record.headers,
        (REASON_HEADER, reason.encode("utf-8")),
        *((name, value.encode("utf-8")) for name, value in zip(SOURCE_HEADERS, source, strict=True)),
    ]


class FaustViolationSink:
    def __init__(self, topic: Any) -> None:
        self.topic = topic

    async def send(self, violation: Violation) -> None:
        await self.topic.send(key=violation.key.encode("utf-8"), value=encode(violation))


class FaustDeadLetterSink:
    def __init__(self, topic: Any) -> None:
        self.topic = topic

    async def send(self, record: RawRecord, reason: str) -> None:
        await self.topic.send(key=record.key, value=record.value, headers=dead_letter_headers(record, reason))


@dataclass
class MemoryViolationSink:
    records: list[Violation] = field(default_factory=list)

    async def send(self, violation: Violation) -> None:
        self.records.append(violation)


@dataclass
class MemoryDeadLetterSink:
    records: list[tuple[RawRecord, str]] = field(default_factory=list)

    async def send(self, record: RawRecord, reason: str) -> None:
        self.records.append((record, reason))
