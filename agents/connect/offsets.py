"""Offsets as the broker really has them: log-end offsets, a group's committed offsets and
membership, read from outside the group.

`GroupOffsets` keeps long-lived admin and reader clients, so `qunguard lag --watch/--serve` and the
worker's table recovery (agents.runtime.transport) can sample often; the functions below it open
short-lived clients for one answer (dev, bench and tests).

Log-end offsets come one of two ways (`EndOffsets`):

* `list-offsets`: ListOffsets(latest), one request per partition. Exact on Apache Kafka; on the
  embedded Tansu broker it answers the base offset of the last batch + 1 after batched produce,
  so it under-reports lag there.
* `watermark` (the default): the high watermark of a fetch. Each partition is fetched from one
  record before the ListOffsets answer, so only the last batch is read; partition EOF is
  reported at the fetch's high watermark. Exact on both brokers, at the cost of one fetch.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from agents.connect.kafka import connection, reader_config

TP = tuple[str, int]


class EndOffsets(enum.StrEnum):
    WATERMARK = "watermark"
    LIST_OFFSETS = "list-offsets"


class OffsetReadError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Membership:
    state: str  # STABLE, EMPTY, PREPARING_REBALANCE, … as the broker reports it
    members: int | None


class GroupOffsets:
    """Long-lived admin and reader clients against one cluster. Call `close()` when done."""

    def __init__(self, bootstrap: str, method: EndOffsets = EndOffsets.WATERMARK, timeout: float = 15.0):
        self.method = EndOffsets(method)
        self.timeout = timeout
        self.admin = AdminClient(connection(bootstrap, "qunguard-lag"))
        # Never subscribes or commits: the group id is only required by librdkafka.
        self._reader = Consumer(reader_config(bootstrap, "qunguard-lag", **{"enable.partition.eof": True}))

    def close(self) -> None:
        self._reader.close()

    def committed(self, group: str) -> dict[TP, int]:
        """Every partition `group` has committed an offset for (OffsetFetch of all topics)."""
        self.admin.poll(0)  # librdkafka's log lines wait in the client until polled (agents.connect.kafka)
        future = self.admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
        found = _result(future, self.timeout, f"committed offsets of {group!r}")
        return {(tp.topic, tp.partition): tp.offset for tp in found.topic_partitions if tp.offset >= 0}

    def membership(self, group: str) -> Membership:
        """The group's state and member count (None where the broker cannot say)."""
        try:
            found = _result(self.admin.describe_consumer_groups([group])[group], self.timeout, group)
        except OffsetReadError:
            return Membership("UNKNOWN", None)
        state = found.state.name if found.state is not None else "UNKNOWN"
        if found.members:
            return Membership(state, len(found.members))
        # An empty or dead group has no members; Tansu lists none for an active group either.
        return Membership(state, 0 if state in ("EMPTY", "DEAD") else None)

    def end_offsets(self, tps: Iterable[TP]) -> dict[TP, int]:
        tps = sorted(set(tps))
        if not tps:
            return {}
        listed = self._list_offsets(tps)
        if self.method is EndOffsets.LIST_OFFSETS:
            return listed
        return self.watermarks(listed)

    def _list_offsets(self, tps: list[TP]) -> dict[TP, int]:
        """ListOffsets(latest), one partition at a time, asked by the reader (librdkafka's query of
        watermarks sends that request). Not the admin client's `list_offsets`: its call died of a
        segmentation fault inside confluent-kafka, now and then, in clean-clone test runs against
        Tansu (README, the CI row; docs/bench.md, thirty-fifth session)."""
        found: dict[TP, int] = {}
        for t, p in tps:
            try:
                marks = self._reader.get_watermark_offsets(
                    TopicPartition(t, p), timeout=self.timeout, cached=False
                )
            except KafkaException as exc:
                raise OffsetReadError(f"ListOffsets of {t}[{p}]: {exc}") from exc
            if marks is None:
                raise OffsetReadError(f"ListOffsets of {t}[{p}]: no answer within {self.timeout:.0f}s")
            found[(t, p)] = marks[1]
        return found

    def watermarks(self, listed: dict[TP, int]) -> dict[TP, int]:
        # Start one record early: a fetch inside the last batch returns the whole batch, and
        # an offset below the log start falls back to the earliest record (auto.offset.reset).
        self._reader.assign([TopicPartition(t, p, max(0, end - 1)) for (t, p), end in listed.items()])
        ends: dict[TP, int] = {}
        last_error = ""
        deadline = time.monotonic() + self.timeout
        try:
            while len(ends) < len(listed):
                if time.monotonic() > deadline:
                    missing = sorted(listed.keys() - ends.keys())
                    raise OffsetReadError(
                        f"no partition EOF within {self.timeout:.0f}s for {missing} {last_error}"
                    )
                for msg in self._reader.consume(1000, timeout=0.2):
                    err = msg.error()
                    if err is None:
                        continue
                    if err.code() == KafkaError._PARTITION_EOF:
                        ends[(msg.topic(), msg.partition())] = msg.offset()
                    else:  # transport errors are retried by the client until the deadline
                        last_error = f"(last error: {err.str()})"
        finally:
            self._reader.unassign()
        return ends


def _result(future, timeout: float, what: str):
    try:
        return future.result(timeout=timeout)
    except Exception as exc:  # KafkaException, or TimeoutError from concurrent.futures
        raise OffsetReadError(f"{what}: {exc}") from exc


# One answer each, with a short-lived client


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


def end_offsets(bootstrap: str, topics: Iterable[str], timeout: float = 30.0) -> dict[TP, int]:
    """The next offset to be written in every partition of `topics`."""
    tps = partitions(bootstrap, topics)
    source = GroupOffsets(bootstrap, timeout=timeout)
    try:
        return source.end_offsets((tp.topic, tp.partition) for tp in tps)
    finally:
        source.close()


def committed_offsets(bootstrap: str, group: str, tps: Iterable[TP]) -> dict[TP, int]:
    """The group's committed offsets (-1001 where it has none). Does not join the group."""
    consumer = _consumer(bootstrap, group)
    try:
        found = consumer.committed([TopicPartition(t, p) for t, p in tps], timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in found}
    finally:
        consumer.close()


def caught_up(bootstrap: str, group: str, ends: dict[TP, int]) -> bool:
    """Has `group` committed every partition up to `ends` (partitions with data only)?"""
    wanted = {tp: end for tp, end in ends.items() if end > 0}
    if not wanted:
        return True
    committed = committed_offsets(bootstrap, group, wanted)
    return all(committed.get(tp, -1) >= end for tp, end in wanted.items())
