"""Offsets as the broker really has them.

`end_offsets` reads each partition to its end (partition EOF is reported at the fetch high
watermark), because the embedded broker's ListOffsets(latest) answers the base offset of the last
batch + 1 after batched produce. On Apache Kafka both agree; reading is bounded by the data size,
so this is for dev, tests and small topics, not for lag monitoring of production topics.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, TopicPartition

from agents.clients import reader_config


def _consumer(bootstrap: str, group: str | None = None) -> Consumer:
    return Consumer(reader_config(bootstrap, "qunguard-probe", group, **{"enable.partition.eof": True}))


def partitions(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> list[TopicPartition]:
    consumer = _consumer(bootstrap)
    try:
        meta = consumer.list_topics(timeout=timeout)
        found = []
        for topic in topics:
            if topic in meta.topics:
                found.extend(TopicPartition(topic, p) for p in sorted(meta.topics[topic].partitions))
        return found
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topics: Iterable[str], timeout: float = 30.0) -> dict[tuple[str, int], int]:
    """The next offset to be written in every partition of `topics`, read at partition EOF."""
    tps = partitions(bootstrap, topics)
    consumer = _consumer(bootstrap)
    ends: dict[tuple[str, int], int] = {}
    try:
        consumer.assign([TopicPartition(tp.topic, tp.partition, 0) for tp in tps])
        deadline = time.monotonic() + timeout
        while len(ends) < len(tps):
            if time.monotonic() > deadline:
                missing = sorted({(tp.topic, tp.partition) for tp in tps} - ends.keys())
                raise TimeoutError(f"no end of partition seen for {missing}")
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error() and msg.error().code() == KafkaError._PARTITION_EOF:
                    ends[(msg.topic(), msg.partition())] = msg.offset()
        return ends
    finally:
        consumer.close()


def committed_offsets(
    bootstrap: str, group: str, tps: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """The group's committed offsets (-1001 where it has none). Does not join the group."""
    consumer = _consumer(bootstrap, group)
    try:
        found = consumer.committed([TopicPartition(t, p) for t, p in tps], timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in found}
    finally:
        consumer.close()


def caught_up(bootstrap: str, group: str, ends: dict[tuple[str, int], int]) -> bool:
    """Has `group` committed every partition up to `ends` (partitions with data only)?"""
    wanted = {tp: end for tp, end in ends.items() if end > 0}
    if not wanted:
        return True
    committed = committed_offsets(bootstrap, group, wanted)
    return all(committed.get(tp, -1) >= end for tp, end in wanted.items())
