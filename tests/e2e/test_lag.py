"""`qunguard lag` over the real broker: exact per-partition lag from committed offsets read outside
the group, the embedded broker's ListOffsets quirk the watermark default works around, `--watch`,
and the Prometheus exporter's series and status."""

from __future__ import annotations

import math
import subprocess
import sys
import time
import urllib.error
import urllib.request

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from agents.connect.kafka import producer_config, reader_config
from agents.dev.embedded import free_port

RECORDS = 300


def lag_cli(*args: str, timeout: float = 60, code: int = 0) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", "lag", "--json", *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    return orjson.loads(done.stdout)


def produce(bootstrap: str, topic: str, count: int, partition: int | None = None) -> dict[int, int]:
    """Produce `count` records in one batched flush; return the end offset of every partition written."""
    ends: dict[int, int] = {}

    def delivered(err, msg) -> None:
        assert err is None, err
        ends[msg.partition()] = max(ends.get(msg.partition(), 0), msg.offset() + 1)

    producer = Producer(producer_config(bootstrap, "lag-test"))
    for i in range(count):
        extra = {} if partition is None else {"partition": partition}
        producer.produce(topic, key=f"k{i}".encode(), value=b"x" * 20, on_delivery=delivered, **extra)
    assert producer.flush(30) == 0
    return ends


