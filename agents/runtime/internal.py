"""Internal topics: the ones a Faust app keeps for itself, named `<app id>-<name>` and created by the
app at start (agents.connect.admin.create_topics, idempotent). The worker repartitions detector
state through them (agents.worker.topology), the notifier its recipients (agents.notify.app)."""

from __future__ import annotations

from topics.catalog import DAY_MS, MESSAGES, TopicSpec

INTERNAL_PARTITIONS = MESSAGES.partitions  # the worker's group state is co-partitioned with its input


def internal_topic(app_id: str, name: str, key: str) -> TopicSpec:
    """`<app id>-<name>`, keyed by `key` (a description), kept 7 days."""
    config = {"retention.ms": str(7 * DAY_MS), "cleanup.policy": "delete"}
    return TopicSpec(f"{app_id}-{name}", key, INTERNAL_PARTITIONS, config)
