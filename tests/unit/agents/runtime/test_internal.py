"""Both apps' internal topics from one builder: `<app id>-<name>`, the input topics' partitions."""

from __future__ import annotations

from agents.runtime.internal import internal_topic
from topics.catalog import DAY_MS, TopicSpec


def test_internal_topic_spec() -> None:
    config = {"retention.ms": str(7 * DAY_MS), "cleanup.policy": "delete"}
    assert internal_topic("qg", "recipient", "role|recipient") == TopicSpec(
        "qg-recipient", "role|recipient", 6, config
    )
