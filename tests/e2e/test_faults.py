"""SPEC §7 over the real broker: Redis frozen while events flow → the worker waits and retries,
commits nothing it could not process, and processes the event once Redis is back."""

from __future__ import annotations

import time

from confluent_kafka import Producer

from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config
from agents.connect.offsets import committed_offsets
from agents.connect.settings import Settings
from agents.dev.embedded import redis, worker
from agents.intake.loaders import load_ledger, load_roster
from config import SAMPLE_DIR
from tests.support import message, violations_for
from topics.catalog import MESSAGES


def test_frozen_redis_delays_but_loses_nothing(bootstrap: str, unique: str, tmp_path) -> None:
    store = redis(tmp_path).start()
    try:
        settings = Settings(
            kafka_bootstrap=bootstrap, redis_url=f"redis://127.0.0.1:{store.port}/0", app_id=f"qg-fault-{unique}",
            session_timeout=6.0, max_poll_interval=10.0, commit_interval=0.5,
        )  # fmt: skip
        create_topics(bootstrap)
        load_ledger(SAMPLE_DIR / "ledger.csv", settings)
        load_roster(SAMPLE_DIR / "roster.csv", settings, publish=False)
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
            time.sleep(6)  # past the cache's stale-check interval: the next event must ask Redis
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