def commit(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit offsets for `group` without joining it (the group stays empty)."""
    consumer = Consumer(reader_config(bootstrap, "lag-test", group))
    try:
        consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
        )
    finally:
        consumer.close()


@pytest.fixture
def lagging(bootstrap: str, unique: str):
    """A 3-partition topic with RECORDS records and a group committed to known points."""
    topic, group = f"lag-{unique}", f"lag-group-{unique}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, 3, 1)]).values():
        future.result(30)
    ends = produce(bootstrap, topic, RECORDS)
    assert sorted(ends) == [0, 1, 2] and sum(ends.values()) == RECORDS
    committed = {0: 10, 1: 0, 2: ends[2]}
    commit(bootstrap, group, {(topic, p): o for p, o in committed.items()})
    return topic, group, ends, committed


def test_one_shot_reports_exact_lag(bootstrap: str, lagging) -> None:
    topic, group, ends, committed = lagging
    doc = lag_cli("--bootstrap", bootstrap, "--group", group, "--span", "0")
    assert doc["end_offsets"] == "watermark"
    [report] = doc["groups"]
    assert report["error"] is None and report["state"] == "EMPTY" and report["members"] == 0
    got = {p["partition"]: p for p in report["partitions"]}
    assert set(got) == {0, 1, 2} and {p["topic"] for p in got.values()} == {topic}
    for partition, p in got.items():
        assert (p["committed"], p["end"]) == (committed[partition], ends[partition])
        assert p["lag"] == ends[partition] - committed[partition]
    assert report["sum_lag"] == sum(ends[p] - committed[p] for p in ends)
    assert report["max_lag"] == max(ends[p] - committed[p] for p in ends)
    # One sample (--span 0): the caught-up partition is OK, the others have no trend or lag seconds yet.
    assert (got[2]["status"], got[2]["lag_seconds"]) == ("OK", 0)
    assert [got[p]["status"] for p in (0, 1)] == ["UNKNOWN", "UNKNOWN"]
    assert got[0]["lag_seconds"] is None and report["status"] == "UNKNOWN"


def test_one_shot_judges_two_samples(bootstrap: str, lagging) -> None:
    """A one-shot samples twice (`--span` apart): an empty group whose commits do not move has stopped."""
    group = lagging[1]
    [report] = lag_cli("--bootstrap", bootstrap, "--group", group, "--span", "0.5")["groups"]
    got = {p["partition"]: p["status"] for p in report["partitions"]}
    assert got == {0: "STOP", 1: "STOP", 2: "OK"} and report["status"] == "STOP"
    table = subprocess.run(
        [sys.executable, "-m", "agents.cli", "lag", "--bootstrap", bootstrap, "--group", group, "--span", "0.5"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "status over 2 samples 0.5 s apart" in table and f"{group}: STOP, empty with 0 members" in table


def test_a_group_that_does_not_exist_is_not_ok(bootstrap: str, unique: str, lagging) -> None:
    group = lagging[1]
    missing = f"nosuchgroup-{unique}"
    doc = lag_cli("--bootstrap", bootstrap, "--group", group, "--group", missing, "--span", "0.5", code=1)
    reports = {r["group"]: r for r in doc["groups"]}
    assert reports[missing]["status"] == "NOTFOUND" and reports[missing]["partitions"] == []
    assert reports[group]["status"] != "NOTFOUND"
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", "lag", "--bootstrap", bootstrap, "--group", missing],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"{missing}: NOTFOUND, no committed offsets: no such group" in done.stdout


def test_list_offsets_under_reports_on_the_embedded_broker(bootstrap: str, lagging) -> None:
    """Why `watermark` is the default: Tansu answers ListOffsets(latest) with the base offset of
    the last batch + 1, so after one batched produce the log end (and the lag) look too small."""
    _, group, ends, _ = lagging
    [report] = lag_cli(
        "--bootstrap", bootstrap, "--group", group, "--end-offsets", "list-offsets", "--span", "0.5"
    )["groups"]
    listed = {p["partition"]: p["end"] for p in report["partitions"]}
    assert all(listed[p] <= ends[p] for p in ends)
    assert any(listed[p] < ends[p] for p in ends), "Tansu's ListOffsets is exact now: revisit the default"


def test_watch_prints_a_document_per_round(bootstrap: str, lagging) -> None:
    group = lagging[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "lag", "--json", "--watch", "0.2", "--window", "2",
         "--bootstrap", bootstrap, "--group", group],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        docs = [orjson.loads(proc.stdout.readline()) for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(10)
    assert docs[0]["time"] < docs[1]["time"] < docs[2]["time"]
    # Two samples fill the window: nothing moves and nobody is in the group, so commits stopped.
    assert docs[2]["groups"][0]["status"] == "STOP"


def metrics(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def wait_metrics(port: int, proc: subprocess.Popen, done, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exporter exited with {proc.returncode}"
        try:
            last = metrics(port)
        except OSError:
            last = {}
        if last and done(last):
            return last
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout}s; last scrape: {last}")


def test_exporter_series_status_and_health(bootstrap: str, lagging) -> None:
    topic, group, ends, committed = lagging
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "lag", "--serve", str(port), "--host", "127.0.0.1",
         "--interval", "0.3", "--window", "3", "--bootstrap", bootstrap, "--group", group],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    g = (("group", group),)

    def part(p: int) -> tuple:
        return (("group", group), ("partition", str(p)), ("topic", topic))

    def status(m, name: str) -> bool:
        return m.get(("kafka_consumergroup_status", (("group", group), ("status", name)))) == 1.0

    try:
        m = wait_metrics(port, proc, lambda m: status(m, "STOP"), "status STOP")
        for p in ends:
            assert m[("kafka_consumergroup_lag", part(p))] == ends[p] - committed[p]
            assert m[("kafka_consumergroup_group_offset", part(p))] == committed[p]
            assert m[("kafka_partition_latest_offset", (("partition", str(p)), ("topic", topic)))] == ends[p]
        assert m[("kafka_consumergroup_group_sum_lag", g)] == sum(ends[p] - committed[p] for p in ends)
        assert m[("kafka_consumergroup_group_max_lag", g)] == max(ends[p] - committed[p] for p in ends)
        assert m[("kafka_consumergroup_lag_seconds", part(2))] == 0.0
        # The log end has not moved since the exporter started: the committed offsets cannot be dated.
        assert math.isnan(m[("kafka_consumergroup_lag_seconds", part(0))])
        assert math.isnan(m[("kafka_consumergroup_group_max_lag_seconds", g)])
        assert sum(v for (name, _), v in m.items() if name == "kafka_consumergroup_status") == 1.0

        # New records date the history: lag seconds become a number (extrapolated).
        more = produce(bootstrap, topic, 30, partition=0)
        m = wait_metrics(
            port,
            proc,
            lambda m: not math.isnan(m[("kafka_consumergroup_lag_seconds", part(0))]),
            "lag seconds",
        )
        assert m[("kafka_consumergroup_lag_seconds", part(0))] > 0
        assert m[("kafka_partition_latest_offset", (("partition", "0"), ("topic", topic)))] == more[0]

        commit(bootstrap, group, {(topic, 0): more[0], (topic, 1): ends[1]})
        m = wait_metrics(port, proc, lambda m: status(m, "OK"), "status OK")
        assert m[("kafka_consumergroup_group_sum_lag", g)] == 0
        assert m[("kafka_consumergroup_group_max_lag_seconds", g)] == 0.0
        assert m[("qunguard_lag_rounds_total", (("outcome", "error"),))] == 0

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200 and orjson.loads(response.read())["ok"] is True
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=10)
        assert missing.value.code == 404
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0  # SIGTERM stops the exporter cleanly (it may run as PID 1)
