"""agents.intake.loaders and `qunguard roster|ledger load` against a real redis-server and a real broker."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from agents.cli.parser import main
from agents.connect.kafka import reader_config
from agents.connect.settings import Settings
from agents.dev.embedded import free_port
from agents.intake import loaders
from agents.intake.loaders import PublishError, diff_roster, load_ledger, load_roster
from agents.stores.cache import ReferenceCache
from agents.stores.reference import ReferenceStore
from tests.conftest import CORPUS
from topics.catalog import ROSTER
from topics.codec import decode_event
from topics.events import RosterEvent
from topics.reference import ReferenceFileError, read_roster

ROSTER_CSV = CORPUS / "roster.csv"
LEDGER_CSV = CORPUS / "ledger.csv"


@pytest.fixture(scope="module")
def roster_topic(bootstrap: str) -> str:
    """hr.roster with the catalog's partitions (Tansu would auto-create it with its own default)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})  # keep a reference until the result is in
    futures = admin.create_topics(
        [NewTopic(ROSTER.name, num_partitions=ROSTER.partitions, replication_factor=-1)]
    )
    try:
        futures[ROSTER.name].result(15)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
    return ROSTER.name


def _settings(redis_url: str, bootstrap: str) -> Settings:
    return Settings(kafka_bootstrap=bootstrap, redis_url=redis_url)


def _edit_roster(tmp_path: Path, name: str, edit) -> Path:
    lines = ROSTER_CSV.read_text(encoding="utf-8").splitlines()
    path = tmp_path / name
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return path


def _depart(lines: list[str], employee_id: str, left_at: str) -> list[str]:
    out = []
    for line in lines:
        if line.startswith(employee_id + ","):
            cells = line.split(",")
            cells[5], cells[7] = "departed", left_at
            line = ",".join(cells)
        out.append(line)
    return out


