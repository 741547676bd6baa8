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

A batch goes out when it holds `max_events`, on a timer (`FLUSH_SECONDS`, from the app) and when a
commit starts (agents.runtime.commit): Faust computes the offsets it commits right after that call
and flushes the producer before committing them, so no input offset is committed before its
forwards are produced, as with forwards sent one by one. Partitionings outside `batched` (the
employee topic, whose records are violations with headers of their own) are sent one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import orjson

from agents.runtime.records import RawRecord
from agents.runtime.tables import partition_of
from streams.core.state import Partition

BATCH_HEADER = "qg-batch"
SOURCE_HEADER = "qg-source"  # "<input topic>:<partition>" a forwarded event was read from
FLUSH_SECONDS = 0.01
MAX_EVENTS = 500


class BatchingForwarder:
    """`Moderator.forwarder` over the internal topics (Faust topics with `send` and `send_soon`)."""

    def __init__(
        self,
        topics: Mapping[Partition, Any],
        partitions: Mapping[Partition, int],
        batched: Iterable[Partition],
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.topics = topics
        self.partitions = partitions
        self.batched = frozenset(batched)
        self.max_events = max_events
        self.pending: dict[tuple[Partition, int], list[bytes]] = {}

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

    def flush(self) -> int:
        """Send every pending batch; return how many records that was."""
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


def unbatch(record: RawRecord) -> list[RawRecord]:
    """A batch record's forwarded events, one record each; any other record as it is. A line
    that cannot be split keeps its bytes whole, for the decoder to dead-letter."""
    if (BATCH_HEADER, b"1") not in record.headers or not record.value:
        return [record]
    found = []
    for line in record.value.split(b"\n"):
        head, tab, event = line.partition(b"\t")
        try:
            key, source = orjson.loads(head) if tab else (None, None)
        except orjson.JSONDecodeError:
            key, source = None, None
        if not isinstance(key, str) or not isinstance(source, str):
            found.append(replace(record, key=None, value=line, headers=()))
            continue
        found.append(
            replace(record, key=key.encode("utf-8"), value=event, headers=((SOURCE_HEADER, source.encode()),))
        )
    return found
