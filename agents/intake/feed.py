"""`qunguard feed`: validate a JSONL file of input events and produce each good line to its topic.

The original line bytes go on the wire (not a re-encoding), keyed as SPEC §1 says (the event's
`group_id`, `employee_id` for roster events), so what the agents see is exactly what the file
holds and the worker's key check always passes. A line the worker would refuse (it does not decode,
or streams.core.admission refuses it: size, mentions, event time) is reported as `FILE:LINE:
reason` and skipped; the run goes on.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from confluent_kafka import KafkaError, Message, Producer
from tqdm import tqdm

from agents.connect.kafka import producer_config
from streams.core.admission import AdmissionLimits, check_line
from topics.catalog import topic_for_event
from topics.codec import DecodeError, decode_event

# Show a progress bar even when stderr is not a terminal once a file is this big.
LARGE_FILE_BYTES = 8 * 1024 * 1024
# Bound the time a record may wait for an unreachable broker, so a feed always ends.
DELIVERY_TIMEOUT_MS = 60_000
INTERRUPT_FLUSH_SECONDS = 10.0


@dataclass
class FeedSummary:
    sent: int = 0  # acknowledged by the broker
    rejected: int = 0  # failed validation, never produced
    failed: int = 0  # produced but not acknowledged
    per_topic: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        line = f"feed: {self.sent} sent, {self.rejected} rejected, {self.failed} failed"
        if self.per_topic:
            line += " (" + ", ".join(f"{t}: {n}" for t, n in sorted(self.per_topic.items())) + ")"
        return line

    @property
    def exit_status(self) -> int:
        """`qunguard feed`'s: 0 when every line went out, 1 when any was rejected or not delivered
        (the good lines were still sent)."""
        return 1 if self.rejected or self.failed else 0


def iter_lines(path: str | Path) -> Iterator[tuple[int, bytes, int]]:
    """Yield (line number, line without its line ending, raw size in bytes) for every line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            yield number, raw.rstrip(b"\r\n"), len(raw)


def feed_file(
    path: str | Path,
    bootstrap: str,
    progress: bool = True,
    errors: IO[str] | None = None,
    limits: AdmissionLimits | None = None,
) -> FeedSummary:
    """Produce every valid event in `path`; flush before returning (also when interrupted).
    `limits`: what the worker admits (default: the shipped policy's)."""
    errors = errors or sys.stderr
    limits = limits or AdmissionLimits()
    now = datetime.now(UTC)
    size = os.path.getsize(path)  # also: a missing file fails before anything connects
    summary = FeedSummary()
    producer = Producer(producer_config(bootstrap, "qunguard-feed", DELIVERY_TIMEOUT_MS / 1000))
    bar = _progress_bar(path, size, progress, errors)

    def report(message: str) -> None:
        if bar is not None:
            bar.write(message, file=errors)
        else:
            print(message, file=errors)

    def on_delivery(number: int):
        def callback(err: KafkaError | None, msg: Message) -> None:
            if err is None:
                summary.sent += 1
                summary.per_topic[msg.topic()] += 1
            else:
                summary.failed += 1
                report(f"{path}:{number}: not delivered to {msg.topic()}: {err.str()}")

        return callback

    try:
        for number, line, size in iter_lines(path):
            if bar is not None:
                bar.update(size)
            if not line.strip():
                continue
            try:
                event = decode_event(line)
            except DecodeError as exc:
                summary.rejected += 1
                report(f"{path}:{number}: {exc}")
                continue
            refusal = check_line(event, line, limits, now)
            if refusal is not None:
                summary.rejected += 1
                report(f"{path}:{number}: {refusal}")
                continue
            _produce(producer, topic_for_event(event).name, event.key.encode(), line, on_delivery(number))
    except KeyboardInterrupt:
        _finish(producer, summary, INTERRUPT_FLUSH_SECONDS)
        report(f"interrupted; {summary.summary()}")
        raise
    finally:
        if bar is not None:
            bar.close()
    _finish(producer, summary, None)
    return summary


def _produce(producer: Producer, topic: str, key: bytes, value: bytes, callback) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=callback)
            break
        except BufferError:  # local queue full: serve delivery reports until there is room
            producer.poll(0.5)
    producer.poll(0)


def _finish(producer: Producer, summary: FeedSummary, timeout: float | None) -> None:
    """Flush; whatever is still unacknowledged afterwards counts as failed."""
    remaining = producer.flush() if timeout is None else producer.flush(timeout)
    summary.failed += remaining


def _progress_bar(path: str | Path, size: int, progress: bool, errors: IO[str]) -> tqdm | None:
    if not progress:
        return None
    if not (_isatty(errors) or size >= LARGE_FILE_BYTES):
        return None
    return tqdm(total=size, unit="B", unit_scale=True, desc=Path(path).name, file=errors, leave=False)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
