"""`qunguard bench`: one JSON document with the worker's figures, all from one run on the embedded
broker (Tansu) and redis-server.

Order: produce N seeded events once; read them with a plain confluent-kafka consumer; a no-op
Faust worker (agents.bench.noop) in a fresh group; the real worker (`qunguard worker`, every
detector on) as two processes in one fresh group, then as one process in another; with that one
still running, the mix continued at half its measured capacity with latency probes among it; then
the content engine's own figures (agents.bench.content). Workers are real subprocesses configured through the same environment
variables (agents.connect.settings) as production; docs/bench.md explains each figure.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from confluent_kafka import Producer

from agents.bench.events import VIOLATION_SHARE, BenchRecord, generate, latency_stream
from agents.bench.measure import (
    BenchError,
    GroupRun,
    raw_rate,
    records_written,
    stream_latency,
    watch_group,
)
from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config
from agents.connect.offsets import end_offsets
from agents.connect.settings import Settings
from agents.dev.embedded import Service, embedded_stack, free_port, worker
from agents.intake.loaders import load_ledger, load_roster
from agents.worker.topology import Topology
from config import SAMPLE_DIR
from streams.core.state import PARTITIONS
from topics.catalog import INPUT_TOPICS, VIOLATIONS

DEFAULT_EVENTS = 20_000
QUICK_EVENTS = 2_000
PIPELINE_TARGET_RATIO = 0.75
P99_TARGET_MS = 250.0
# Probes replace the mix's own violations in the latency stream, so its violation share is the
# mix's (2 %): the load is the one whose capacity was measured.
PROBE_EVERY = round(1 / VIOLATION_SHARE)
THROUGHPUT_METHOD = (
    "input events / window; the window opens at the first /metrics sample (every 20 ms) whose "
    "qunguard_events_total is above 0 (events already counted then are left out) and closes when "
    "the group has committed every input partition to its end and then every internal "
    "(repartition and employee) topic to its end, until none grew meanwhile, read from outside "
    "the workers; Faust commits an offset only after flushing what was produced for it. Startup "
    "and group join are excluded"
)


def machine_facts() -> dict[str, Any]:
    try:
        importlib.import_module("uvloop")
        uvloop_installed = True
    except ImportError:
        uvloop_installed = False
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "uvloop_installed": uvloop_installed,
        # what agents.runtime.app.use_event_loop picks in the workers and the no-op baseline
        "worker_event_loop": "uvloop"
        if uvloop_installed and os.environ.get("QUNGUARD_EVENT_LOOP", "uvloop") == "uvloop"
        else "asyncio",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def violations_written(bootstrap: str) -> int:
    """Records on the violations topic so far (every group's)."""
    return sum(end_offsets(bootstrap, [VIOLATIONS.name]).values())


def produce(bootstrap: str, records: list[BenchRecord]) -> dict[str, Any]:
    producer = Producer(producer_config(bootstrap, "qunguard-bench"))
    failed: list[str] = []
    start = time.perf_counter()
    for record in records:
        while True:
            try:
                producer.produce(
                    record.topic, key=record.key, value=record.value,
                    on_delivery=lambda err, _msg: err and failed.append(str(err)),
                )  # fmt: skip
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120) != 0 or failed:
        raise BenchError(f"producing the bench events failed: {failed[:3]}")
    window = time.perf_counter() - start
    return {
        "events": len(records),
        "window_s": round(window, 3),
        "events_per_s": round(len(records) / window, 1),
    }


def noop_worker(workdir: Path, env: dict[str, str], name: str) -> Service:
    service = worker(workdir, env, name)
    service.argv = [sys.executable, "-m", "agents.bench.noop"]
    return service


