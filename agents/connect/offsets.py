"""Offsets as the broker really has them.

`end_offsets` takes each partition's end from a fetch's high watermark
(`agents.connect.group_offsets.GroupOffsets`), because the embedded broker's ListOffsets(latest) answers
the base offset of the last batch + 1 after batched produce. On Apache Kafka both agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition

from agents.connect.group_offsets import GroupOffsets
from agents.connect.kafka import reader_config


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
    """The next offset to be written in every partition of `topics`."""
    tps = partitions(bootstrap, topics)
    source = GroupOffsets(bootstrap, timeout=timeout)
    try:
        return source.end_offsets((tp.topic, tp.partition) for tp in tps)
    finally:
        source.close()


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
