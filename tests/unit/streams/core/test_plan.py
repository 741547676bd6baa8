"""RuleEngine.plan: the one routing plan replay (`process`) and the live worker follow."""

from __future__ import annotations

from typing import Any

from streams.core.detector import Finding
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RoutingPlan, RuleEngine
from streams.core.policy import load_policy
from streams.detectors import build_detectors
from tests.membership_world import EMPLOYEES, World
from topics.codec import decode_event
from topics.events import Event

POLICY = load_policy()


class Recording:
    """A detector of one partitioning that logs each (partition, key) it runs for."""

    rules = ("flood.rate",)

    def __init__(self, partition: str, calls: list[tuple[str, str]]) -> None:
        self.partition = partition
        self.calls = calls

    def detect(self, event: Event, key: str, ctx: Any):
        self.calls.append((self.partition, key))
        return [Finding("flood.rate", event.ts, (event.event_id,), None, key)]


def message(text: str, sender: str = "wx_lina") -> Event:
    return decode_event(
        {"kind": "message", "event_id": f"m-{len(text)}", "ts": "2026-09-01T10:00:00+08:00",
         "group_id": "g-sales", "sender_id": sender, "text": text}
    )  # fmt: skip


def test_process_runs_exactly_the_plan_group_keys_first() -> None:
    calls: list[tuple[str, str]] = []
    detectors = [Recording(p, calls) for p in ("member", "sender", "group")]
    engine = RuleEngine(POLICY, MemoryRoster(EMPLOYEES), MemoryLedger(), detectors)
    event = message("好的")
    plan = engine.plan(event)
    assert plan == RoutingPlan(group=("g-sales",), others={"sender": ("wx_lina",), "member": ()})
    found = engine.process(event)
    assert calls == [("group", "g-sales"), ("sender", "wx_lina")]
    assert [v.subject_id for v in found] == ["g-sales", "wx_lina"]


def test_a_partitioning_no_detector_wants_the_event_for_gets_no_key() -> None:
    engine = RuleEngine(POLICY, MemoryRoster(EMPLOYEES), MemoryLedger(), build_detectors(POLICY))
    assert engine.partitions() == ("group", "sender", "member")
    assert engine.plan(message("好的")).others == {"sender": (), "member": ()}  # shorter than min_chars
    long = message("今晚八点全体线上会议请准时参加谢谢")
    assert engine.plan(long) == RoutingPlan(("g-sales",), {"sender": ("wx_lina",), "member": ()})


def test_a_roster_change_runs_for_the_employees_accounts_only() -> None:
    world = World()
    plan = world.engine.plan(world.departed("E2"))
    assert plan == RoutingPlan(group=(), others={"member": ("wx_wang", "wx_wang_work")})


def test_fanout_keys_are_read_before_the_group_detectors_clear_them() -> None:
    world = World()
    for account in ("wx_zhangwei", "wx_lina"):
        world.feed(world.member("member_joined", "g-proj", account, actor="wx_wang"))
    dissolved = world.member("group_dissolved", "g-proj", None, actor="wx_wang")
    assert world.engine.plan(dissolved).others == {"member": ("wx_lina", "wx_zhangwei")}
    world.feed(dissolved)  # the group detector forgets the members ...
    assert world.engine.plan(dissolved).others == {"member": ()}
    _, index = world.detectors  # ... and the plan already took the dissolution to their index entries
    assert index.groups_of("wx_lina") == {} and index.groups_of("wx_zhangwei") == {}
