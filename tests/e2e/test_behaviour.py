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
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from confluent_kafka import Producer

from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config
from agents.connect.offsets import committed_offsets
from agents.connect.settings import Settings
from agents.dev.embedded import worker
from agents.intake.loaders import load_ledger, load_roster
from streams.core.policy import DEFAULT_POLICY
from tests.support import read_until
from topics.catalog import MEMBERSHIP, MESSAGES, VIOLATIONS

ROSTER_HEADER = "employee_id,name,department,title,rank,status,accounts,left_at\n"
LEDGER_HEADER = (
    "group_id,name,kind,department,owner_id,admins,purpose,created_at,expires_at,approved,classified\n"
)
MIB = 1024 * 1024


class Scene:
    """Accounts, groups and reference files unique to one test (the broker is shared)."""

    def __init__(self, unique: str, tmp_path: Path) -> None:
        self.u, self.dir = unique, tmp_path
        self.lead, self.staff, self.flooder = f"wx_{unique}_lead", f"wx_{unique}_staff", f"wx_{unique}_flood"
        self.notices, self.chat = f"g-{unique}-notices", f"g-{unique}-chat"
        self.start = datetime.now(UTC).replace(microsecond=0)
        self.count = 0

    def settings(self, bootstrap: str, redis_url: str, **kw) -> Settings:
        return Settings(
            kafka_bootstrap=bootstrap, redis_url=redis_url, app_id=f"qg-behaviour-{self.u}",
            session_timeout=6.0, max_poll_interval=10.0, commit_interval=0.5, **kw,
        )  # fmt: skip

    def load_reference(self, settings: Settings) -> None:
        roster = self.dir / "roster.csv"
        roster.write_text(
            ROSTER_HEADER
            + f"E{self.u}1,李娜,销售部,组长,team_lead,active,{self.lead},\n"
            + f"E{self.u}2,张伟,销售部,销售代表,staff,active,{self.staff},\n"
            + f"E{self.u}3,赵磊,销售部,销售代表,staff,active,{self.flooder},\n",
            encoding="utf-8",
        )
        ledger = self.dir / "ledger.csv"  # interest groups: no off-hours findings at any wall-clock time
        ledger.write_text(
            LEDGER_HEADER
            + f"{self.notices},通知群,interest,行政部,E{self.u}1,,,,,true,false\n"
            + f"{self.chat},闲聊群,interest,行政部,E{self.u}1,,,,,true,false\n",
            encoding="utf-8",
        )
        create_topics(settings.kafka_bootstrap)
        load_ledger(ledger, settings)
        load_roster(roster, settings, publish=False)

    def message(self, group: str, sender: str, seconds: float, **fields) -> tuple[str, str, str, bytes]:
        self.count += 1
        event_id = f"m-{self.u}-{self.count}"
        ts = (self.start + timedelta(seconds=seconds)).isoformat()
        record = {"kind": "message", "event_id": event_id, "ts": ts, "group_id": group, "sender_id": sender,
                  "text": fields.pop("text", f"第{self.count}条"), **fields}  # fmt: skip
        return MESSAGES.name, event_id, group, orjson.dumps(record)

    def present(self, group: str, member: str) -> tuple[str, str, str, bytes]:
        self.count += 1
        event_id = f"e-{self.u}-{self.count}"
        record = {"kind": "membership", "event_id": event_id, "ts": self.start.isoformat(), "group_id": group,
                  "action": "member_present", "member_id": member}  # fmt: skip
        return MEMBERSHIP.name, event_id, group, orjson.dumps(record)

    def burst(self, seconds: Iterable[float]) -> list[tuple[str, str, str, bytes]]:
        return [self.message(self.chat, self.flooder, s) for s in seconds]


def produce(bootstrap: str, records: list[tuple[str, str, str, bytes]]) -> list[tuple[str, int, int]]:
    """Produce (topic, event id, key, value) records; return each one's (topic, partition, offset)."""
    producer = Producer(producer_config(bootstrap, "e2e-behaviour"))
    delivered: list[tuple[str, int, int]] = []
    for topic, _, key, value in records:
        producer.produce(
            topic, key=key.encode(), value=value,
            on_delivery=lambda err, msg: delivered.append((msg.topic(), msg.partition(), msg.offset())),
        )  # fmt: skip
    assert producer.flush(10) == 0
    assert len(delivered) == len(records)
    return delivered


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


def violations(msgs, event_ids: set[str], rule: str | None = None) -> list[dict]:
    """Distinct violations (by violation id: delivery is at-least-once, and a reader re-reads
    from the start after a rebalance) on any of `event_ids`."""
    found = [orjson.loads(m.value()) for m in msgs if m.topic() == VIOLATIONS.name]
    distinct = {v["violation_id"]: v for v in found}
    return [
        v for v in distinct.values() if set(v["source_event_ids"]) & event_ids and rule in (None, v["rule"])
    ]


def ids(records: list[tuple[str, str, str, bytes]]) -> list[str]:
    return [event_id for _, event_id, _, _ in records]


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
        produce(bootstrap, [*burst, marker])
        seen = read_until(bootstrap, lambda msgs: violations(msgs, {marker[1]}), timeout=120)
        assert violations(seen, {marker[1]}), proc.log_path.read_text()[-3000:]
        found = violations(seen, set(ids(burst)), "flood.rate")
        assert len(found) == 1, found
        assert found[0]["source_event_ids"] == ids(burst)[:10]
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
            bootstrap, first.app_id, produce(bootstrap, [scene.present(scene.notices, scene.lead)])
        )
        notice = scene.message(scene.notices, scene.staff, 0, text="【通知】今天下班前提交周报")
        first_half = scene.burst(range(5))
        wait_committed(bootstrap, first.app_id, produce(bootstrap, [notice, *first_half]))
    finally:
        proc.stop()
    log1 = proc.log_path.read_text()

    while datetime.now(UTC) < deadline + timedelta(seconds=1):  # the deadline passes while stopped
        time.sleep(0.5)
    second_half = scene.burst(range(5, 10))
    produce(bootstrap, second_half)
    second = scene.settings(bootstrap, redis_url, policy_path=str(policy), tick_interval=1.0)
    proc = worker(tmp_path, second.env(), name="worker2").start()  # fresh data dir: changelog only
    try:
        burst_ids = set(ids(first_half + second_half))

        def done(msgs) -> bool:
            return bool(
                violations(msgs, burst_ids, "flood.rate") and violations(msgs, {notice[1]}, "ack.missing")
            )

        seen = read_until(bootstrap, done, timeout=150)
        tail = log1[-2000:] + proc.log_path.read_text()[-3000:]
        rate = violations(seen, burst_ids, "flood.rate")
        assert [v["source_event_ids"] for v in rate] == [ids(first_half + second_half)], (rate, tail)
        ack = violations(seen, {notice[1]}, "ack.missing")
        assert [(v["subject_id"], v["group_id"]) for v in ack] == [(scene.lead, scene.notices)], tail
        assert ack[0]["event_ts"] == deadline.isoformat()
        assert proc.running
    finally:
        proc.stop()
