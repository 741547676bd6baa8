"""Prometheus metrics of the worker, served on /metrics (agents.worker.app), and the helpers that feed them.

Detector time is observed on every detector call (the engine times each call for
`detector_timer`), so it uses `LocalHistogram`: plain counters bumped in the event loop and turned
into a histogram only at scrape time (about 0.3 µs per observation instead of the ~3 µs of
prometheus_client's locked Histogram).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.core.detector import Calendared, Detector, DropsLate, Phase
from streams.feedback.apply import OUTCOMES
from topics.feedback import KINDS, VERDICTS
from topics.timeutil import parse_ts

EVENTS = Counter("qunguard_events_total", "Input records consumed", ["topic"])
DEAD_LETTERS = Counter(
    "qunguard_dead_letters_total", "Records routed to the dead-letter topic", ["topic", "stage"]
)
VIOLATIONS = Counter("qunguard_violations_total", "Violation records emitted", ["rule", "severity"])
DECODE_FAILURES = Counter(
    "qunguard_decode_failures_total",
    "Records that could not be decoded into an event",
    ["topic", "reason"],  # reason: empty | invalid | wrong_topic | size | key | event_time (admission)
)
DETECTION_LATENCY = Histogram(
    "qunguard_detection_latency_seconds",
    "From the event time of a violation's last source event to its emission",
    ["rule"],
    # Sweep-driven rules (deadlines, quiet hours) fire minutes to hours after the event.
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
TABLE_KEYS = Gauge("qunguard_table_keys", "Keys held by this worker in a detector state table", ["table"])
# Reviewers' feedback (agents.worker.feedback, docs/review.md)
FEEDBACK = Counter(
    "qunguard_feedback_total",
    "Feedback records decoded, by kind and outcome (streams.feedback.apply.OUTCOMES: applied,"
    " repeated, unknown_violation, or the refusal: own_violation, wrong_group, not_a_judge)",
    ["kind", "outcome"],
)
REVIEWED = Counter(
    "qunguard_reviewed_total",
    "Verdicts that set or changed a violation's judgement, per rule and verdict (confirmed,"
    " false_positive): precision as judged by reviewers is confirmed / both",
    ["rule", "verdict"],
)


def zero_series(rules: Iterable[str], dead_letters: Mapping[str, Iterable[str]]) -> None:
    """Export at 0 from the start the series a first occurrence would otherwise create at 1, which
    `rate()` and `increase()` never count (a series that appears at 1 has no increase), so the
    dashboard shows a one-off verdict or dead letter: REVIEWED per rule and verdict, FEEDBACK per
    kind and outcome, DEAD_LETTERS per topic and each of its stages in `dead_letters`."""
    for rule in rules:
        for verdict in sorted(VERDICTS):
            REVIEWED.labels(rule, verdict)
    for kind in sorted(KINDS):
        for outcome in OUTCOMES:
            FEEDBACK.labels(kind, outcome)
    for topic, stages in dead_letters.items():
        for stage in stages:
            DEAD_LETTERS.labels(topic, stage)


class LocalHistogram(Collector):
    """A histogram for hot paths: unlocked counters, collected at scrape time. Event-loop use only."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = tuple(float(b) for b in buckets)
        self._children: dict[tuple[str, ...], LocalHistogram.Child] = {}

    class Child:
        __slots__ = ("bounds", "counts", "sum")

        def __init__(self, bounds: tuple[float, ...]) -> None:
            self.bounds = bounds
            self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
            self.sum = 0.0

        def observe(self, value: float) -> None:
            self.counts[bisect.bisect_left(self.bounds, value)] += 1
            self.sum += value

    def labels(self, *values: str) -> LocalHistogram.Child:
        key = tuple(str(v) for v in values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = LocalHistogram.Child(self.bounds)
        return child

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        edges = [*(repr(b) for b in self.bounds), "+Inf"]
        for key, child in list(self._children.items()):
            total, buckets = 0, []
            for edge, count in zip(edges, list(child.counts), strict=True):
                total += count
                buckets.append((edge, total))
            family.add_metric(list(key), buckets, child.sum)
        yield family


DETECTOR_SECONDS = LocalHistogram(
    "qunguard_detector_seconds",
    "Time in one detector call, per detector, state partitioning and phase (detect or sweep)",
    ["detector", "partitioning", "phase"],
    buckets=(0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25),
)
REGISTRY.register(DETECTOR_SECONDS)


def detector_timer(detector: Detector, phase: Phase) -> Callable[[float], None]:
    """The `RuleEngine` timer (streams.core.detector.DetectorTimer): each call of `detector` in
    `phase` observed into DETECTOR_SECONDS."""
    return DETECTOR_SECONDS.labels(type(detector).__name__, detector.partition, phase).observe


def observe_detection(violation: Any, now: datetime | None = None) -> None:
    """Record event time → emission for one violation (its `event_ts` is the last source event's)."""
    now = now or datetime.now(UTC)
    try:
        seconds = (now - parse_ts(violation.event_ts)).total_seconds()
    except ValueError:
        return
    DETECTION_LATENCY.labels(violation.rule).observe(max(0.0, seconds))


def count_decode_failure(topic: str, reason: str) -> None:
    DECODE_FAILURES.labels(topic, reason).inc()


CALENDAR_FALLBACK_DAYS = Counter(
    "qunguard_calendar_fallback_days",
    "Distinct dates judged by weekly hours and operator dates only (chinesecalendar has no data)",
)


def watch_calendars(detectors: Iterable[object]) -> None:
    """Count the days a working calendar judged without statutory-holiday data (the calendar
    also logs it once per year), for every `Calendared` detector."""
    for detector in detectors:
        if isinstance(detector, Calendared):
            detector.calendar.on_fallback = lambda day: CALENDAR_FALLBACK_DAYS.inc()


def watch_table_sizes(tables: Mapping[str, Sized]) -> None:
    """Export len() of each table at scrape time, e.g. `app.detector_state.tables` (name → map);
    a Faust table counts the keys this worker holds, active and standby partitions."""
    for name, table in tables.items():
        TABLE_KEYS.labels(name).set_function(lambda table=table: len(table))


def install_faust_sensor(app: Any, prefix: str = "faust") -> None:
    """Faust's own Prometheus monitor (messages, commits, rebalances, per-partition offsets…)
    into the default registry, served by the worker's existing /metrics page. It costs about
    18 µs per message over Faust's default monitor (measured), so it is opt-in (QUNGUARD_FAUST_SENSOR).

    Its series are created once per process (the registry refuses duplicates), so several apps
    in one process (tests) share them.
    """
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    global _faust_metrics
    if _faust_metrics is None:
        _faust_metrics = FaustMetrics.create(REGISTRY, prefix)
    app.monitor = PrometheusMonitor(metrics=_faust_metrics)


_faust_metrics: Any = None


class LateEvents(Collector):
    """`qunguard_late_events_total{rule}`: events the behaviour rules ignored as late (behind the
    watermark by more than the out-of-order tolerance, docs/behaviour.md), read from the `DropsLate`
    detectors at scrape time; every such rule is exported from the start, at 0."""

    def __init__(self) -> None:
        self.detectors: list[DropsLate] = []

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "qunguard_late_events", "Events behaviour rules ignored as late, per rule", labels=["rule"]
        )
        totals: dict[str, int] = {}
        for detector in self.detectors:
            for rule in detector.rules:
                totals[rule] = totals.get(rule, 0) + detector.late.get(rule, 0)
        for rule, count in sorted(totals.items()):
            family.add_metric([rule], count)
        yield family


LATE_EVENTS = LateEvents()
REGISTRY.register(LATE_EVENTS)


def watch_late_events(detectors: Iterable[object]) -> None:
    """Export the late-event counts of these detectors (the worker's; the last app built wins)."""
    LATE_EVENTS.detectors = [d for d in detectors if isinstance(d, DropsLate)]
