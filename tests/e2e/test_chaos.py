"""Fault injection over the real broker and Redis (issue 7): a worker SIGKILLed mid-stream and
restarted, the broker frozen for 15 s, Redis stopped and started again, 1,000 poison records.

Every valid input is a probe message that yields exactly one `content.gambling` violation with a
deterministic id, so "nothing lost" is: every expected violation id is on the violations topic;
"nothing duplicated downstream" is: after dedupe by violation id, no other id for our events.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis as redis_py
from confluent_kafka import Producer

from agents.bench.events import BenchRecord, probe
from agents.connect.kafka import producer_config
from agents.connect.offsets import caught_up, end_offsets
from agents.dev.embedded import Service, redis, tansu, worker
from agents.runtime.deadletter import REASON_HEADER
from tests.support import Reader, e2e_settings, load_sample
from topics.catalog import MEMBERSHIP, MESSAGES, VIOLATIONS
from topics.violation import violation_id


@pytest.fixture(scope="module")
def chaos_bootstrap(tmp_path_factory: pytest.TempPathFactory):
    """A broker for this module only: the ~2,000 records these tests produce (1,000 of them poison)
    would otherwise be read again by every later test's fresh consumer group."""
    service = tansu(tmp_path_factory.mktemp("chaos-broker")).start()
    yield f"127.0.0.1:{service.port}"
    service.stop()


