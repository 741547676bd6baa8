"""Applying feedback (streams.feedback.apply) over the in-memory stores: the checks in order, what is
kept, and that applying again changes nothing more."""

from __future__ import annotations

from datetime import datetime

import pytest

from streams.feedback.apply import APPLIED, REPEATED, UNKNOWN, decide, keep
from streams.feedback.judges import NOT_A_JUDGE, OWN_VIOLATION, WRONG_GROUP, Judges
from streams.feedback.stores import FeedbackStores
from tests.support import SAMPLE_LEDGER, sample_violation, shipped_policy
from topics.feedback import CONFIRMED, FALSE_POSITIVE, MissedReport, Verdict

TS = datetime.fromisoformat("2026-11-23T11:00:00+08:00")


def verdict(kind: str = FALSE_POSITIVE, reviewer: str = "E0004", group: str = "g-sales", fid: str = "f-1"):
    return Verdict(fid, TS, "v-1", group, kind, reviewer)


@pytest.fixture
def stores() -> FeedbackStores:
    stores = FeedbackStores()
    stores.violations.keep(sample_violation())
    return stores


def outcome(feedback, stores: FeedbackStores) -> str:
    return decide(feedback, stores, SAMPLE_LEDGER, shipped_policy(), Judges()).outcome


def test_the_checks(stores: FeedbackStores) -> None:
    assert outcome(verdict(), stores) == APPLIED
    assert outcome(verdict(reviewer="E0010"), stores) == NOT_A_JUDGE
    assert outcome(verdict(reviewer="E0006"), stores) == OWN_VIOLATION  # the subject
    assert outcome(verdict(group="g-rd"), stores) == WRONG_GROUP
    assert outcome(Verdict("f-9", TS, "v-gone", "g-sales", CONFIRMED, "E0004"), stores) == UNKNOWN
    stores.applied.mark_applied("f-1")
    assert outcome(verdict(), stores) == REPEATED


def test_keep_stores_the_effects_and_counts_a_violation_once(stores: FeedbackStores) -> None:
    policy, judges = shipped_policy(), Judges()
    confirmed = decide(verdict(CONFIRMED), stores, SAMPLE_LEDGER, policy, judges)
    assert keep(confirmed, stores)
    assert not keep(
        decide(verdict(CONFIRMED, "E0005", fid="f-2"), stores, SAMPLE_LEDGER, policy, judges), stores
    )
    fp = decide(verdict(fid="f-3"), stores, SAMPLE_LEDGER, policy, judges)
    assert keep(fp, stores) and not keep(fp, stores)
    assert stores.tally.counts() == {"content.gambling": {FALSE_POSITIVE: 1}}
    assert len(list(stores.allow.entries())) == 1
    [example] = stores.examples.examples()  # one per rule and message: the latest verdict
    assert example.kind == "hard_negative"
    refused = decide(verdict(reviewer="E0010"), stores, SAMPLE_LEDGER, policy, judges)
    with pytest.raises(ValueError):
        keep(refused, stores)


def test_a_missed_report_keeps_a_positive_example(stores: FeedbackStores) -> None:
    report = MissedReport(
        "f-5", TS, "m-9", "g-sales", "content.ad", "E0004", "兼职日结,卡号 6222021234567890123 先交押金"
    )
    decision = decide(report, stores, SAMPLE_LEDGER, shipped_policy(), Judges())
    assert decision.outcome == APPLIED and not keep(decision, stores)
    [example] = stores.examples.examples()
    assert (example.rule, example.kind, example.verdict) == ("content.ad", "positive", "missed")
    assert "62220212345" not in example.text and "0123" in example.text  # masked as evidence is
    other = MissedReport("f-6", TS, "m-9", "g-sales", "content.ad", "E0010", "x")
    assert outcome(other, stores) == NOT_A_JUDGE
