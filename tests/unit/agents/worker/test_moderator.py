"""Moderator.handle follows the engine's routing plan: group keys run here, the others are forwarded."""

from __future__ import annotations

from typing import Any

import orjson

from agents.runtime.records import RawRecord
from agents.worker.moderator import Moderator
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.detectors import build_detectors
from tests.membership_world import EMPLOYEES
from tests.reference_doubles import StaticReference
from topics.catalog import MEMBERSHIP
from topics.codec import decode_event


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, *args: Any) -> None:
        self.sent.append(args)


def membership(event_id: str, action: str, member: str | None) -> dict[str, Any]:
    return {"kind": "membership", "event_id": event_id, "ts": "2026-09-01T10:00:00+08:00",
            "group_id": "g-proj", "action": action, "member_id": member, "actor_id": "wx_wang"}  # fmt: skip


def record(offset: int, doc: dict[str, Any]) -> RawRecord:
    return RawRecord(MEMBERSHIP.name, 0, offset, doc["group_id"].encode(), orjson.dumps(doc))


async def test_handle_forwards_the_plans_other_keys_fan_out_included() -> None:
    policy, reference = load_policy(), StaticReference(EMPLOYEES)
    engine = RuleEngine(policy, reference, reference, build_detectors(policy))
    forwarder, violations, dead_letters = Recorder(), Recorder(), Recorder()
    moderator = Moderator(engine, reference, violations, dead_letters, forwarder)
    for n, account in enumerate(("wx_zhangwei", "wx_lina")):
        await moderator.handle(record(n, membership(f"e-{n}", "member_joined", account)))
    assert [(partition, key) for partition, key, _ in forwarder.sent] == [
        ("member", "wx_zhangwei"),
        ("member", "wx_lina"),
    ]
    dissolved = membership("e-9", "group_dissolved", None)
    plan = engine.plan(decode_event(orjson.dumps(dissolved)))
    forwarder.sent.clear()
    await moderator.handle(record(9, dissolved))
    forwarded = [(partition, key) for partition, key, _ in forwarder.sent]
    assert forwarded == [(p, k) for p, keys in plan.others.items() for k in keys]
    assert forwarded == [("member", "wx_lina"), ("member", "wx_zhangwei")]
    assert dead_letters.sent == []
