"""SPEC §7 over the real broker: Redis frozen while events flow → the worker waits and retries,
commits nothing it could not process, and processes the event once Redis is back."""

from __future__ import annotations

import time

from confluent_kafka import Producer

from agents.connect.kafka import producer_config
from agents.connect.offsets import committed_offsets
from agents.dev.embedded import redis, worker
from tests.support import e2e_settings, load_sample, message, violations_for
from topics.catalog import MESSAGES


def test_frozen_redis_delays_but_loses_nothing(bootstrap: str, unique: str, tmp_path) -> None:
    store = redis(tmp_path).start()
    try:
        url = f"redis://127.0.0.1:{store.port}/0"
        settings = e2e_settings(bootstrap, url, f"qg-fault-{unique}", reference_check_interval=1.0)
        load_sample(settings, publish=False)
        proc = worker(tmp_path, settings.env()).start()
        producer = Producer(producer_config(bootstrap, "fault-test"))
        try:
            warm = f"{unique}-warm"
            producer.produce(
                MESSAGES.name, key=b"g-sales", value=message(warm, "g-sales", "wx_wanglei", "六合彩走起")
            )
            producer.flush(10)
            assert violations_for(bootstrap, {warm}), proc.log_path.read_text()[-3000:]

            store.pause()
            time.sleep(2)  # past the cache's check interval (1 s here): the next event must ask Redis
            late = f"{unique}-late"
            delivered = []
            producer.produce(
                MESSAGES.name, key=b"g-sales", value=message(late, "g-sales", "wx_wanglei", "今晚赌球吗"),
                on_delivery=lambda err, msg: delivered.append((msg.partition(), msg.offset())),
            )  # fmt: skip
            producer.flush(10)
            [(partition, offset)] = delivered
            assert violations_for(bootstrap, {late}, timeout=8) == []
            committed = committed_offsets(bootstrap, settings.app_id, [(MESSAGES.name, partition)])
            assert committed[(MESSAGES.name, partition)] <= offset  # not moved past the stuck event

            store.resume()
            found = violations_for(bootstrap, {late}, timeout=60)
            assert [v["rule"] for v in found] == ["content.gambling"], proc.log_path.read_text()[-3000:]
            assert "redis unavailable" in proc.log_path.read_text()
            assert proc.running
        finally:
            proc.stop()
    finally:
        store.resume()  # a stopped process would not see the SIGTERM
        store.stop()
