"""The benchmark's measurements, each from outside the process measured.

- `watch_group`: throughput of a consumer group, from the workers' /metrics (first event
  consumed) to the group's committed offsets (everything processed and its output flushed).
- `raw_rate`: a plain confluent-kafka consumer over the same partitions, for context.
- `stream_latency`: produce a stream of mix events with probes among them at a fixed rate, read
  the violations topic, and take the time from each probe's produce call to the arrival of its
  violation (one process, one clock).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from agents.connect.kafka import producer_config, reader_config
from agents.connect.offsets import end_offsets
from topics.catalog import VIOLATIONS

Ends = dict[tuple[str, int], int]


class BenchError(RuntimeError):
    pass


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class GroupRun:
    events: int  # input events processed inside the measured window
    window_s: float
    startup_s: float  # from the worker start to its first consumed event (imports, group join)
    drain_s: float  # from the input committed to the internal topics committed
    cpu_s: float  # CPU time of the watched processes inside the window

    @property
    def rate(self) -> float:
        return self.events / self.window_s if self.window_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {
            "events_per_s": round(self.rate, 1),
            "events_in_window": self.events,
            "window_s": round(self.window_s, 3),
            "startup_to_first_event_s": round(self.startup_s, 2),
            "internal_topics_drain_s": round(self.drain_s, 3),
            "worker_cpu_s": round(self.cpu_s, 2),
            "worker_cpu_per_1k_events_ms": round(1000 * 1000 * self.cpu_s / self.events, 1)
            if self.events
            else None,
        }


def consumed_events(ports: Iterable[int]) -> int:
    """`qunguard_events_total` summed over the workers' /metrics (input records consumed)."""
    total = 0.0
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            for line in reply.read().decode().splitlines():
                if line.startswith("qunguard_events_total{"):
                    total += float(line.rsplit(" ", 1)[1])
    return int(total)


