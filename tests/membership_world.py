"""A small company for membership tests: roster, ledger, the membership detectors and event builders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RuleEngine
from streams.core.policy import Policy, load_policy
from streams.core.state import MemoryState
from streams.membership.detector import MembershipDetector
from streams.membership.member_index import MemberIndexDetector
from topics.codec import decode_event
from topics.events import Event, RosterEvent
from topics.reference import Employee, Group
from topics.timeutil import parse_ts
from topics.violation import Violation

EMPLOYEES = [
    Employee("E1", "周总", "总经办", "executive", "active", ("wx_boss",)),
    Employee("E2", "王经理", "销售部", "manager", "active", ("wx_wang", "wx_wang_work")),
    Employee("E3", "李娜", "销售部", "team_lead", "active", ("wx_lina",)),
    Employee("E4", "张伟", "销售部", "staff", "active", ("wx_zhangwei",)),
    Employee("E5", "孙浩", "财务部", "staff", "active", ("wx_sunhao",)),
    Employee("E6", "林峰", "研发部", "team_lead", "active", ("wx_linfeng",)),
    Employee("E7", "潘涛", "销售部", "staff", "departed", ("wx_pantao",), left_at=parse_ts("2026-05-31T18:00:00+08:00")),
    Employee("E8", "董明", "生产部", "staff", "active", ("wx_dongming", "wx_dm_2")),
    Employee("E9", "田甜", "研发部", "team_lead", "departed", ("wx_tiantian",)),
]  # fmt: skip


def group(group_id: str, name: str, kind: str, department: str = "销售部", **extra: Any) -> Group:
    base: dict[str, Any] = dict(owner_id="E2", admins=("E3",), approved=True, classified=False)
    base.update(extra)
    return Group(group_id=group_id, name=name, kind=kind, department=department, **base)


GROUPS = [
    group("g-all", "全员群", "company", "行政部", owner_id="E1", admins=()),
    group("g-sales", "销售部工作群", "department"),
    group("g-proj", "CRM项目组", "project"),
    group("g-fun", "羽毛球", "interest"),
    group("g-px", "PX-01", "project", classified=True),
    group("g-unapproved", "新媒体", "project", approved=False),
    group("g-old", "展会筹备", "project", expires_at=parse_ts("2026-09-30T18:00:00+08:00")),
]


class World:
    def __init__(self, policy: Policy | None = None, groups: list[Group] | None = None) -> None:
        self.policy = policy or load_policy()
        self.roster = MemoryRoster(EMPLOYEES)
        self.ledger = MemoryLedger(GROUPS if groups is None else groups)
        self.state = MemoryState()
        self.detectors = [
            MembershipDetector(self.policy, self.state),
            MemberIndexDetector(self.policy, self.state),
        ]
        self.engine = RuleEngine(self.policy, self.roster, self.ledger, self.detectors)
        self.count = 0

    def feed(self, event: Event) -> list[Violation]:
        if isinstance(event, RosterEvent):
            self.roster.apply(event)  # as replay does: the loader writes the roster before the event
        return self.engine.process(event)

    def sweep(self, now: str) -> list[Violation]:
        return self.engine.sweep(parse_ts(now))

    def next_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count:04d}"

    def member(self, action: str, group_id: str, member: str | None, ts: str = "2026-09-01T10:00:00+08:00",
               actor: str | None = None, nickname: str | None = None, name: str | None = None,
               event_id: str | None = None) -> Event:  # fmt: skip
        return decode_event(
            {"kind": "membership", "event_id": event_id or self.next_id("e"), "ts": ts, "group_id": group_id,
             "action": action, "member_id": member, "actor_id": actor, "nickname": nickname,
             "group_name": name}
        )  # fmt: skip

    def message(self, group_id: str, sender: str, ts: str, event_id: str | None = None) -> Event:
        return decode_event(
            {"kind": "message", "event_id": event_id or self.next_id("m"), "ts": ts, "group_id": group_id,
             "sender_id": sender, "text": "好的"}
        )  # fmt: skip

    def departed(self, employee_id: str, ts: str = "2026-10-01T10:00:00+08:00") -> Event:
        return decode_event(
            {"kind": "roster", "event_id": self.next_id("r"), "ts": ts, "employee_id": employee_id,
             "change": "departed"}
        )  # fmt: skip


def rules_of(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return sorted((v.rule, v.subject_id) for v in violations)


def at(day: int, hour: int = 10) -> str:
    return datetime(2026, 9, 1, hour).replace(day=day).strftime("%Y-%m-%dT%H:00:00+08:00")
