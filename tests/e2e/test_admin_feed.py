"""Topic creation and `qunguard feed` against the session's real Tansu broker."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from agents.connect.admin import create_topics, wait_for_topics
from agents.connect.kafka import reader_config
from agents.intake.feed import feed_file
from topics.catalog import CATALOG, MEMBERSHIP, MESSAGES, ROSTER

TS = "2026-11-23T09:15:02+08:00"


def consume_all(bootstrap: str, topic: str, want: set[str], deadline_s: float = 30.0) -> dict[str, tuple]:
    """Read `topic` from the beginning until every event_id in `want` is seen; {event_id: (key, value, partition)}."""
    consumer = Consumer(reader_config(bootstrap, f"test-{topic}"))
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        found: dict[str, tuple] = {}
        deadline = time.monotonic() + deadline_s
        while not want <= found.keys() and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            try:  # other tests leave poison records on the shared broker's input topics
                event_id = orjson.loads(msg.value() or b"null").get("event_id")
            except (orjson.JSONDecodeError, AttributeError):
                continue
            if event_id in want:
                found[event_id] = (msg.key(), msg.value(), msg.partition())
        return found
    finally:
        consumer.close()


def test_create_topics_is_idempotent(bootstrap: str, unique: str) -> None:
    catalog = tuple(replace(spec, name=f"{unique}.{spec.name}") for spec in CATALOG)

    assert create_topics(bootstrap, catalog) == {spec.name: "created" for spec in catalog}
    assert create_topics(bootstrap, catalog) == {spec.name: "exists" for spec in catalog}

    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = admin.list_topics(timeout=10).topics
    for spec in catalog:
        assert len(topics[spec.name].partitions) == spec.partitions, spec.name
    resource = ConfigResource("topic", catalog[0].name)
    configs = admin.describe_configs([resource])[resource].result()
    assert configs["retention.ms"].value == catalog[0].config["retention.ms"]


def test_create_the_real_catalog_twice(bootstrap: str) -> None:
    # Other tests share this broker and may have created the catalog already: only the second
    # call's outcome is certain. A partition-count mismatch would show as "exists (…)".
    first = create_topics(bootstrap)
    assert set(first) == {spec.name for spec in CATALOG}
    assert set(first.values()) <= {"created", "exists"}
    assert create_topics(bootstrap) == {spec.name: "exists" for spec in CATALOG}
    wait_for_topics(bootstrap, {spec.name: spec.partitions for spec in CATALOG}, timeout=10)


def test_partitions_override(bootstrap: str, unique: str) -> None:
    catalog = (replace(MESSAGES, name=f"{unique}.small"),)
    assert create_topics(bootstrap, catalog, partitions_override=2) == {catalog[0].name: "created"}
    # Asking again with the catalog's count reports the difference instead of hiding it.
    outcome = create_topics(bootstrap, catalog)[catalog[0].name]
    assert outcome.startswith("exists") and "2 partitions" in outcome


def test_feed_routes_original_bytes_by_kind_and_key(bootstrap: str, unique: str, tmp_path: Path) -> None:
    create_topics(bootstrap)
    u = unique
    good = {
        MESSAGES.name: [
            f'{{"kind": "message", "event_id": "{u}-m1", "ts": "{TS}", "group_id": "g-{u}", "sender_id": "wx_a", "text": "早上好"}}',
            f'{{"kind":"message","event_id":"{u}-m2","ts":"{TS}","group_id":"g-{u}","sender_id":"wx_b","urgent":true}}',
        ],
        MEMBERSHIP.name: [
            f'{{"kind": "membership", "event_id": "{u}-e1", "ts": "{TS}", "group_id": "g-{u}", "action": "member_joined", "member_id": "wx_c"}}',
        ],
        ROSTER.name: [
            f'{{"kind": "roster", "event_id": "{u}-r1", "ts": "{TS}", "employee_id": "E-{u}", "change": "departed"}}',
        ],
    }
    keys = {MESSAGES.name: f"g-{u}", MEMBERSHIP.name: f"g-{u}", ROSTER.name: f"E-{u}"}
    lines = [
        good[MESSAGES.name][0],
        '{"kind": "message", "event_id": "bad-1", "ts": "not a time", "group_id": "g", "sender_id": "s"}',
        good[MEMBERSHIP.name][0],
        "",
        good[ROSTER.name][0],
        "{not json",
        good[MESSAGES.name][1],
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = io.StringIO()

    summary = feed_file(path, bootstrap, progress=True, errors=errors)

    assert (summary.sent, summary.rejected, summary.failed) == (4, 2, 0)
    assert summary.per_topic == {MESSAGES.name: 2, MEMBERSHIP.name: 1, ROSTER.name: 1}
    assert summary.summary().startswith("feed: 4 sent, 2 rejected, 0 failed")
    reported = errors.getvalue().splitlines()
    assert len(reported) == 2
    assert reported[0].startswith(f"{path}:2: field 'ts': ")
    assert reported[1].startswith(f"{path}:6: invalid JSON")

    for topic, records in good.items():
        by_id = {orjson.loads(line)["event_id"]: line.encode() for line in records}
        found = consume_all(bootstrap, topic, set(by_id))
        assert found.keys() == by_id.keys(), topic
        for event_id, (key, value, _partition) in found.items():
            assert key == keys[topic].encode()
            assert value == by_id[event_id]
        if topic == MESSAGES.name:  # same key, same partition
            assert len({partition for _k, _v, partition in found.values()}) == 1


def test_feed_missing_file_raises(bootstrap: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        feed_file(tmp_path / "nope.jsonl", bootstrap, progress=False)
