"""The `moderate.feedback` agent in Faust's test_context(), with the in-memory feedback stores: a
false positive by the group owner retracts the warning and allows the message in that group only; a
refused, repeated or unknown verdict changes nothing; a bad record is dead-lettered."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from prometheus_client import REGISTRY

from agents.connect.settings import Settings
from agents.runtime.deadletter import MemoryDeadLetterSink
from agents.worker.app import create_app
from agents.worker.ladder import LADDER_HEADER, RETRACT, decode_retraction, retraction_record
from agents.worker.outputs import InlineKeeper, KeptViolationSink, MemoryViolationSink
from streams.feedback.judges import Judges
from tests.reference_doubles import StaticReference
from topics.feedback import CONFIRMED, FALSE_POSITIVE, Verdict

TS = datetime.fromisoformat("2026-11-23T11:00:00+08:00")
GAMBLING = "兄弟们今晚一起买六合彩吗,赌球也行"


@pytest.fixture
def app():
    app = create_app(Settings(app_id="qunguard-unit-feedback"), reference=StaticReference.sample(),
                     judges=Judges(hr=frozenset({"E0014"})))  # fmt: skip
    app.finalize()
    app.flow_control.resume()
    kept = MemoryViolationSink()
    app.moderator.violations = KeptViolationSink(kept, InlineKeeper(app.feedback_agent.stores.violations))
    app.moderator.dead_letters = MemoryDeadLetterSink()
    app.moderator.forwarder = None  # the ladder and retractions run inline
    app.kept = kept
    return app


def message(event_id: str, group: str = "g-sales", text: str = GAMBLING) -> bytes:
    return orjson.dumps({"kind": "message", "event_id": event_id, "ts": "2026-11-23T10:00:00+08:00",
                         "group_id": group, "sender_id": "wx_wanglei", "text": text})  # fmt: skip


def verdict(feedback_id: str, violation_id: str, reviewer: str, kind: str = FALSE_POSITIVE) -> bytes:
    return Verdict(feedback_id, TS, violation_id, "g-sales", kind, reviewer, "彩票站的新闻").to_bytes()


async def put(app, agent_name: str, *records: tuple[bytes, bytes], topic: str) -> None:
    agent = app.agents[agent_name]
    async with agent.test_context() as agent:
        make = agent.to_message

        def to_message(key, value, **kwargs):
            record = make(key, value, **kwargs)
            record.topic = topic
            return record

        agent.to_message = to_message
        for value, key in records:
            await agent.put(value, key=key)


def reviewed(rule: str, verdict: str) -> float:
    return REGISTRY.get_sample_value("qunguard_reviewed_total", {"rule": rule, "verdict": verdict}) or 0.0


def outcomes(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("qunguard_feedback_total", {"kind": "verdict", "outcome": outcome}) or 0.0
    )


async def test_false_positive_by_the_owner_retracts_and_allows_in_that_group_only(app) -> None:
    await put(app, "moderate.group", (message("fb-1"), b"g-sales"), topic="chat.messages")
    gambling, warning = app.kept.records
    assert (gambling.rule, warning.rule) == ("content.gambling", "discipline.warning")
    before, refused = reviewed("content.gambling", FALSE_POSITIVE), outcomes("not_a_judge")

    await put(
        app,
        "moderate.feedback",
        (verdict("f-x", gambling.violation_id, "E0010"), b"g-sales"),  # not the owner: refused
        (verdict("f-1", gambling.violation_id, "E0004"), b"g-sales"),  # the ledger owner of g-sales
        (verdict("f-1", gambling.violation_id, "E0004"), b"g-sales"),  # the same feedback again
        (verdict("f-2", "v-unknown", "E0004"), b"g-sales"),
        (b'{"kind": "verdict", "feedback_id": "f-3"}', b"g-sales"),  # no verdict: a dead letter
        topic="moderation.feedback",
    )
    retracted = [v for v in app.kept.records if v.rule == "discipline.retracted"]
    assert len(retracted) == 1, app.kept.records
    assert retracted[0].evidence["retracted_violation_id"] == gambling.violation_id
    assert retracted[0].evidence["step"] == "discipline.warning"
    assert reviewed("content.gambling", FALSE_POSITIVE) == before + 1
    assert outcomes("not_a_judge") == refused + 1
    [(letter, reason)] = app.moderator.dead_letters.records
    assert letter.value.startswith(b'{"kind": "verdict"') and "field 'verdict'" in reason
    [entry] = app.feedback_agent.stores.allow.entries()
    assert (entry.group_id, entry.reviewer_id, entry.feedback_id) == ("g-sales", "E0004", "f-1")

    app.kept.records.clear()
    await put(app, "moderate.group", (message("fb-2"), b"g-sales"), (message("fb-3", "g-rd"), b"g-rd"),
              topic="chat.messages")  # fmt: skip
    assert [(v.rule, v.group_id) for v in app.kept.records if v.rule.startswith("content.")] == [
        ("content.gambling", "g-rd")
    ]


async def test_hr_judges_a_step_and_a_confirmed_verdict_only_counts(app) -> None:
    await put(app, "moderate.group", (message("fb-11"), b"g-sales"), topic="chat.messages")
    gambling, warning = app.kept.records
    confirmed = reviewed("content.gambling", CONFIRMED)
    await put(
        app,
        "moderate.feedback",
        (verdict("f-11", gambling.violation_id, "E0005", CONFIRMED), b"g-sales"),  # an admin of g-sales
        (verdict("f-12", warning.violation_id, "E0004"), b"g-sales"),  # the owner may not judge a step
        topic="moderation.feedback",
    )
    assert reviewed("content.gambling", CONFIRMED) == confirmed + 1
    assert not [v for v in app.kept.records if v.rule == "discipline.retracted"]
    await put(app, "moderate.feedback", (verdict("f-13", warning.violation_id, "E0014"), b"g-sales"),
              topic="moderation.feedback")  # fmt: skip
    [retracted] = [v for v in app.kept.records if v.rule == "discipline.retracted"]
    assert retracted.evidence["reviewer_id"] == "E0014"
    assert not list(app.feedback_agent.stores.allow.entries())  # a step carries no text to allow


async def test_with_a_forwarder_the_retraction_goes_to_the_employee_agent(app) -> None:
    class Forwarder:
        def __init__(self) -> None:
            self.sent: list = []

        async def send(self, partition, key, record) -> None:
            self.sent.append((partition, key, record))

    await put(app, "moderate.group", (message("fb-21"), b"g-sales"), topic="chat.messages")
    gambling, _ = app.kept.records
    app.moderator.forwarder = forwarder = Forwarder()
    await put(app, "moderate.feedback", (verdict("f-21", gambling.violation_id, "E0004"), b"g-sales"),
              topic="moderation.feedback")  # fmt: skip
    [(partition, key, record)] = forwarder.sent
    assert (partition, key, record.headers) == ("employee", "E0006", ((LADDER_HEADER, RETRACT),))
    assert retraction_record(decode_retraction(record.value)) == record
    employee = app.employee_agent
    employee.violations, employee.dead_letters = MemoryViolationSink(), MemoryDeadLetterSink()
    agent = app.agents["moderate.employee"]
    async with agent.test_context() as agent:
        await agent.put(record.value, key=b"E0006", headers=list(record.headers))
        await agent.put(record.value, key=b"E0006", headers=list(record.headers))  # again: same records
        await agent.put(b'{"employee_id": "E0006"}', key=b"E0006", headers=list(record.headers))
    rules = [(v.rule, v.violation_id) for v in employee.violations.records]
    assert len(rules) == 2 and rules[0] == rules[1] and rules[0][0] == "discipline.retracted"
    [(_, reason)] = employee.dead_letters.records
    assert "feedback_id" in reason