@contextlib.contextmanager
def running(workdir: Path, settings: Settings, kind: str, processes: int) -> Iterator[list[Service]]:
    """`processes` worker subprocesses of one group (`kind`: "pipeline" or "noop"), stopped on exit."""
    make = worker if kind == "pipeline" else noop_worker
    services = [
        make(workdir, {**settings.env(), "QUNGUARD_WEB_PORT": str(free_port())}, f"{settings.app_id}-{n}")
        for n in range(processes)
    ]
    try:
        for service in services:
            service.start()
        yield services
    finally:
        for service in services:
            service.stop()


def measure(
    bootstrap: str, settings: Settings, kind: str, services: list[Service], ends, timeout: float
) -> GroupRun:
    topology = Topology(settings.app_id)
    partitions = (*PARTITIONS, "employee")  # the ladder's topic too: its work is in the window
    internal = [topology.internal(p).name for p in partitions] if kind == "pipeline" else []
    try:
        return watch_group(
            bootstrap, settings.app_id, ends, internal,
            ports=[int(s.env["QUNGUARD_WEB_PORT"]) for s in services if s.env],
            pids=lambda: [s.proc.pid for s in services if s.proc],
            alive=lambda: all(s.running for s in services),
            timeout=timeout,
        )  # fmt: skip
    except BenchError as exc:
        tails = "\n".join(f"--- {s.name}\n{s.log_excerpt()}" for s in services)
        raise BenchError(f"{exc}\n{tails}") from None


def content_section(quick: bool) -> dict[str, Any]:
    try:
        module = importlib.import_module("agents.bench.content")
    except ModuleNotFoundError as exc:
        if exc.name != "agents.bench.content":
            raise
        return {"skipped": "agents.bench.content not available"}
    return module.run(seconds=0.4, repeats=3) if quick else module.run(seconds=2.0, repeats=5)


