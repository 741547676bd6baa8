"""Faust test_context() tests of the moderation agents, with in-memory sinks and reference data."""

from __future__ import annotations

import orjson
import pytest

from agents.connect.settings import Settings
from agents.runtime.deadletter import MemoryDeadLetterSink
from agents.worker.app import create_app
from agents.worker.ladder import forward_record
from agents.worker.outputs import MemoryViolationSink
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.detectors import build_detectors
from tests.reference_doubles import StaticReference
from topics.codec import decode_event


@pytest.fixture
def app():
    reference = StaticReference.sample()
    app = create_app(Settings(app_id="qunguard-unit"), reference=reference)
    app.finalize()
    app.flow_control.resume()
    app.moderator.violations = MemoryViolationSink()
    app.moderator.dead_letters = MemoryDeadLetterSink()
    app.moderator.forwarder = None  # no broker here: sender/member detectors run inline
    return app


def on_topic(agent, topic: str):
    """test_context() names a multi-topic channel "<internal>"; give put() records a real topic."""
    make = agent.to_message

    def to_message(key, value, **kwargs):
        record = make(key, value, **kwargs)
        record.topic = topic
        return record

    agent.to_message = to_message
    return agent


def message(event_id: str, text: str, **extra) -> bytes:
    record = {
        "kind": "message", "event_id": event_id, "ts": "2026-11-23T10:00:00+08:00",
        "group_id": "g-sales", "sender_id": "wx_wanglei", "sender_name": "销售部-王磊", "text": text,
    }  # fmt: skip
    return orjson.dumps({**record, **extra})


async def test_violation_from_message(app) -> None:
    agent = app.agents["moderate.group"]
    async with agent.test_context() as agent:
        on_topic(agent, "chat.messages")
        await agent.put(message("u-1", "今晚一起买六合彩,赌球稳赚"), key=b"g-sales")
        await agent.put(message("u-2", "华东区报价单已更新,下午前确认客户名单。"), key=b"g-sales")
    found = app.moderator.violations.records
    # without a forwarder the escalation ladder runs inline: the gambling warning follows
    assert [(v.rule, v.source_event_ids) for v in found] == [
        ("content.gambling", ("u-1",)),
        ("discipline.warning", ("u-1",)),
    ]
    assert found[0].employee_id == "E0006" and found[0].group_id == "g-sales"
    assert found[0].detected_at != found[0].event_ts  # live: wall clock
    assert found[1].detected_at != found[1].event_ts


async def test_poison_goes_to_dead_letters_and_agent_keeps_going(app) -> None:
    agent = app.agents["moderate.group"]
    async with agent.test_context() as agent:
        on_topic(agent, "chat.messages")
        await agent.put(b"\xff\xfe not json", key=b"g-x")
        await agent.put(orjson.dumps({"kind": "message", "event_id": "u-3"}), key=b"g-x")
        await agent.put(message("u-4", "今晚一起买六合彩,赌球稳赚"), key=b"g-sales")
    letters = app.moderator.dead_letters.records
    assert len(letters) == 2
    assert letters[0][0].value == b"\xff\xfe not json"
    assert "UTF-8" in letters[0][1]
    assert "field 'ts'" in letters[1][1]
    assert [v.source_event_ids for v in app.moderator.violations.records] == [("u-4",), ("u-4",)]


async def test_roster_event_refreshes_that_employee(app) -> None:
    agent = app.agents["moderate.hr.roster"]
    event = {"kind": "roster", "event_id": "r-1", "ts": "2026-11-23T10:00:00+08:00",
             "employee_id": "E0007", "change": "departed"}  # fmt: skip
    async with agent.test_context() as agent:
        await agent.put(orjson.dumps(event), key=b"E0007")
    assert "E0007" in app.moderator.reference.refreshed


async def test_employee_agent_runs_the_ladder_once_per_violation(app) -> None:
    """The `moderate.employee` agent over its changelog-backed table: three warnings of one
    employee in two groups convert to a demerit; a redelivered violation gives the same records
    again and counts nothing; a bad record goes to the dead letters."""
    employee = app.employee_agent
    employee.violations, employee.dead_letters = MemoryViolationSink(), MemoryDeadLetterSink()
    reference = app.moderator.reference  # detection outside the agent: state in memory
    engine = RuleEngine(app.moderator.engine.policy, reference, reference, build_detectors(load_policy()))
    found = []
    for event_id, group, text in (("u-11", "g-sales", "今晚一起买六合彩,赌球稳赚"),
                                  ("u-12", "g-rd", "赌球稳赚,加我带你上车买六合彩"),
                                  ("u-13", "g-sales", "六合彩今晚开奖,赌球稳赚不赔")):  # fmt: skip
        event = decode_event(message(event_id, text, group_id=group))
        found.extend(v for v in engine.process(event) if v.rule == "content.gambling")
    assert len(found) == 3 and employee.step.wants(found[0])
    agent = app.agents["moderate.employee"]
    async with agent.test_context() as agent:
        for violation in [found[0], found[1], found[1], found[2]]:
            record = forward_record(violation)
            await agent.put(record.value, key=record.key)
        await agent.put(b'{"violation_id": "v-1", "rule": "content.porn"}', key=b"E0006")
    out = employee.violations.records
    rules = [v.rule for v in out]
    assert rules.count("discipline.warning") == 4 and rules.count("discipline.demerit") == 1
    assert len({v.violation_id for v in out if v.rule.startswith("discipline.")}) == 4  # same ids again
    demerit = next(v for v in out if v.rule == "discipline.demerit")
    assert demerit.source_event_ids == ("u-13",) and demerit.employee_id == "E0006"
    [(_, reason)] = employee.dead_letters.records
    assert "severity" in reason


class RecordingForwarder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, object]] = []

    async def send(self, partition, key, record) -> None:
        self.sent.append((partition, key, record))


async def test_ladder_violations_go_out_at_once_and_to_the_employee_topic(app) -> None:
    """A gambling violation is emitted where it is found and forwarded for its steps only; an ad,
    whose actions depend on the ladder (2nd offence), waits for the employee agent."""
    from agents.worker.ladder import EMITTED, LADDER_HEADER

    app.moderator.forwarder = forwarder = RecordingForwarder()
    agent = app.agents["moderate.group"]
    async with agent.test_context() as agent:
        on_topic(agent, "chat.messages")
        await agent.put(message("u-21", "今晚一起买六合彩,赌球稳赚"), key=b"g-sales")
        await agent.put(message("u-22", "兼职刷单日结,加V信 haoyun668 详聊"), key=b"g-sales")
    emitted = [v.rule for v in app.moderator.violations.records]
    ladder = [
        (p, k, orjson.loads(r.value)["rule"], r.headers) for p, k, r in forwarder.sent if p == "employee"
    ]
    assert emitted == ["content.gambling"]
    assert ladder == [
        ("employee", "E0006", "content.gambling", ((LADDER_HEADER, EMITTED),)),
        ("employee", "E0006", "content.ad", ()),
    ]
    employee = app.employee_agent
    employee.violations, employee.dead_letters = MemoryViolationSink(), MemoryDeadLetterSink()
    async with app.agents["moderate.employee"].test_context() as agent:
        for _, key, record in forwarder.sent:
            await agent.put(record.value, key=key.encode(), headers=list(record.headers))
    assert [v.rule for v in employee.violations.records] == [
        "discipline.warning",
        "content.ad",
        "discipline.warning",
    ]
