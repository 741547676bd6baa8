"""One policy per consumer group, over the real broker and Redis: a worker started with another
policy than the group's running worker is refused (exit 2, the reason on stderr, no traceback), one
with the same policy joins and leaves cleanly, a rival version that appears while running shows as
`qunguard_policy_mismatch 1` on /metrics with an error log, and a policy with mistakes stops the
worker with every mistake listed."""

from __future__ import annotations

import time
from pathlib import Path

import redis
from prometheus_client.parser import text_string_to_metric_families

from agents.connect.admin import create_topics
from agents.connect.settings import Settings
from agents.dev.embedded import Service, free_port, worker
from agents.stores.keys import RedisKeys
from agents.worker.policy_guard import Running
from streams.core.policy import DEFAULT_POLICY
from tests.support import FIVE_MISTAKES, edited, get, wait_for


def exit_code(service: Service, timeout: float = 90.0) -> int:
    assert service.proc is not None
    return service.proc.wait(timeout)


def mismatch(port: int) -> float | None:
    try:
        _, body = get(port, "/metrics")
    except OSError:
        return None  # not listening yet
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "qunguard_policy_mismatch":
            return family.samples[0].value
    return None


def test_two_policies_in_one_group_are_refused_or_alerted(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    port = free_port()
    settings = Settings(
        kafka_bootstrap=bootstrap, redis_url=redis_url, app_id=f"qg-policy-{unique}", web_port=port
    )
    create_topics(bootstrap)
    store = redis.Redis.from_url(redis_url)
    key = RedisKeys(settings.redis_prefix).policy_versions(settings.app_id)
    other = tmp_path / "other" / "policy.toml"
    other.parent.mkdir()
    other.write_text(
        DEFAULT_POLICY.read_text(encoding="utf-8").replace("count = 10\n", "count = 11\n", 1), "utf-8"
    )

    first = worker(tmp_path, settings.env(), name="first").start()
    try:
        wait_for(lambda: mismatch(port) == 0, 90, "the first worker's heartbeat", first.log_path)
        [(instance, raw)] = store.hgetall(key).items()
        running = Running.decode(instance, raw)
        assert running is not None and running.version.startswith("2026-11-23+")

        env = {**settings.env(), "QUNGUARD_WEB_PORT": "0"}
        second = worker(tmp_path, {**env, "QUNGUARD_POLICY": str(other)}, name="second").start()
        assert exit_code(second) == 2, second.log_path.read_text()[-3000:]
        log = second.log_path.read_text()
        assert f"refused: consumer group '{settings.app_id}' already runs {running.version}" in log
        assert "Traceback" not in log
        assert list(store.hgetall(key)) == [instance]

        third_port = free_port()
        third = worker(tmp_path, {**env, "QUNGUARD_WEB_PORT": str(third_port)}, name="third").start()
        try:  # the same policy joins
            wait_for(lambda: mismatch(third_port) == 0, 90, "the third worker running", third.log_path)
            assert len(store.hkeys(key)) == 2
        finally:
            third.stop()
        assert list(store.hgetall(key)) == [instance], third.log_path.read_text()[
            -3000:
        ]  # a clean stop leaves

        # A rival that slipped in (started at the same moment, or could not reach Redis at start).
        seconds, micros = store.time()
        rival = Running("elsewhere:99", "2026-12-01+00000000", seconds + micros / 1e6)
        store.hset(key, rival.instance, rival.encode())
        wait_for(lambda: mismatch(port) == 1, 60, "qunguard_policy_mismatch 1", first.log_path)
        assert "policy mismatch in consumer group" in first.log_path.read_text()
        assert first.running
        store.hdel(key, rival.instance)
        wait_for(lambda: mismatch(port) == 0, 60, "qunguard_policy_mismatch back to 0", first.log_path)
    finally:
        first.stop()


def test_a_policy_with_mistakes_stops_the_worker_with_every_one_listed(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    path = edited(tmp_path, *FIVE_MISTAKES)
    settings = Settings(
        kafka_bootstrap=bootstrap, redis_url=redis_url, app_id=f"qg-bad-{unique}", policy_path=str(path)
    )
    started = time.monotonic()
    proc = worker(tmp_path, settings.env()).start()
    assert exit_code(proc) == 2
    log = proc.log_path.read_text()
    assert len([line for line in log.splitlines() if line.startswith(f"{path}: [rules.")]) == 6, log
    assert "Traceback" not in log
    assert time.monotonic() - started < 90
