"""Bursts do not evict (agents.dev.bursts; full size: ops/bursts.py, figures in docs/runtime.md):
a roster load that publishes 20,000 hr.roster events while a worker runs, and 2,000 violations
for a notifier whose webhook takes 0.5 s a request, both with a 5 s max poll interval (before,
the roster burst pushed the worker out of its group within seconds). Each consumer stays in its
group (no rejoin, no UnknownMemberId in its log), commits everything, and nothing is delivered
twice or out of order. And a consumer whose revocation outlasted its max poll interval rejoins
its group by itself instead of waiting outside it for the watchdog."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config
from agents.dev.bursts import (
    LogMark,
    SlowWebhook,
    burst_settings,
    roster_burst,
    violation_records,
    wait_ready,
    webhook_burst,
    write_notify_config,
)
from agents.dev.embedded import notifier, tansu
from agents.intake.loaders import load_ledger, load_roster
from agents.notify.run import NotifySettings
from config import SAMPLE_DIR
from topics.catalog import VIOLATIONS


@pytest.fixture(scope="module")
def burst_bootstrap(tmp_path_factory: pytest.TempPathFactory):
    """A broker for the two bursts: their 20,000 hr.roster events and 2,000 violations would
    otherwise be read again by every later test's fresh consumer group (a worker of a later test
    took minutes to catch up with the roster events, and was evicted under load)."""
    service = tansu(tmp_path_factory.mktemp("burst-broker")).start()
    yield f"127.0.0.1:{service.port}"
    service.stop()


def test_a_roster_burst_keeps_the_worker_in_its_group(burst_bootstrap: str, redis_url: str, unique: str,
                                                     tmp_path: Path) -> None:  # fmt: skip
    report = roster_burst(burst_bootstrap, redis_url, tmp_path, 20_000, f"qg-burst-{unique}", max_poll_interval=5.0,
                          timeout=300)  # fmt: skip
    assert report.complete, report.summary()
    assert report.evictions == [] and report.exited is None, report.summary()
    assert report.judged_as == "B0019983"  # the worker knows the last employee the burst added


def test_a_slow_webhook_burst_keeps_the_notifier_in_its_group(burst_bootstrap: str, redis_url: str,
                                                             unique: str, tmp_path: Path) -> None:  # fmt: skip
    report = webhook_burst(burst_bootstrap, redis_url, tmp_path, 2_000, f"qg-burst-notify-{unique}", delay=0.5,
                           concurrency=32, recipients=200, max_poll_interval=5.0, timeout=300)  # fmt: skip
    assert report.complete, report.summary()
    assert report.evictions == [] and report.exited is None, report.summary()
    assert report.delivered == 2_000 and report.duplicates == 0, report.summary()
    assert report.out_of_order == 0, report.summary()  # one recipient's messages are not overtaken
    assert 1 < report.most_in_flight <= 32, report.summary()  # side by side, within the limit


@pytest.fixture
def empty_bootstrap(tmp_path_factory: pytest.TempPathFactory):
    """A broker of its own: a new notifier group reads moderation.violations from the start, and
    the bursts' broker holds thousands of violations for its slow webhook."""
    service = tansu(tmp_path_factory.mktemp("rejoin-broker")).start()
    yield f"127.0.0.1:{service.port}"
    service.stop()


def test_a_revocation_longer_than_the_max_poll_interval_is_followed_by_a_rejoin(
    empty_bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    """A second notifier joins while the first is delivering to a webhook that takes 8 s: the
    first's revocation waits for that delivery, past its 5 s max poll interval. Before, it then
    never rejoined (aiokafka does not rejoin a consumer that has not polled for that long, and
    Faust does not poll while it rebalances) and sat outside its group until the watchdog."""
    bootstrap = empty_bootstrap
    hook = SlowWebhook(8.0, f"v-{unique}")
    hook.start()
    hook.ready.wait(10)
    group = f"qg-rejoin-{unique}"
    settings = burst_settings(bootstrap, redis_url, group, max_poll_interval=5.0)
    config = write_notify_config(tmp_path / "notify.toml", hook.url, concurrency=1)
    env = {**settings.env(), **NotifySettings(str(config), group).env()}
    create_topics(bootstrap)
    load_ledger(SAMPLE_DIR / "ledger.csv", settings)
    load_roster(SAMPLE_DIR / "roster.csv", settings, publish=False)
    first, second = notifier(tmp_path, env, "first"), notifier(tmp_path, env, "second")
    try:
        first.start()
        wait_ready(first)
        mark = LogMark(first.log_path)
        producer = Producer(producer_config(bootstrap, "rejoin-test"))
        for value in violation_records(f"v-{unique}", 3, 3):
            producer.produce(VIOLATIONS.name, key=b"g-sales", value=value)
        producer.flush(10)
        deadline = time.monotonic() + 60
        while hook.in_flight < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert hook.in_flight == 1, first.log_path.read_text()[-3000:]
        second.start()
        deadline = time.monotonic() + 120
        while not any("Setting newly assigned partitions" in line for line in mark.lines()):
            assert time.monotonic() < deadline, first.log_path.read_text()[-3000:]
            time.sleep(0.5)
        lines = mark.lines()
        revoked = next(n for n, line in enumerate(lines) if "Revoking previously assigned" in line)
        assert any("(Re-)joining group" in line for line in lines[revoked:])
        deadline = time.monotonic() + 60
        while hook.counted() < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        ids = [body["message_id"] for body in hook.received if hook.ours(body)]
        assert len(ids) == len(set(ids)) == 3 and first.running and second.running
    finally:
        first.stop()
        second.stop()
        hook.stop()