class _Committed:
    """A group's committed offsets, read without joining the group."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self.consumer = Consumer(reader_config(bootstrap, "qunguard-bench", group))

    def reached(self, ends: Ends) -> bool:
        tps = [TopicPartition(t, p) for (t, p), end in ends.items() if end > 0]
        found = self.consumer.committed(tps, timeout=10) if tps else []
        return all(tp.offset >= ends[(tp.topic, tp.partition)] for tp in found)

    def close(self) -> None:
        self.consumer.close()


def watch_group(
    bootstrap: str,
    group: str,
    ends: Ends,
    internal: list[str],
    ports: list[int],
    pids: Callable[[], Iterable[int]],
    alive: Callable[[], bool],
    timeout: float,
) -> GroupRun:
    """Time one group over the events in `ends`, from outside its processes.

    Start: the first /metrics sample (every 20 ms) showing an input event consumed. End: the group
    has committed every input partition to its end, and then every `internal` topic (the worker's
    repartition and employee topics) to its end, until no internal topic grew meanwhile. Faust
    commits an offset only after the records produced for it are flushed, so a committed input
    offset means its output is out.
    """
    total = sum(ends.values())
    committed = _Committed(bootstrap, group)
    started = time.monotonic()

    def check(what: str) -> None:
        if not alive():
            raise BenchError(f"a worker exited before {what}")
        if time.monotonic() - started > timeout:
            raise BenchError(f"group {group}: no {what} after {timeout:.0f}s")

    try:
        while True:
            with contextlib.suppress(OSError):  # the web server is not up yet
                seen = consumed_events(ports)
                if seen > 0:
                    break
            check("first event")
            time.sleep(0.02)
        first, cpu_first = time.monotonic(), sum(cpu_seconds(pid) for pid in pids())
        while not committed.reached(ends):
            check("commit of every input event")
            time.sleep(0.05)
        inputs_done = time.monotonic()
        # Internal topics feed each other (group → sender → employee), so wait until a pass
        # finds no record written after the ends it waited for.
        internal_ends: Ends = {}
        while internal:
            latest = end_offsets(bootstrap, internal)
            if latest == internal_ends:
                break
            internal_ends = latest
            while not committed.reached(internal_ends):
                check("commit of the internal topics")
                time.sleep(0.05)
        last = time.monotonic()
        cpu = sum(cpu_seconds(pid) for pid in pids())
        return GroupRun(total - seen, last - first, first - started, last - inputs_done, cpu - cpu_first)
    finally:
        committed.close()


def records_written(bootstrap: str, prefix: str) -> dict[str, int]:
    """Records in every topic whose name starts with `prefix` (a group's internal and changelog topics)."""
    consumer = Consumer(reader_config(bootstrap, "qunguard-bench-topics"))
    try:
        names = sorted(t for t in consumer.list_topics(timeout=10).topics if t.startswith(prefix))
    finally:
        consumer.close()
    ends = end_offsets(bootstrap, names) if names else {}
    return {name: sum(end for (t, _p), end in ends.items() if t == name) for name in names}


def raw_rate(bootstrap: str, ends: Ends, timeout: float = 120.0) -> dict:
    """A plain confluent-kafka Consumer reading every record of `ends` (assigned, no group join)."""
    total = sum(ends.values())
    consumer = Consumer(reader_config(bootstrap, "qunguard-bench-raw"))
    consumer.assign([TopicPartition(t, p, 0) for (t, p) in ends])
    seen, first, last = 0, 0.0, 0.0
    deadline = time.monotonic() + timeout
    try:
        while seen < total and time.monotonic() < deadline:
            batch = consumer.consume(1000, timeout=0.5)
            got = sum(1 for msg in batch if not msg.error())
            if got:
                last = time.perf_counter()
                first = first or last
                seen += got
    finally:
        consumer.close()
    window = last - first
    return {
        "events_per_s": round(seen / window, 1) if window > 0 else None,
        "events": seen,
        "window_s": round(window, 3),
        "method": "confluent-kafka Consumer assigned to every input partition from offset 0, "
        "consume(1000) batches, values not decoded; events / time between the first and last batch",
    }


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class _ViolationReader(threading.Thread):
    """Reads the violations topic from its current end and notes when each probe's violation lands."""

    def __init__(self, bootstrap: str, probes: set[str]) -> None:
        super().__init__(daemon=True)
        self.probes = probes
        self.arrived: dict[str, float] = {}
        self.stopping = threading.Event()
        # Tansu answers a waiting fetch only when its wait is over, not when records arrive, so
        # with librdkafka's 500 ms wait the reader itself added up to ~300 ms to every probe.
        wait = {"fetch.wait.max.ms": 10}
        self.consumer = Consumer(reader_config(bootstrap, "qunguard-bench-latency", **wait))
        starts = end_offsets(bootstrap, [VIOLATIONS.name])
        self.consumer.assign([TopicPartition(t, p, off) for (t, p), off in starts.items()])

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                for msg in self.consumer.consume(500, timeout=0.05):
                    if msg.error():
                        continue
                    now = time.perf_counter()
                    for event_id in orjson.loads(msg.value())["source_event_ids"]:
                        if event_id in self.probes:
                            self.arrived.setdefault(event_id, now)
        finally:
            self.consumer.close()


def stream_latency(bootstrap: str, rate: float, stream: Sequence[tuple[Any, str | None]]) -> dict:
    """Produce `stream` at `rate` records per second; latency = probe's violation arrival − its
    produce call.

    `stream` holds (record, probe event id or None); a record has `topic`, `key` and `value`, and
    every probe yields a violation naming its event id.
    """
    probes = {probe for _record, probe in stream if probe}
    if not probes:
        raise BenchError("the latency stream holds no probe")
    reader = _ViolationReader(bootstrap, probes)
    reader.start()
    producer = Producer(producer_config(bootstrap, "qunguard-bench-latency"))
    sent: dict[str, float] = {}
    try:
        time.sleep(1.0)  # let the reader's first fetch go out before the first probe
        start = time.perf_counter()
        for seq, (record, probe) in enumerate(stream):
            delay = start + seq / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if probe:
                sent[probe] = time.perf_counter()
            while True:
                try:
                    producer.produce(record.topic, key=record.key, value=record.value)
                    break
                except BufferError:
                    producer.poll(0.01)
            producer.poll(0)
        produce_window = time.perf_counter() - start
        if producer.flush(30) != 0:
            raise BenchError("the latency stream was not all delivered")
        deadline = time.monotonic() + 60
        while len(reader.arrived) < len(probes) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        reader.stopping.set()
        reader.join(10)
    latencies = sorted(reader.arrived[e] - t for e, t in sent.items() if e in reader.arrived)
    if not latencies:
        raise BenchError("no violation arrived for any latency probe")
    ms = [1000 * x for x in latencies]
    achieved = len(stream) / produce_window if produce_window > 0 else None
    return {
        "rate_per_s": round(rate, 1),
        "achieved_rate_per_s": round(achieved, 1) if achieved else None,
        "events": len(stream),
        "probe_rate_per_s": round(rate * len(probes) / len(stream), 2),
        "achieved_probe_rate_per_s": round(achieved * len(probes) / len(stream), 2) if achieved else None,
        "window_s": round(produce_window, 3),
        "probes": len(probes),
        "violations_seen": len(latencies),
        "probes_measured": len(latencies),
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p90_ms": round(percentile(ms, 0.90), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "max_ms": round(ms[-1], 1),
    }
