"""agents.worker.metrics: detector timing keeps engine results identical, and each helper feeds its series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY, generate_latest

from agents.worker.metrics import (
    LocalHistogram,
    count_decode_failure,
    detector_timer,
    observe_detection,
    watch_table_sizes,
)
from config import SAMPLE_DIR
from streams.core.detector import Calendared, Sweeper
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.detectors import build_detectors
from topics.codec import decode_event
from topics.reference import read_ledger, read_roster


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def run(detectors, policy, timer=None) -> list:
    engine = RuleEngine(
        policy,
        MemoryRoster(read_roster(SAMPLE_DIR / "roster.csv")),
        MemoryLedger(read_ledger(SAMPLE_DIR / "ledger.csv")),
        detectors,
        timer=timer,
    )
    found = []
    last = None
    for line in (SAMPLE_DIR / "events.jsonl").read_bytes().splitlines():
        if line.strip():
            last = decode_event(line)
            found.extend(engine.process(last))
    found.extend(engine.sweep(last.ts + timedelta(days=2)))
    return found


def test_timed_detectors_give_the_same_violations_and_are_measured() -> None:
    policy = load_policy()
    plain = build_detectors(policy)
    sweeper = next(d for d in plain if isinstance(d, Sweeper))

    def count(detector: object, phase: str) -> float:
        labels = {"detector": type(detector).__name__, "partitioning": detector.partition, "phase": phase}
        return sample("qunguard_detector_seconds_count", **labels)

    expected = run(plain, policy)
    assert expected  # the sample data has violations
    detected, swept = count(plain[0], "detect"), count(sweeper, "sweep")
    assert run(build_detectors(policy), policy, timer=detector_timer) == expected
    lines = (SAMPLE_DIR / "events.jsonl").read_bytes().splitlines()
    assert count(plain[0], "detect") - detected >= len([x for x in lines if x.strip()])  # once per event
    assert count(sweeper, "sweep") - swept == 1  # the run's end-of-sample sweep


def test_local_histogram_exposition() -> None:
    hist = LocalHistogram("test_local_seconds", "doc", ["k"], buckets=(0.1, 1.0))
    child = hist.labels("a")
    for value in (0.05, 0.1, 0.5, 3.0):
        child.observe(value)
    [family] = hist.collect()
    values = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    assert values[("test_local_seconds_bucket", "0.1")] == 2  # le is inclusive
    assert values[("test_local_seconds_bucket", "1.0")] == 3
    assert values[("test_local_seconds_bucket", "+Inf")] == 4
    assert values[("test_local_seconds_count", None)] == 4
    assert values[("test_local_seconds_sum", None)] == pytest.approx(3.65)


class Violationish:
    def __init__(self, rule: str, event_ts: str) -> None:
        self.rule, self.event_ts = rule, event_ts


def test_detection_latency_from_event_time() -> None:
    now = datetime(2026, 11, 23, 2, 0, 5, tzinfo=UTC)
    before = sample("qunguard_detection_latency_seconds_sum", rule="test.latency")
    observe_detection(Violationish("test.latency", "2026-11-23T10:00:00+08:00"), now)
    assert sample("qunguard_detection_latency_seconds_sum", rule="test.latency") - before == pytest.approx(
        5.0
    )
    observe_detection(Violationish("test.latency", "not a time"), now)  # ignored, never raises
    assert sample("qunguard_detection_latency_seconds_count", rule="test.latency") == 1


def test_decode_failures_and_table_sizes() -> None:
    before = sample("qunguard_decode_failures_total", topic="t.x", reason="invalid")
    count_decode_failure("t.x", "invalid")
    assert sample("qunguard_decode_failures_total", topic="t.x", reason="invalid") == before + 1

    table = {"a": 1, "b": 2}
    watch_table_sizes({"test-table": table})
    assert sample("qunguard_table_keys", table="test-table") == 2
    table["c"] = 3  # read at scrape time
    assert 'qunguard_table_keys{table="test-table"} 3.0' in generate_latest().decode()


def test_calendar_fallback_days_are_counted() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from agents.worker.metrics import CALENDAR_FALLBACK_DAYS, watch_calendars
    from streams.core.policy import load_policy
    from streams.detectors import build_detectors

    detectors = build_detectors(load_policy())
    watch_calendars(detectors)
    (hours,) = [d for d in detectors if isinstance(d, Calendared)]
    before = CALENDAR_FALLBACK_DAYS._value.get()
    shanghai = ZoneInfo("Asia/Shanghai")
    hours.calendar.is_working_time(datetime(2027, 1, 4, 10, tzinfo=shanghai), "g-x")
    hours.calendar.is_working_time(datetime(2027, 1, 4, 11, tzinfo=shanghai), "g-x")
    assert CALENDAR_FALLBACK_DAYS._value.get() == before + 1
