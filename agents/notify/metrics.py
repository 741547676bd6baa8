"""Prometheus metrics of the notifier (`qunguard notify`), served on its /metrics."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from streams.notify.config import NotifyConfig

CONSUMED = Counter("qunguard_notify_violations_total", "Violation records the notifier consumed", ["rule"])
MESSAGES = Counter(
    "qunguard_notify_messages_total",
    "Messages made for recipients (before digests and dedupe)",
    ["role", "kind"],
)
DELIVERED = Counter("qunguard_notify_delivered_total", "Messages delivered", ["sink", "role", "kind"])
FAILED = Counter("qunguard_notify_failed_total", "Delivery attempts that failed", ["sink", "role"])
RETRIED = Counter("qunguard_notify_retried_total", "Delivery attempts that were a retry", ["sink", "role"])
DEAD_LETTERS = Counter(
    "qunguard_notify_dead_letters_total",
    "Records sent to moderation.notify.deadletter (stage decode: unreadable violation; deliver: gave up)",
    ["stage", "sink", "role"],
)
DUPLICATES = Counter(
    "qunguard_notify_duplicates_total",
    "Messages not sent because they were delivered before",
    ["sink", "role"],
)
DIGEST_ITEMS = Histogram(
    "qunguard_notify_digest_items", "Items per digest sent", ["role"], buckets=(1, 2, 3, 5, 10, 20, 50, 100)
)
LATENCY = Histogram(
    "qunguard_notify_delivery_latency_seconds",
    "From a violation's detected_at to its delivery (digests: the oldest item's)",
    ["sink", "kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
REVIEW_REQUESTS = Counter(
    "qunguard_notify_review_requests_total",
    "Requests to the review pages (outcome: shown, recorded, forged, expired, used, missing,"
    " bad_request, unavailable)",
    ["method", "outcome"],
)
PENDING = Gauge("qunguard_notify_digest_pending_items", "Items waiting in digests held by this notifier")


def watch_pending(count: Callable[[], float]) -> None:
    PENDING.set_function(count)


def zero_series(config: NotifyConfig) -> None:
    """Export at 0 from the start the delivery series of every sink and role in `config`, and the
    decode dead letters: `rate()` never counts the occurrence that creates a series at 1, so the
    dashboard would show 0 for a first failure or dead letter."""
    DEAD_LETTERS.labels("decode", "-", "-")
    for role in config.roles.values():
        for sink in role.sinks:
            for kind in ("notice", "digest"):
                DELIVERED.labels(sink, role.name, kind)
                LATENCY.labels(sink, kind)
            FAILED.labels(sink, role.name)
            RETRIED.labels(sink, role.name)
            DEAD_LETTERS.labels("deliver", sink, role.name)
