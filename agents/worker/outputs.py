"""Where the worker's violations go (its dead letters go through agents.runtime.deadletter).

`FaustViolationSink` sends through a Faust topic, so each violation is attached to the input
offset and produced before that offset is committed (at-least-once). `MemoryViolationSink` keeps
them in a list for `test_context()` unit tests and anything else that runs without a broker.
`KeptViolationSink` keeps each violation where a verdict will look for it by id before sending it
on, so no verdict can name a violation that is not kept yet: in Redis on the worker's event loop
(agents.stores.violations.ViolationWriter), or in a `ViolationLog` held in memory (`InlineKeeper`,
unit tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.runtime.retry import retry_forever
from streams.feedback.stores import ViolationLog
from topics.codec import encode
from topics.violation import Violation


class ViolationSink(Protocol):
    async def send(self, violation: Violation) -> None: ...


class FaustViolationSink:
    def __init__(self, topic: Any) -> None:
        self.topic = topic

    async def send(self, violation: Violation) -> None:
        await self.topic.send(key=violation.key.encode("utf-8"), value=encode(violation))


@dataclass
class MemoryViolationSink:
    records: list[Violation] = field(default_factory=list)

    async def send(self, violation: Violation) -> None:
        self.records.append(violation)


class ViolationKeeper(Protocol):
    async def keep(self, violation: Violation) -> None: ...


@dataclass
class InlineKeeper:
    """A `ViolationLog` in memory (streams.feedback.stores) as a keeper: nothing to wait for."""

    log: ViolationLog

    async def keep(self, violation: Violation) -> None:
        self.log.keep(violation)


class KeptViolationSink:
    def __init__(self, sink: ViolationSink, keeper: ViolationKeeper) -> None:
        self.sink = sink
        self.keeper = keeper

    async def send(self, violation: Violation) -> None:
        await retry_forever(lambda: self.keeper.keep(violation), "redis")  # Redis down: wait, do not skip
        await self.sink.send(violation)
