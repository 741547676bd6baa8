"""A small company for the behaviour-rule tests: roster, ledger, the behaviour detectors, builders.

The membership detector runs first, as in streams.detectors: it keeps the group membership the
behaviour rules read. Only the behaviour rules' violations are returned (the membership rules
have their own world, tests/membership_world.py).

State goes through `JsonState`, which stores each value as JSON bytes the way a changelog does:
a detector that mutated a value it read instead of assigning a new one would lose the change
here exactly as it would live, and a non-JSON value fails at once.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from streams.behaviour.detectors import behaviour_detectors
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RuleEngine
from streams.core.policy import DEFAULT_POLICY, Policy, load_policy
from streams.membership.detector import MembershipDetector
from topics.events import Attachment, Event, MembershipEvent, MessageEvent
from topics.reference import Employee, Group
from topics.timeutil import parse_ts
from topics.violation import Violation

EMPLOYEES = [
    Employee("E1", "周总", "总经办", "executive", "active", ("wx_boss",)),
    Employee("E2", "王经理", "销售部", "manager", "active", ("wx_wang", "wx_wang_work")),
    Employee("E3", "李娜", "销售部", "team_lead", "active", ("wx_lina",)),
    Employee("E4", "张伟", "销售部", "staff", "active", ("wx_zhangwei",)),
    Employee("E5", "赵磊", "销售部", "team_lead", "active", ("wx_zhaolei",)),
    Employee("E6", "田甜", "销售部", "team_lead", "departed", ("wx_tiantian",)),
    Employee("E7", "陈静", "销售部", "staff", "active", ("wx_chenjing",)),
]  # fmt: skip


def group(group_id: str, kind: str) -> Group:
    return Group(group_id=group_id, name=group_id, kind=kind, department="销售部", owner_id="E2", admins=())


GROUPS = [group("g-sales", "department"), group("g-proj", "project"), group("g-all", "company"),
          group("g-fun", "interest"), group("g-ops", "department")]  # fmt: skip

T0 = parse_ts("2026-09-22T10:00:00+08:00")  # a Tuesday, a working day


class JsonState:
    """A StateSource whose maps keep JSON bytes, like a changelog-backed table."""

    def __init__(self) -> None:
        self.maps: dict[str, JsonMap] = {}

    def map(self, name: str, partition: str) -> JsonMap:
        return self.maps.setdefault(name, JsonMap())


class JsonMap(MutableMapping[str, Any]):
    def __init__(self) -> None:
        self.raw: dict[str, bytes] = {}

    def __getitem__(self, key: str) -> Any:
        return orjson.loads(self.raw[key])

    def __setitem__(self, key: str, value: Any) -> None:
        self.raw[key] = orjson.dumps(value)

    def __delitem__(self, key: str) -> None:
        del self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.raw))

    def __len__(self) -> int:
        return len(self.raw)


class World:
    def __init__(self, policy: Policy | None = None, groups: list[Group] | None = None) -> None:
        self.policy = policy or load_policy()
        self.roster = MemoryRoster(EMPLOYEES)
        self.ledger = MemoryLedger(GROUPS if groups is None else groups)
        self.state = JsonState()
        self.membership = MembershipDetector(self.policy, self.state)
        self.detectors = behaviour_detectors(self.policy, self.state, self.membership)
        self.rules = frozenset(rule for detector in self.detectors for rule in detector.rules)
        self.engine = RuleEngine(self.policy, self.roster, self.ledger, [self.membership, *self.detectors])
        self._ids = 0

    def next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids:04d}"

    def feed(self, *events: Event) -> list[Violation]:
        found: list[Violation] = []
        for event in events:
            found.extend(self.engine.process(event))
        return self._behaviour(found)

    def sweep(self, now: datetime) -> list[Violation]:
        return self._behaviour(self.engine.sweep(now))

    def _behaviour(self, found: list[Violation]) -> list[Violation]:
        return [v for v in found if v.rule in self.rules]

    def message(
        self, sender: str, at: datetime | float, group_id: str = "g-sales", **kw: Any
    ) -> MessageEvent:
        ts = at if isinstance(at, datetime) else T0 + timedelta(seconds=at)
        if isinstance(kw.get("attachment"), dict):
            kw["attachment"] = Attachment(**kw["attachment"])
        return MessageEvent(
            event_id=kw.pop("event_id", None) or self.next_id("m"),
            ts=ts,
            group_id=group_id,
            sender_id=sender,
            text=kw.pop("text", f"第{self._ids}条消息"),
            **kw,
        )

    def member(self, action: str, member: str | None, at: datetime | float = -3600, group_id: str = "g-sales",
               **kw: Any) -> MembershipEvent:  # fmt: skip
        ts = at if isinstance(at, datetime) else T0 + timedelta(seconds=at)
        return MembershipEvent(
            event_id=kw.pop("event_id", None) or self.next_id("e"),
            ts=ts,
            group_id=group_id,
            action=action,
            member_id=member,
            **kw,
        )

    def members(self, group_id: str, accounts: list[str], at: float = -3600) -> None:
        self.feed(*(self.member("member_present", a, at, group_id) for a in accounts))

    def state_bytes(self, name: str) -> int:
        return sum(len(raw) for raw in self.state.maps[name].raw.values())


def policy_with(tmp_path: Path, section: str, old: str, new: str) -> Policy:
    """The default policy with `old` replaced by `new` in `section` (inserted when `old` is "")."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    start = text.index(section + "\n") + len(section) + 1
    if old:
        at = text.index(old, start)
        text = text[:at] + new + text[at + len(old) :]
    else:
        text = text[:start] + new + "\n" + text[start:]
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


def rules_of(found: list[Violation], prefix: str = "") -> list[tuple[str, str | None]]:
    return sorted((v.rule, v.subject_id) for v in found if v.rule.startswith(prefix))


def only(found: list[Violation], rule: str) -> list[Violation]:
    return [v for v in found if v.rule == rule]
