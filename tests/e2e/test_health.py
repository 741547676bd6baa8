"""A worker with the operations wiring over the real broker and Redis: /healthz, /readyz with
each check (Redis frozen → not ready → ready again), /metrics series, JSON log lines without chat
text, and `qunguard lag` on the worker's own consumer group once it has caught up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from agents.connect.kafka import producer_config
from agents.connect.offsets import caught_up, end_offsets
from agents.dev.embedded import free_port, redis, worker
from tests.support import (
    e2e_settings,
    get,
    load_sample,
    message,
    metric_value,
    readyz,
    violations_for,
    wait_for,
)
from topics.catalog import INPUT_TOPICS, MESSAGES

SECRET = "六合彩走起今晚"


def test_health_metrics_logs_and_own_lag(bootstrap: str, unique: str, tmp_path: Path) -> None:
    store = redis(tmp_path).start()
    port = free_port()
    url = f"redis://127.0.0.1:{store.port}/0"
    settings = e2e_settings(bootstrap, url, f"qg-health-{unique}", web_port=port, faust_sensor=1)
    load_sample(settings, publish=False)
    proc = worker(tmp_path, settings.env()).start()
    try:
        ready = wait_for(lambda: (r := readyz(port)) and r[0] == 200 and r, 90, "ready", proc.log_path)
        checks = ready[1]["checks"]
        assert checks["assigned"]["ok"] and checks["assigned"]["partitions"] > 0
        assert checks["recovered"]["ok"] and checks["redis"]["ok"]
        assert get(port, "/healthz") == (200, b'{"ok":true}')

        producer = Producer(producer_config(bootstrap, "health-test"))
        event_id = f"{unique}-gamble"
        producer.produce(
            MESSAGES.name, key=b"g-sales", value=message(event_id, "g-sales", "wx_wanglei", SECRET)
        )
        producer.flush(10)
        assert [v["rule"] for v in violations_for(bootstrap, {event_id})] == ["content.gambling"]

        ends = end_offsets(bootstrap, [t.name for t in INPUT_TOPICS])
        wait_for(lambda: caught_up(bootstrap, settings.app_id, ends), 60, "input committed", proc.log_path)
        lag = _lag_json(bootstrap, settings.app_id)
        [group] = lag["groups"]
        inputs = [p for p in group["partitions"] if p["topic"] == MESSAGES.name]
        assert inputs and all(p["lag"] == 0 and p["lag_seconds"] == 0 for p in inputs)
        # The group is active; Tansu's DescribeGroups lists no members, so the count may be unknown.
        assert group["state"] == "STABLE" and group["members"] != 0

        status, body = get(port, "/metrics")
        assert status == 200
        found = {s.name for family in text_string_to_metric_families(body.decode()) for s in family.samples}
        assert {
            "qunguard_events_total",
            "qunguard_detector_seconds_bucket",
            "qunguard_table_keys",
            "faust_messages_received_total",  # Faust's own sensor
        } <= found
        # The new group reads the input topics from the start: other tests' events count too.
        latency = metric_value(body, "qunguard_detection_latency_seconds_count", rule="content.gambling")
        assert latency >= 1

        store.pause()  # Redis frozen: not ready, still alive
        not_ready = wait_for(
            lambda: (r := readyz(port)) and r[0] == 503 and r, 30, "not ready", proc.log_path
        )
        assert not not_ready[1]["checks"]["redis"]["ok"] and not_ready[1]["checks"]["assigned"]["ok"]
        assert get(port, "/healthz")[0] == 200
        store.resume()
        wait_for(lambda: (r := readyz(port)) and r[0] == 200, 30, "ready again", proc.log_path)
    finally:
        store.resume()
        proc.stop()
        store.stop()

    log = proc.log_path.read_text(errors="replace")
    assert SECRET not in log
    records = [orjson.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert records and all({"ts", "level", "logger", "msg"} <= r.keys() for r in records)
    stray = [line for line in log.splitlines() if line.strip() and not line.startswith("{")]
    assert not stray[:5], stray[:5]  # nothing but JSON lines


def _lag_json(bootstrap: str, group: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", "lag", "--json", "--group", group, "--bootstrap", bootstrap,
         "--span", "1"],  # two samples 1 s apart: longer than the worker's commit interval
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return orjson.loads(done.stdout)