class Downstream(threading.Thread):
    """Reads the violations and dead-letter topics from the start; keeps what belongs to `prefix`."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.prefix = prefix
        self.violations: list[dict] = []
        self.dead_letters: dict[bytes, dict[str, bytes]] = {}
        self.stopping = threading.Event()
        self.reader = Reader(bootstrap)

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                for msg in self.reader.consumer.consume(500, timeout=0.2):
                    if not msg.error():
                        self.keep(msg)
        finally:
            self.reader.close()

    def keep(self, msg) -> None:
        if msg.topic() == VIOLATIONS.name:
            record = orjson.loads(msg.value())
            if any(e.startswith(self.prefix) for e in record["source_event_ids"]):
                self.violations.append(record)
        elif (msg.key() or b"").startswith(self.prefix.encode()):
            self.dead_letters[msg.key()] = dict(msg.headers() or ())

    def ids(self, rule: str = "content.gambling") -> set[str]:
        return {v["violation_id"] for v in list(self.violations) if v["rule"] == rule}

    def __enter__(self) -> Downstream:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.join(10)


def probes(prefix: str, count: int) -> tuple[list[BenchRecord], set[str]]:
    """`count` messages that each yield one content.gambling violation, and those violation ids.

    Event time starts now and advances 1 s per probe, so earlier tests' events (which every fresh
    group also reads) never make these late, and senders rotate so no flood window fills.
    """
    start = datetime.now(UTC).replace(microsecond=0)
    records = [probe(seq, start + timedelta(seconds=seq), prefix=prefix) for seq in range(count)]
    expected = set()
    for record in records:
        event = orjson.loads(record.value)
        expected.add(
            violation_id("content.gambling", event["sender_id"], event["group_id"], [event["event_id"]])
        )
    return records, expected


def produce(bootstrap: str, records: Iterable[BenchRecord], rate: float | None = None) -> None:
    producer = Producer(producer_config(bootstrap, "chaos"))
    failed: list = []
    started = time.monotonic()
    for n, record in enumerate(records):
        if rate:
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
        producer.produce(
            record.topic, key=record.key, value=record.value, on_delivery=lambda e, _m: e and failed.append(e)
        )
        producer.poll(0)
    assert producer.flush(60) == 0 and not failed, failed[:3]


def wait_for(condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what()
        time.sleep(0.2)


def missing(down: Downstream, expected: set[str], service: Service) -> Callable[[], str]:
    return lambda: (
        f"{len(expected - down.ids())} of {len(expected)} violations missing\n{service.log_excerpt(3000)}"
    )


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
    chaos_bootstrap: str, redis_url: str, unique: str, tmp_path
) -> None:
    bootstrap = chaos_bootstrap
    settings = e2e_settings(bootstrap, redis_url, f"qg-kill-{unique}")
    load_sample(settings, publish=False)
    prefix = f"{unique}-kill"
    records, expected = probes(prefix, 400)
    proc = worker(tmp_path, settings.env())
    with Downstream(bootstrap, prefix) as down:
        proc.start()
        try:
            feeder = threading.Thread(target=produce, args=(bootstrap, records, 80.0))
            feeder.start()
            wait_for(lambda: len(down.ids()) >= 30, 90, missing(down, expected, proc))
            os.killpg(proc.proc.pid, signal.SIGKILL)
            proc.proc.wait(10)
            done_at_kill = len(down.ids())
            proc.start()  # same group, same data dir
            feeder.join()
            assert done_at_kill < len(expected)  # the kill really happened mid-stream
            wait_for(lambda: down.ids() >= expected, 120, missing(down, expected, proc))
            ends = {tp: end for tp, end in end_offsets(bootstrap, [MESSAGES.name]).items()}
            wait_for(lambda: caught_up(bootstrap, settings.app_id, ends), 30, lambda: proc.log_excerpt(3000))
        finally:
            proc.stop()
    assert down.ids() == expected  # every violation once after dedupe by id, none other
    by_event = {}
    for v in down.violations:
        if v["rule"] == "content.gambling":
            by_event.setdefault(v["source_event_ids"][0], set()).add(v["violation_id"])
    assert len(by_event) == len(expected) and all(len(ids) == 1 for ids in by_event.values())


def test_frozen_broker_worker_recovers_without_restart(redis_url: str, unique: str, tmp_path) -> None:
    broker = tansu(tmp_path).start()  # our own broker: freezing the session one would stall other tests
    bootstrap = f"127.0.0.1:{broker.port}"
    settings = e2e_settings(bootstrap, redis_url, f"qg-freeze-{unique}")
    proc = worker(tmp_path, settings.env())
    try:
        load_sample(settings, publish=False)
        prefix = f"{unique}-freeze"
        records, expected = probes(prefix, 300)
        before, during, after = records[:100], records[100:200], records[200:]
        with Downstream(bootstrap, prefix) as down:
            proc.start()
            pid = proc.proc.pid
            produce(bootstrap, before)
            wait_for(lambda: len(down.ids()) >= 100, 90, missing(down, expected, proc))

            broker.pause()
            feeder = threading.Thread(target=produce, args=(bootstrap, during))
            feeder.start()  # queued in the producer while the broker answers nothing
            time.sleep(15)
            broker.resume()
            feeder.join()
            produce(bootstrap, after)
            wait_for(lambda: down.ids() >= expected, 120, missing(down, expected, proc))
        assert down.ids() == expected
        assert proc.running and proc.proc.pid == pid, proc.log_excerpt(3000)
    finally:
        broker.resume()
        proc.stop()
        broker.stop()


def test_redis_down_and_back_loses_nothing(chaos_bootstrap: str, unique: str, tmp_path) -> None:
    bootstrap = chaos_bootstrap
    store = redis(tmp_path).start()
    url = f"redis://127.0.0.1:{store.port}/0"
    settings = e2e_settings(bootstrap, url, f"qg-redis-{unique}", reference_check_interval=1.0)
    proc = worker(tmp_path, settings.env())
    try:
        load_sample(settings, publish=False)
        prefix = f"{unique}-redis"
        records, expected = probes(prefix, 150)
        with Downstream(bootstrap, prefix) as down:
            proc.start()
            pid = proc.proc.pid
            produce(bootstrap, records[:50])
            wait_for(lambda: len(down.ids()) >= 50, 90, missing(down, expected, proc))

            redis_py.Redis.from_url(url).save()  # the restarted server loads this snapshot
            store.stop()
            time.sleep(2)  # past the reference cache's check interval (1 s here): the worker must ask Redis
            produce(bootstrap, records[50:])
            time.sleep(3)
            store = redis(tmp_path, port=store.port).start()
            wait_for(lambda: down.ids() >= expected, 120, missing(down, expected, proc))
        assert down.ids() == expected
        assert proc.running and proc.proc.pid == pid, proc.log_excerpt(3000)
        assert "redis unavailable" in proc.log_path.read_text(errors="replace")
    finally:
        proc.stop()
        store.stop()


def poison(rng: random.Random, key: bytes, n: int) -> BenchRecord:
    """One seeded bad record: bad JSON, bad UTF-8, a missing field, a wrong kind, huge text …"""
    good = {"kind": "message", "event_id": f"p-{n}", "ts": "2026-11-23T10:00:00+08:00",
            "group_id": "g-sales", "sender_id": "wx_wanglei", "text": "你好"}  # fmt: skip
    kind = rng.choice(
        [
            "json",
            "utf8",
            "missing",
            "kind",
            "membership_on_messages",
            "huge",
            "ts",
            "empty_value",
            "not_object",
        ]
    )
    topic = MESSAGES.name
    if kind == "json":
        value = orjson.dumps(good)[: rng.randint(1, 40)]
    elif kind == "utf8":
        value = b'{"kind": "message", "text": "\xff\xfe' + rng.randbytes(8).replace(b'"', b"x") + b'"}'
    elif kind == "missing":
        field = rng.choice(["kind", "event_id", "ts", "group_id", "sender_id"])
        value = orjson.dumps({k: v for k, v in good.items() if k != field})
    elif kind == "kind":
        value = orjson.dumps({**good, "kind": rng.choice(["reaction", "", "MESSAGE", 7])})
    elif kind == "membership_on_messages":
        value = orjson.dumps({**good, "kind": "membership", "action": "member_joined", "member_id": "wx_x"})
    elif kind == "huge":
        value = orjson.dumps({**good, "text": "赌" * (22 * 1024)})
    elif kind == "ts":
        value = orjson.dumps({**good, "ts": rng.choice(["yesterday", "2026-13-40T99:00:00", 12])})
    elif kind == "empty_value":
        value = b""
    else:
        value = orjson.dumps([good])
        topic = MEMBERSHIP.name
    return BenchRecord(topic, key, value)


def test_poison_records_go_to_dead_letters_and_valid_events_all_processed(
    chaos_bootstrap: str, redis_url: str, unique: str, tmp_path
) -> None:
    bootstrap = chaos_bootstrap
    settings = e2e_settings(bootstrap, redis_url, f"qg-poison-{unique}")
    load_sample(settings, publish=False)
    prefix = f"{unique}-poison"
    valid, expected = probes(prefix, 300)
    rng = random.Random(20261123)
    bad = [poison(rng, f"{prefix}-bad-{n}".encode(), n) for n in range(1000)]
    mixed = valid + bad
    rng.shuffle(mixed)
    proc = worker(tmp_path, settings.env())
    with Downstream(bootstrap, prefix) as down:
        proc.start()
        try:
            pid = proc.proc.pid
            produce(bootstrap, mixed)
            wait_for(
                lambda: down.ids() >= expected and len(down.dead_letters) >= len(bad), 120,
                lambda: f"{len(down.dead_letters)} dead letters; " + missing(down, expected, proc)(),
            )  # fmt: skip
            assert proc.running and proc.proc.pid == pid, proc.log_excerpt(3000)
        finally:
            proc.stop()
    assert down.ids() == expected
    assert set(down.dead_letters) == {r.key for r in bad}
    assert all(REASON_HEADER in headers for headers in down.dead_letters.values())
    assert "Traceback" not in proc.log_path.read_text(errors="replace")
