"""Prometheus counters shared by the worker's agents (served on /metrics by a later step)."""

from __future__ import annotations

from prometheus_client import Counter

EVENTS = Counter("qunguard_events_total", "Input records consumed", ["topic"])
DEAD_LETTERS = Counter(
    "qunguard_dead_letters_total", "Records routed to the dead-letter topic", ["topic", "stage"]
)
VIOLATIONS = Counter("qunguard_violations_total", "Violation records emitted", ["rule", "severity"])
RETRIES = Counter("qunguard_retries_total", "Retries of a dependency call", ["dependency"])
