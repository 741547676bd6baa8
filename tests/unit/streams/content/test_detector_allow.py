"""Reviewers' allow entries in the content detector (streams.core.allow): a finding an entry covers
in the message's group, or company-wide, is cancelled; in another group it still fires."""

from __future__ import annotations

from datetime import datetime

import pytest

from streams.content.detector import ContentDetector
from streams.core.allow import AllowEntry, allow_entry_id
from streams.core.detector import Context
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.feedback.stores import MemoryAllowEntries
from tests.support import shipped_policy
from topics.events import MessageEvent

TS = datetime.fromisoformat("2026-11-23T10:00:00+08:00")


def entry(
    group: str | None, terms: tuple[str, ...], excerpt: str = "", rule: str = "content.gambling"
) -> AllowEntry:
    return AllowEntry(allow_entry_id(rule, group, terms, excerpt), rule, group, terms, excerpt, "v-1", "f-1",
                      "E0004", "2026-11-23T11:00:00+08:00")  # fmt: skip


@pytest.fixture(scope="module")
def detector() -> ContentDetector:
    return ContentDetector(shipped_policy(), MemoryAllowEntries())


def rules(detector: ContentDetector, text: str, group: str) -> list[str]:
    event = MessageEvent(event_id="m-1", ts=TS, group_id=group, sender_id="wx_a", text=text)
    ctx = Context(shipped_policy(), MemoryRoster(), MemoryLedger())
    return [f.rule for f in detector.detect(event, group, ctx)]


def test_by_terms_in_one_group_or_company_wide(detector: ContentDetector) -> None:
    allow = detector.allow
    assert isinstance(allow, MemoryAllowEntries)
    assert rules(detector, "六合彩中了吗", "g-a") == ["content.gambling"]
    allow.add(entry("g-a", ("六合彩",)))
    assert rules(detector, "六合彩中了吗", "g-a") == []
    assert rules(detector, "六合彩中了吗", "g-b") == ["content.gambling"]
    assert rules(detector, "今晚买六合彩", "g-a") == ["content.gambling"]  # a term the entry does not hold
    allow.add(entry(None, ("六合彩",)))
    assert rules(detector, "六合彩中了吗", "g-b") == []
    allow.remove(entry(None, ("六合彩",)).entry_id)
    allow.remove(entry("g-a", ("六合彩",)).entry_id)


def test_by_text_only_the_same_excerpt(detector: ContentDetector) -> None:
    allow = detector.allow
    assert isinstance(allow, MemoryAllowEntries)
    text = "客户报销要身份证号,是 11010519491231002X"
    event = MessageEvent(event_id="m-2", ts=TS, group_id="g-a", sender_id="wx_a", text=text)
    ctx = Context(shipped_policy(), MemoryRoster(), MemoryLedger())
    [finding] = [f for f in ContentDetector(shipped_policy()).detect(event, "g-a", ctx)
                 if f.rule == "content.confidential"]  # fmt: skip
    allow.add(entry("g-a", (), finding.evidence["excerpt"], "content.confidential"))
    assert "content.confidential" not in rules(detector, text, "g-a")
    assert "content.confidential" in rules(detector, "另一位客户的身份证号 11010519491231002X", "g-a")
    assert detector.allowed("g-b", "content.confidential", finding.evidence) is None
