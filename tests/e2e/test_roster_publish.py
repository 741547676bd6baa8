"""`roster load` publishes its outbox a slice at a time (agents.intake.loaders.publish_outbox): each
slice is trimmed once delivered, so a failure leaves only what was not yet delivered, and the next
load publishes that first."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from agents.connect.admin import create_topics
from agents.connect.kafka import reader_config
from agents.connect.offsets import end_offsets
from agents.connect.settings import Settings
from agents.intake import loaders
from agents.intake.loaders import PublishError, load_roster
from agents.stores.reference import ReferenceStore
from tests.conftest import CORPUS
from topics.catalog import ROSTER

ROSTER_CSV = CORPUS / "roster.csv"


def test_the_outbox_goes_out_in_slices_and_a_failure_keeps_only_the_rest(
    bootstrap: str, redis_url: str, unique: str, monkeypatch, tmp_path
) -> None:
    roster = tmp_path / "roster.csv"  # a file of its own: event ids derive from the file's digest
    extra = f"E9{unique[1:]:0>4},测试{unique},销售部,销售专员,staff,active,wx_{unique},"
    roster.write_text(ROSTER_CSV.read_text(encoding="utf-8").rstrip("\n") + "\n" + extra + "\n", "utf-8")
    create_topics(bootstrap)
    settings = Settings(kafka_bootstrap=bootstrap, redis_url=redis_url)
    store = ReferenceStore.from_settings(settings)
    monkeypatch.setattr(loaders, "PUBLISH_SLICE", 4)
    slices: list[int] = []
    publish = loaders.publish_roster_events

    def second_slice_fails(producer, payloads, timeout) -> None:
        slices.append(len(payloads))
        if len(slices) == 2:
            raise PublishError(
                f"{len(payloads)} of {len(payloads)} {ROSTER.name} events not delivered (test)"
            )
        publish(producer, payloads, timeout)

    monkeypatch.setattr(loaders, "publish_roster_events", second_slice_fails)
    with pytest.raises(PublishError, match=r"4 of 4 .*\(4 delivered before them\)"):
        load_roster(roster, settings)
    employees = len(store.roster()[1])
    assert len(store.pending_roster_events()) == employees - 4  # the first slice went out and was trimmed

    monkeypatch.setattr(loaders, "publish_roster_events", publish)
    again = load_roster(roster, settings)  # the same file: no change of its own
    assert (again.published, again.published_from_earlier) == (employees - 4, employees - 4)
    assert store.pending_roster_events() == []
    assert store.pending_roster_events(3) == []

    prefix = f'"event_id":"r-{loaders.file_digest(roster)[:16]}-'.encode()
    published = [m for m in read_to_end(bootstrap, ROSTER.name) if prefix in m.value()]
    assert len(published) == employees  # each event once: a delivered slice is not sent again


def read_to_end(bootstrap: str, topic: str) -> list:
    """Every record `topic` holds now (the session's broker: other tests' roster events too)."""
    ends = end_offsets(bootstrap, [topic])
    reader = Consumer(reader_config(bootstrap, "roster-publish"))
    reader.assign([TopicPartition(t, p, 0) for (t, p), end in ends.items() if end > 0])
    seen, left = [], sum(ends.values())
    deadline = time.monotonic() + 60
    try:
        while left > 0 and time.monotonic() < deadline:
            msg = reader.poll(0.5)
            if msg is not None and not msg.error() and msg.offset() < ends[(msg.topic(), msg.partition())]:
                seen.append(msg)
                left -= 1
    finally:
        reader.close()
    return seen
