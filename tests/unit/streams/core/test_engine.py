"""The shared rule engine and the policy file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import SAMPLE_DIR
from streams.core.detector import Finding
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RuleEngine
from streams.core.policy import DEFAULT_POLICY, PolicyError, load_policy
from topics.codec import decode_event
from topics.reference import read_roster

SPEC_RULES = {
    "content.political", "content.porn", "content.gambling", "content.violence", "content.malicious_link",
    "content.ad", "content.insult", "content.defamation", "content.inflammatory", "content.confidential",
    "content.rumor", "media.large_file", "flood.rate", "flood.duplicate", "flood.broadcast",
    "flood.mention_all", "chat.private_in_group", "hours.off_hours", "hours.urgent_needs_call", "ack.missing",
    "member.outsider", "member.invited_outsider", "member.departed", "member.unauthorized_leave",
    "member.nickname", "member.wrong_department", "member.required_missing", "group.unregistered",
    "group.owner_invalid", "group.name", "group.zombie", "group.expired", "discipline.warning",
    "discipline.demerit", "discipline.dismissal_review", "discipline.retracted",
}  # fmt: skip


class EveryMessage:
    """A detector that flags every message under one rule."""

    rules = ("flood.rate",)
    partition = "group"

    def __init__(self, rule: str = "flood.rate") -> None:
        self.rule = rule

    def detect(self, event, key, ctx):
        yield Finding(self.rule, event.ts, (event.event_id,), event.group_id, event.sender_id, {"n": 1})


def event(sender: str = "wx_wuting_work"):
    return decode_event(
        b'{"kind": "message", "event_id": "m-9", "ts": "2026-11-23T09:00:00+08:00", "group_id": "g-sales",'
        b' "sender_id": "' + sender.encode() + b'"}'
    )


def test_default_policy_covers_every_spec_rule() -> None:
    policy = load_policy()
    assert set(policy.rules) == SPEC_RULES
    assert policy.rule("content.confidential").severity == "critical"
    assert policy.rule("flood.rate").params == {"count": 10, "window_seconds": 60}


def test_engine_applies_policy_and_resolves_employee() -> None:
    roster = MemoryRoster(read_roster(SAMPLE_DIR / "roster.csv"))
    engine = RuleEngine(load_policy(), roster, MemoryLedger(), [EveryMessage()])
    [violation] = engine.process(event())
    assert violation.employee_id == "E0004"  # second account of 吴婷
    assert (violation.severity, violation.actions, violation.clause) == (
        "low",
        ("remind",),
        "D2 (二)2 D5.7.1",
    )
    assert violation.detected_at == violation.event_ts == "2026-11-23T09:00:00+08:00"
    assert engine.process(event("wx_stranger"))[0].employee_id is None


def test_live_clock_sets_detected_at() -> None:
    fixed = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)
    engine = RuleEngine(load_policy(), MemoryRoster(), MemoryLedger(), [EveryMessage()], clock=lambda: fixed)
    assert engine.process(event())[0].detected_at == "2026-11-23T01:02:03+00:00"


def test_disabled_rule_is_silent(tmp_path: Path) -> None:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    text = text.replace('[rules."flood.rate"]\n', '[rules."flood.rate"]\nenabled = false\n')
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)
    assert policy.version != load_policy().version
    assert RuleEngine(policy, MemoryRoster(), MemoryLedger(), [EveryMessage()]).process(event()) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [(('severity = "low"', 'severity = "urgent"'), "severity"), (("count = 10", "count = "), "")],
)
def test_bad_policy_is_rejected(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(DEFAULT_POLICY.read_text(encoding="utf-8").replace(*edit, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(path) in str(info.value) and message in str(info.value)