def _read_topic(bootstrap: str, topic: str, group: str, deadline: float = 30.0) -> list:
    """Every record on `topic` from the start, read until each partition reports its end (assigned,
    not subscribed: no consumer-group join to wait for)."""
    consumer = Consumer(reader_config(bootstrap, "test-loader", group, **{"enable.partition.eof": True}))
    partitions = set(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records, at_end = [], set()
    give_up = time.monotonic() + deadline
    try:
        while time.monotonic() < give_up:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(message.error())
                at_end.add(message.partition())
                if partitions <= at_end:
                    return records
                continue
            at_end.discard(message.partition())
            records.append(message)
    finally:
        consumer.close()
    raise AssertionError(f"did not reach the end of {topic} within {deadline}s ({len(records)} records)")


def test_load_corpus_and_look_up_through_the_cache(redis_url: str, bootstrap: str) -> None:
    settings = _settings(redis_url, bootstrap)
    roster = load_roster(ROSTER_CSV, settings, publish=False)
    ledger = load_ledger(LEDGER_CSV, settings)
    assert (roster.records, roster.added, roster.published, roster.generation) == (42, 42, 0, 1)
    assert (ledger.records, ledger.added, ledger.generation) == (53, 53, 1)
    assert "42 records" in roster.summary() and "added 42" in roster.summary()
    assert "53 records" in ledger.summary()

    cache = ReferenceCache.from_settings(Settings(redis_url=redis_url))

    async def scenario() -> None:
        await cache.refresh()
        await cache.close()

    asyncio.run(scenario())
    assert cache.by_account("wx_wht_work").employee_id == "E1010"
    assert cache.employee("E1082").status == "departed"
    assert cache.group("g-all-staff").kind == "company"
    assert len(list(cache.groups())) == 53

    again = load_ledger(LEDGER_CSV, settings)
    assert (again.generation, again.added, again.changed, again.removed) == (2, 0, 0, 0)


def test_bad_file_raises_with_line_and_field_and_writes_nothing(
    redis_url: str, bootstrap: str, tmp_path
) -> None:
    settings = _settings(redis_url, bootstrap)
    load_roster(ROSTER_CSV, settings, publish=False)
    store = ReferenceStore.from_settings(Settings(redis_url=redis_url))
    before = {key: store.client.dump(key) for key in store.client.keys("*")}

    bad = _edit_roster(
        tmp_path, "bad.csv", lambda ls: [*ls[:4], ls[4].replace(",manager,", ",boss,"), *ls[5:]]
    )
    with pytest.raises(ReferenceFileError) as caught:
        load_roster(bad, settings)
    assert (caught.value.line, caught.value.field) == (5, "rank")
    assert {key: store.client.dump(key) for key in store.client.keys("*")} == before


def test_reload_with_one_departure_publishes_one_departed_event(
    redis_url: str, bootstrap: str, roster_topic: str, unique: str, tmp_path
) -> None:
    settings = _settings(redis_url, bootstrap)
    first = load_roster(ROSTER_CSV, settings)
    assert first.published == 42

    departed = _edit_roster(
        tmp_path, "departed.csv", lambda ls: _depart(ls, "E1012", "2026-11-20T18:00:00+08:00")
    )
    result = load_roster(departed, settings)
    assert (result.departed, result.added, result.changed, result.removed, result.published) == (
        1,
        0,
        0,
        0,
        1,
    )
    assert "departed 1" in result.summary() and "published 1" in result.summary()

    digest = loaders.file_digest(departed)
    mine = [
        m
        for m in _read_topic(bootstrap, roster_topic, f"test-loaders-{unique}")
        if digest[:16] in m.value().decode()
    ]
    assert len(mine) == 1
    message = mine[0]
    assert message.key() == b"E1012"
    event = decode_event(message.value())
    assert isinstance(event, RosterEvent)
    assert (event.change, event.employee_id, event.event_id) == (
        "departed",
        "E1012",
        f"r-{digest[:16]}-E1012",
    )
    assert event.ts.utcoffset() is not None
    assert event.record["status"] == "departed" and event.record["left_at"] == "2026-11-20T18:00:00+08:00"

    cache = ReferenceCache.from_settings(Settings(redis_url=redis_url))

    async def scenario() -> None:
        await cache.refresh()
        await cache.close()

    asyncio.run(scenario())
    assert cache.by_account("wx_zhangwei").status == "departed"
    assert ReferenceStore.from_settings(Settings(redis_url=redis_url)).pending_roster_events() == []


def test_diff_classifies_added_changed_departed_removed() -> None:
    current = {e.employee_id: e for e in read_roster(ROSTER_CSV)}
    incoming = [e for e in current.values() if e.employee_id != "E1013"]
    incoming[0] = replace(incoming[0], title="董事长")
    incoming[1] = replace(incoming[1], status="departed")
    incoming.append(replace(incoming[2], employee_id="E2000", accounts=("wx_new",)))
    changes = {c.employee_id: c for c in diff_roster(current, incoming)}
    assert {k: c.change for k, c in changes.items()} == {
        "E1001": "upsert",
        "E1002": "departed",
        "E2000": "upsert",
        "E1013": "removed",
    }
    assert changes["E2000"].is_new and not changes["E1001"].is_new
    assert changes["E1013"].record is None
    event = loaders.roster_event(changes["E1013"], "ab" * 32, "2026-11-23T09:00:00+00:00")
    assert "record" not in event and decode_event(event).change == "removed"
    assert decode_event(loaders.roster_event(changes["E2000"], "ab" * 32, "2026-11-23T09:00:00+00:00")).record


def test_undelivered_events_stay_in_the_outbox_for_the_next_load(
    redis_url: str, bootstrap: str, roster_topic: str, monkeypatch, tmp_path
) -> None:
    settings = _settings(redis_url, bootstrap)
    load_roster(ROSTER_CSV, settings)
    removed = _edit_roster(
        tmp_path, "removed.csv", lambda ls: [line for line in ls if not line.startswith("E1014,")]
    )

    monkeypatch.setattr(loaders, "DELIVERY_TIMEOUT", 2.0)
    dead = Settings(kafka_bootstrap=f"127.0.0.1:{free_port()}", redis_url=redis_url)
    with pytest.raises(PublishError, match="1 of 1"):
        load_roster(removed, dead)
    store = ReferenceStore.from_settings(Settings(redis_url=redis_url))
    _, employees = store.roster()
    assert "E1014" not in employees  # Redis was written before publishing
    assert len(store.pending_roster_events()) == 1

    monkeypatch.setattr(loaders, "DELIVERY_TIMEOUT", 30.0)
    retry = load_roster(removed, settings)
    assert (retry.removed, retry.published, retry.published_from_earlier) == (0, 1, 1)
    assert store.pending_roster_events() == []


def test_cli_bad_file_exits_1_naming_line_and_field(
    redis_url: str, bootstrap: str, monkeypatch, capsys, tmp_path
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", bootstrap)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("QUNGUARD_REDIS_PREFIX", raising=False)
    bad = _edit_roster(
        tmp_path, "bad.csv", lambda ls: [*ls[:4], ls[4].replace(",manager,", ",boss,"), *ls[5:]]
    )

    assert main(["roster", "load", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:5:" in err and "'rank'" in err and "nothing was written" in err

    ledger = tmp_path / "ledger.csv"
    lines = LEDGER_CSV.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",true,false", ",yes,false")
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["ledger", "load", str(ledger)]) == 1
    err = capsys.readouterr().err
    assert f"{ledger}:3:" in err and "'approved'" in err
    assert ReferenceStore.from_settings(Settings(redis_url=redis_url)).client.keys("*") == []

    assert main(["roster", "load", "--no-publish", str(ROSTER_CSV)]) == 0
    assert "42 records" in capsys.readouterr().out