def run_bench(
    events: int = DEFAULT_EVENTS,
    quick: bool = False,
    seed: int = 7,
    latency_seconds: float | None = None,
    workdir: str | Path | None = None,
    log: TextIO = sys.stderr,
) -> dict[str, Any]:
    def say(text: str) -> None:
        print(f"bench: {text}", file=log, flush=True)

    latency_seconds = latency_seconds if latency_seconds is not None else (5.0 if quick else 20.0)
    began = time.monotonic()
    doc: dict[str, Any] = {
        "qunguard_bench": 1,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_facts(),
    }
    records = generate(events, seed)
    doc["input"] = {
        "events": len(records),
        "seed": seed,
        "per_topic": {t.name: sum(r.topic == t.name for r in records) for t in INPUT_TOPICS},
        "mix": "config/sample/events.jsonl at scale (agents/bench/events.py): work-talk messages of "
        "40-120 Chinese characters, ~2% violating, ~10% membership events, sample roster and ledger",
    }
    run_id = uuid.uuid4().hex[:6]
    with embedded_stack(workdir) as stack:
        settings = Settings(
            kafka_bootstrap=stack.bootstrap, redis_url=stack.redis_url, session_timeout=10.0,
            max_poll_interval=60.0, commit_interval=1.0,
        )  # fmt: skip
        doc["settings"] = {
            "session_timeout": settings.session_timeout,
            "max_poll_interval": settings.max_poll_interval,
            "commit_interval": settings.commit_interval,
            "note": "production defaults otherwise (agents/connect/settings.py); a short session keeps Tansu "
            "group joins quick, a short commit interval sharpens the end of the measured window",
        }
        create_topics(stack.bootstrap)
        load_ledger(SAMPLE_DIR / "ledger.csv", settings)
        load_roster(SAMPLE_DIR / "roster.csv", settings, publish=False)
        say(f"producing {len(records)} events")
        doc["produce"] = produce(stack.bootstrap, records)
        ends = end_offsets(stack.bootstrap, [t.name for t in INPUT_TOPICS])
        timeout = max(120.0, len(records) / 50)

        say("raw confluent-kafka consumer")
        doc["raw_consumer"] = raw_rate(stack.bootstrap, ends)

        runs: dict[str, GroupRun] = {}
        for label, kind, processes in (
            ("noop", "noop", 1),
            ("pipeline_2", "pipeline", 2),
            ("pipeline", "pipeline", 1),
        ):
            group = replace(settings, app_id=f"qg-bench-{label}-{run_id}")
            say(f"{label}: {processes} {kind} worker process(es), group {group.app_id}")
            with running(stack.workdir, group, kind, processes) as services:
                before = violations_written(stack.bootstrap) if label == "pipeline" else 0
                runs[label] = measure(stack.bootstrap, group, kind, services, ends, timeout)
                say(f"{label}: {runs[label].rate:.0f} events/s")
                if label == "pipeline":
                    written = records_written(stack.bootstrap, f"{group.app_id}-")
                    after = violations_written(stack.bootstrap)
                    share = (after - before) / len(records)
                    rate = runs[label].rate / 2
                    stream = latency_stream(
                        max(PROBE_EVERY, int(rate * latency_seconds)), first=len(records),
                        probe_every=PROBE_EVERY, seed=seed + 1, prefix=f"probe{run_id}",
                    )  # fmt: skip
                    say(f"latency: {len(stream)} mix events at {rate:.0f}/s, 1 in {PROBE_EVERY} a probe")
                    doc["latency"] = stream_latency(stack.bootstrap, rate, stream)
                    latency_share = (violations_written(stack.bootstrap) - after) / len(stream)
                    doc["latency"]["violations_per_record"] = round(latency_share, 4)
                    if not all(s.running for s in services):
                        raise BenchError("the pipeline worker exited during the latency probes")

        noop, pipeline, two = runs["noop"], runs["pipeline"], runs["pipeline_2"]
        doc["noop_agent"] = {**noop.as_dict(), "method": THROUGHPUT_METHOD}
        doc["pipeline"] = {
            **pipeline.as_dict(),
            "method": THROUGHPUT_METHOD,
            # The load the latency phase must repeat (its `violations_per_record`), discipline steps included.
            "violations_per_input_event": round(share, 4),
            # What the worker writes besides violations, per input event: repartition forwards,
            # ticks and table changelogs (each also a produce request, and internal ones a fetch).
            "records_written_per_input_event": {
                topic.removeprefix(f"qg-bench-pipeline-{run_id}-"): round(n / len(records), 3)
                for topic, n in written.items()
                if n
            },
        }
        ratio = pipeline.rate / noop.rate if noop.rate else None
        doc["pipeline_over_noop"] = {
            "ratio": round(ratio, 3) if ratio is not None else None,
            "target": PIPELINE_TARGET_RATIO,
            "meets_target": ratio is not None and ratio >= PIPELINE_TARGET_RATIO,
        }
        doc["latency"].update(
            {
                "method": "one worker process, caught up; the bench's mix continued (fresh event ids, "
                f"event times after the consumed ones) at half the measured pipeline rate, 1 in {PROBE_EVERY} "
                "records a probe (a content.gambling violation, senders and groups rotating) in place of "
                "the mix's own violations, so the violation share is the mix's; latency, probes only = "
                "arrival of the probe's violation at a confluent-kafka consumer on moderation.violations "
                "(fetch.wait.max.ms 10) − the produce() call, same process and clock",
                "probe_every": PROBE_EVERY,
                "target_p99_ms": P99_TARGET_MS,
                "meets_target": doc["latency"]["p99_ms"] <= P99_TARGET_MS,
            }
        )
        doc["workers"] = {
            "one_process_events_per_s": round(pipeline.rate, 1),
            "two_processes": two.as_dict(),
            "speedup": round(two.rate / pipeline.rate, 3) if pipeline.rate else None,
            "method": "two `qunguard worker` processes started together in one fresh group over the "
            "same events; " + THROUGHPUT_METHOD,
        }
    say("content engine")
    doc["content"] = content_section(quick)
    doc["duration_s"] = round(time.monotonic() - began, 1)
    return doc
