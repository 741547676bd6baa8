"""Forwards to the repartition topics, batched: one record carries many forwarded events.

The group agent forwards most messages to the `sender` topic (and membership events to `member`),
one event per forward. Sent one by one, each forward is a produced record and, on the other side,
a consumed one: most of the Kafka records a worker handled per input event. `BatchingForwarder`
keeps the forwards for one destination partition in memory and sends them as one record, whose
value has one line per forwarded event:

    <JSON [routing key, source]> TAB <the event's JSON exactly as read>

(JSON text never holds a raw tab or newline, so the framing needs no escaping), with the header
`qg-batch: 1`. `unbatch` turns such a record back into one `RawRecord` per event, keyed by its
routing key and carrying its source in the `qg-source` header, which is what a single forward
looks like; the receiving agent handles both.

A batch to a partitioning judged in event-time order (`ordered`: the sender topic,
agents.worker.event_order) also carries each source's `Progress`, the line

    <JSON [null, source, newest event time judged or null, read to its end]> TAB

to every partition of it, behind the forwards it covers. `progress` takes a source's latest; it
goes out when the source's end flag changed, else at most every `PROGRESS_SECONDS`.

A batch goes out when it holds `max_events`, on a timer (`FLUSH_SECONDS`, from the app) and when a
commit starts (agents.runtime.commit): Faust computes the offsets it commits right after that call
and flushes the producer before committing them, so no input offset is committed before its
forwards are produced, as with forwards sent one by one. Partitionings outside `batched` (the
employee topic, whose records are violations with headers of their own) are sent one by one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from agents.runtime.records import RawRecord
from agents.runtime.tables import partition_of
from streams.core.state import Partition

BATCH_HEADER = "qg-batch"
SOURCE_HEADER = "qg-source"  # "<input topic>:<partition>" a forwarded event was read from
FLUSH_SECONDS = 0.01
MAX_EVENTS = 500
PROGRESS_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Progress:
    """A source partition's group agent has judged (and forwarded) everything up to `event_time`,
    and with `caught_up` has nothing more to read or judge."""

    source: str
    event_time: float | None  # None: nothing judged from it yet
    caught_up: bool


class BatchingForwarder:
    """`Moderator.forwarder` over the internal topics (Faust topics with `send` and `send_soon`)."""

    def __init__(
        self,
        topics: Mapping[Partition, Any],
        partitions: Mapping[Partition, int],
        batched: Iterable[Partition],
        max_events: int = MAX_EVENTS,
        ordered: Iterable[Partition] = (),
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.topics = topics
        self.partitions = partitions
        self.batched = frozenset(batched)
        self.max_events = max_events
        self.ordered = tuple(ordered)
        self.wall = wall
        self.pending: dict[tuple[Partition, int], list[bytes]] = {}
        self.latest: dict[str, Progress] = {}  # source → its newest report, not yet sent
        self.sent: dict[str, tuple[Progress, float]] = {}  # source → last report sent, and when

    async def send(self, partition: Partition, key: str, record: RawRecord) -> None:
        if partition not in self.batched:
            await self.topics[partition].send(
                key=key.encode("utf-8"), value=record.value, headers=record.headers
            )
            return
        destination = (partition, partition_of(key, self.partitions[partition]))
        lines = self.pending.setdefault(destination, [])
        lines.append(orjson.dumps([key, source_of(record)]) + b"\t" + (record.value or b""))
        if len(lines) >= self.max_events:
            self._send(destination)

    def progress(self, report: Progress) -> None:
        """Note a source's progress for the `ordered` partitionings (sent by `flush`)."""
        self.latest[report.source] = report

    def _add_progress(self) -> None:
        now = self.wall()
        for source, report in list(self.latest.items()):
            last = self.sent.get(source)
            if last is not None and (
                last[0] == report
                or (last[0].caught_up == report.caught_up and now - last[1] < PROGRESS_SECONDS)
            ):
                continue
            del self.latest[source]
            self.sent[source] = (report, now)
            line = orjson.dumps([None, source, report.event_time, report.caught_up]) + b"\t"
            for partition in self.ordered:
                for number in range(self.partitions[partition]):
                    self.pending.setdefault((partition, number), []).append(line)

    def flush(self) -> int:
        """Send every pending batch; return how many records that was."""
        self._add_progress()
        destinations = [d for d, lines in self.pending.items() if lines]
        for destination in destinations:
            self._send(destination)
        return len(destinations)

    def _send(self, destination: tuple[Partition, int]) -> None:
        partition, number = destination
        lines = self.pending.pop(destination)
        self.topics[partition].send_soon(
            key=None, value=b"\n".join(lines), partition=number, headers=[(BATCH_HEADER, b"1")]
        )


def source_name(topic: str, partition: int) -> str:
    """How a source partition is named in `qg-source` and in the watermarks (streams.core.watermark)."""
    return f"{topic}:{partition}"


def source_of(record: RawRecord) -> str:
    """Where a record's event was read from: its `qg-source` header, else its own topic partition."""
    for name, value in record.headers:
        if name == SOURCE_HEADER:
            return value.decode("utf-8", "replace")
    return source_name(record.topic, record.partition)


def unbatch(record: RawRecord) -> list[RawRecord | Progress]:
    """A batch record's forwarded events, one record each, and progress reports; any other record
    as it is. A line that cannot be split keeps its bytes whole, for the decoder to dead-letter."""
    if (BATCH_HEADER, b"1") not in record.headers or not record.value:
        return [record]
    found: list[RawRecord | Progress] = []
    for line in record.value.split(b"\n"):
        head, tab, event = line.partition(b"\t")
        try:
            fields = orjson.loads(head) if tab else None
        except orjson.JSONDecodeError:
            fields = None
        if isinstance(fields, list) and len(fields) == 4 and fields[0] is None and not event:
            _none, source, event_time, caught_up = fields
            if (
                isinstance(source, str)
                and isinstance(event_time, int | float | None)
                and isinstance(caught_up, bool)
            ):
                found.append(Progress(source, None if event_time is None else float(event_time), caught_up))
                continue
        key, source = fields if isinstance(fields, list) and len(fields) == 2 else (None, None)
        if not isinstance(key, str) or not isinstance(source, str):
            found.append(replace(record, key=None, value=line, headers=()))
            continue
        found.append(
            replace(record, key=key.encode("utf-8"), value=event, headers=((SOURCE_HEADER, source.encode()),))
        )
    return found
