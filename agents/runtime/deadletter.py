"""Dead letters: records a Faust app refuses, sent on to a dead-letter topic with the reason.

A refused record goes out unchanged (same key, same value bytes, its own headers kept) plus
`qg-reason` and where it was consumed (`qg-source-topic`, `-partition`, `-offset`); the notifier's
dead letters also carry `qg-stage` (docs/contract.md, docs/notify.md). `dead_letter` is the one
step every agent takes for a refused record: log it with its position, count it, send it.

The sink is anything with the Faust topic's `send(key, value, headers)`: `FaustDeadLetterSink`
sends through a Faust topic, so the record is attached to the input offset and produced before
that offset is committed (at-least-once); `MemoryDeadLetterSink` keeps them in a list for
`test_context()` unit tests and anything else that runs without a broker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.runtime.records import RawRecord

log = logging.getLogger(__name__)

REASON_HEADER = "qg-reason"
STAGE_HEADER = "qg-stage"
SOURCE_HEADERS = ("qg-source-topic", "qg-source-partition", "qg-source-offset")
Headers = list[tuple[str, bytes]]


class DeadLetterSink(Protocol):
    """Where dead letters go; the Faust topic's own `send` signature."""

    async def send(self, key: bytes | None, value: bytes | None, headers: Headers) -> None: ...


class LabelledCounter(Protocol):
    """A labelled Prometheus counter (`COUNTER.labels(...)`): each app counts in its own metric."""

    def inc(self, amount: float = 1) -> None: ...


def dead_letter_headers(
    reason: str,
    source: RawRecord | None = None,
    stage: str | None = None,
    extra: Sequence[tuple[str, bytes]] = (),
) -> Headers:
    """`source`'s own headers, the reason, where `source` was consumed, the stage, then `extra`."""
    headers: Headers = [*(source.headers if source else ()), (REASON_HEADER, reason.encode("utf-8"))]
    if source is not None:
        position = (source.topic, str(source.partition), str(source.offset))
        headers += [
            (name, value.encode("utf-8")) for name, value in zip(SOURCE_HEADERS, position, strict=True)
        ]
    if stage is not None:
        headers.append((STAGE_HEADER, stage.encode("utf-8")))
    return [*headers, *extra]


async def dead_letter(
    sink: DeadLetterSink, record: RawRecord, reason: str, counter: LabelledCounter, stage: str | None = None
) -> None:
    """Send `record` to `sink` with `reason`, logged with its position and counted in `counter`.
    `stage` adds the `qg-stage` header (the notifier's; the worker counts its stage only)."""
    where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    log.warning(
        "dead letter %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason, extra=where
    )
    counter.inc()
    await sink.send(record.key, record.value, dead_letter_headers(reason, record, stage))


class FaustDeadLetterSink:
    def __init__(self, topic: Any) -> None:
        self.topic = topic

    async def send(self, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        await self.topic.send(key=key, value=value, headers=headers)


@dataclass
class MemoryDeadLetterSink:
    """Each dead letter as the record the topic would hold (offsets counting from 0), with its reason."""

    topic: str = "deadletter"
    records: list[tuple[RawRecord, str]] = field(default_factory=list)

    async def send(self, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        letter = RawRecord(self.topic, 0, len(self.records), key, value, tuple(headers))
        reason = dict(headers).get(REASON_HEADER, b"").decode("utf-8")
        self.records.append((letter, reason))
