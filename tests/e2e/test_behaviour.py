"""Behaviour rules over the real broker: one flood.rate per burst; a worker restarted mid-window
still fires when the window completes (state from the changelog); a notice whose deadline
passes while the worker is stopped fires after the restart.

Event times are the wall clock at the test's start (plus offsets), because the live sweep fires
deadlines at wall-clock time. The acknowledgement test uses a policy copy with a 10.8-second
deadline (via QUNGUARD_POLICY), and the first worker a tick interval of an hour, so that worker
cannot fire the deadline before it stops: only the restarted worker's sweep can. The restarted
worker has a fresh data directory, so its state can only come from the changelog topics.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agents.connect.offsets import committed_offsets
from agents.dev.embedded import worker
from streams.core.policy import DEFAULT_POLICY
from tests.support import Scene, distinct, read_until

MIB = 1024 * 1024


def wait_committed(
    bootstrap: str, group: str, positions: list[tuple[str, int, int]], timeout: float = 120
) -> None:
    """Until the worker's consumer group has committed past every (topic, partition, offset)."""
    wanted: dict[tuple[str, int], int] = {}
    for topic, partition, offset in positions:
        wanted[(topic, partition)] = max(wanted.get((topic, partition), -1), offset)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        committed = committed_offsets(bootstrap, group, list(wanted))
        if all(committed.get(tp, -1) > offset for tp, offset in wanted.items()):
            return
        time.sleep(0.5)
    raise AssertionError(f"offsets {wanted} not committed by {group}")


def test_a_burst_gives_exactly_one_flood_rate(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    scene = Scene(unique, tmp_path)
    settings = scene.settings(bootstrap, redis_url)
    scene.load_reference(settings)
    proc = worker(tmp_path, settings.env()).start()
    try:
        burst = scene.burst(2 * i for i in range(15))  # 15 messages in 28 s: one burst
        # then a large file in the same group, hence the same partition: once its violation is
        # out, every burst message before it has been processed
        marker = scene.message(scene.chat, scene.staff, 40, msg_type="file",
                               attachment={"name": "a.zip", "size": 30 * MIB})  # fmt: skip
        scene.produce(bootstrap, [*burst, marker])
        seen = read_until(bootstrap, lambda msgs: distinct(msgs, {marker[1]}), timeout=120)
        assert distinct(seen, {marker[1]}), proc.log_path.read_text()[-3000:]
        found = distinct(seen, set(scene.ids(burst)), "flood.rate")
        assert len(found) == 1, found
        assert found[0]["source_event_ids"] == scene.ids(burst)[:10]
        assert found[0]["subject_id"] == scene.flooder and found[0]["group_id"] == scene.chat
        assert proc.running
    finally:
        proc.stop()


def test_windows_and_deadlines_survive_a_restart(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    scene = Scene(unique, tmp_path)
    policy = tmp_path / "policy.toml"
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    policy.write_text(text.replace("deadline_hours = 4\n", "deadline_hours = 0.003\n"), encoding="utf-8")
    deadline = scene.start + timedelta(seconds=0.003 * 3600)
    first = scene.settings(bootstrap, redis_url, policy_path=str(policy), tick_interval=3600.0)
    scene.load_reference(first)

    proc = worker(tmp_path, first.env(), name="worker1").start()
    try:
        # the lead must be a known member before the notice is processed (another topic)
        wait_committed(
            bootstrap, first.app_id, scene.produce(bootstrap, [scene.present(scene.notices, scene.lead)])
        )
        notice = scene.message(scene.notices, scene.staff, 0, text="【通知】今天下班前提交周报")
        first_half = scene.burst(range(5))
        wait_committed(bootstrap, first.app_id, scene.produce(bootstrap, [notice, *first_half]))
    finally:
        proc.stop()
    log1 = proc.log_path.read_text()

    while datetime.now(UTC) < deadline + timedelta(seconds=1):  # the deadline passes while stopped
        time.sleep(0.5)
    second_half = scene.burst(range(5, 10))
    scene.produce(bootstrap, second_half)
    # a restarted worker may skip records (faust#596) until the stall guard reads them again
    second = scene.settings(bootstrap, redis_url, policy_path=str(policy), tick_interval=1.0, stall_after=5.0)
    proc = worker(tmp_path, second.env(), name="worker2").start()  # fresh data dir: changelog only
    try:
        burst_ids = set(scene.ids(first_half + second_half))

        def done(msgs) -> bool:
            return bool(
                distinct(msgs, burst_ids, "flood.rate") and distinct(msgs, {notice[1]}, "ack.missing")
            )

        seen = read_until(bootstrap, done, timeout=150)
        tail = log1[-2000:] + proc.log_path.read_text()[-3000:]
        rate = distinct(seen, burst_ids, "flood.rate")
        assert [v["source_event_ids"] for v in rate] == [scene.ids(first_half + second_half)], (rate, tail)
        ack = distinct(seen, {notice[1]}, "ack.missing")
        assert [(v["subject_id"], v["group_id"]) for v in ack] == [(scene.lead, scene.notices)], tail
        assert ack[0]["event_ts"] == deadline.isoformat()
        assert proc.running
    finally:
        proc.stop()
