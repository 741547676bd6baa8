"""What an admitted verdict or missed report does (streams.feedback.effects), and the in-memory stores."""

from __future__ import annotations

from datetime import datetime

import pytest

from streams.core.allow import allowing
from streams.feedback.effects import MISSED, Retraction, missed_effects, verdict_effects
from streams.feedback.judges import Judgement
from streams.feedback.stores import MemoryAllowEntries, MemoryAppliedFeedback, MemoryLabelledExamples
from streams.ladder.retraction import Cause
from tests.support import sample_violation
from topics.feedback import CONFIRMED, FALSE_POSITIVE, MissedReport, Verdict

TS = datetime.fromisoformat("2026-11-23T11:00:00+08:00")
OWNER = Judgement("owner", "E0004 owns g-sales in the ledger")
ADMINISTRATOR = Judgement("administrator", "E0001 is a policy administrator")


def verdict(kind: str = FALSE_POSITIVE, reviewer: str = "E0004", note: str = "说的是彩票站的新闻") -> Verdict:
    return Verdict("f-1", TS, "v-1", "g-sales", kind, reviewer, note)


def test_a_false_positive_allows_the_terms_in_the_group_retracts_and_keeps_an_example() -> None:
    effects = verdict_effects(verdict(), sample_violation(), OWNER)
    allow = effects.allow
    assert allow is not None
    assert (allow.rule, allow.group_id, allow.scope, allow.terms) == (
        "content.gambling",
        "g-sales",
        "g-sales",
        ("六合彩",),
    )
    assert (allow.violation_id, allow.feedback_id, allow.reviewer_id, allow.ts) == (
        "v-1", "f-1", "E0004", "2026-11-23T11:00:00+08:00")  # fmt: skip
    assert allow.note == "说的是彩票站的新闻"
    assert effects.retraction == Retraction(
        "E0006", "v-1", Cause("f-1", "E0004", "2026-11-23T11:00:00+08:00")
    )
    example = effects.example
    assert example is not None
    assert (example.text, example.rule, example.verdict, example.kind) == (
        "今晚买六合彩", "content.gambling", FALSE_POSITIVE, "hard_negative")  # fmt: skip


def test_an_administrators_false_positive_allows_company_wide() -> None:
    allow = verdict_effects(verdict(reviewer="E0001"), sample_violation(), ADMINISTRATOR).allow
    assert allow is not None and allow.group_id is None and allow.scope == "company"


def test_a_confirmed_verdict_only_keeps_a_positive_example() -> None:
    effects = verdict_effects(verdict(CONFIRMED), sample_violation(), OWNER)
    assert effects.allow is None and effects.retraction is None
    assert effects.example is not None and effects.example.kind == "positive"


def test_a_refused_verdict_has_no_effects() -> None:
    with pytest.raises(ValueError):
        verdict_effects(verdict(), sample_violation(), Judgement(None, "no", "not_a_judge"))


def test_confidential_values_are_masked_and_allowed_only_as_the_same_text() -> None:
    violation = sample_violation(
        "content.confidential",
        evidence={"terms": ["resident_id_number"], "excerpt": "我的身份证号11010519491231002X请查收"},
    )
    effects = verdict_effects(verdict(note="卡号6222020200112233445"), violation, OWNER)
    assert effects.allow is not None and effects.example is not None
    assert "0519491231" not in effects.allow.excerpt and "0519491231" not in effects.example.text
    assert "0200112233" not in effects.allow.note
    assert effects.allow.terms == ()  # by text: another ID number must not be allowed
    assert not effects.allow.covers("content.confidential", ["resident_id_number"], "另一个号码****")
    assert effects.allow.covers("content.confidential", ["resident_id_number"], effects.allow.excerpt)


def test_a_model_only_false_positive_is_allowed_by_its_text() -> None:
    violation = sample_violation(
        "content.insult", evidence={"terms": [], "excerpt": "你这方案真是绝了", "score": 0.91}
    )
    allow = verdict_effects(verdict(), violation, OWNER).allow
    assert allow is not None and allow.terms == ()
    assert allow.covers("content.insult", [], "你这方案真是绝了")
    assert not allow.covers("content.insult", [], "你这人真是绝了")


def test_a_non_content_false_positive_only_retracts() -> None:
    violation = sample_violation("member.invited_outsider", evidence={"member": "wx_x"})
    effects = verdict_effects(verdict(), violation, OWNER)
    assert (effects.allow, effects.example) == (None, None)
    assert effects.retraction is not None and effects.retraction.violation_id == "v-1"


def test_a_false_positive_on_a_discipline_step_retracts_its_violation() -> None:
    step = sample_violation(
        "discipline.warning", violation_id="v-step", evidence={"violation_id": "v-trigger"}
    )
    effects = verdict_effects(
        Verdict("f-1", TS, "v-step", "g-sales", FALSE_POSITIVE, "E0010"), step, Judgement("hr", "HR")
    )
    assert effects.retraction is not None and effects.retraction.violation_id == "v-trigger"
    assert (effects.allow, effects.example) == (None, None)
    retracted = sample_violation("discipline.retracted", evidence={"violation_id": "v-trigger"})
    assert verdict_effects(verdict(), retracted, Judgement("hr", "HR")).retraction is None


def test_an_outsiders_violation_retracts_nothing() -> None:
    assert verdict_effects(verdict(), sample_violation(employee_id=None), OWNER).retraction is None


def test_a_missed_report_of_a_content_rule_is_a_positive_example_masked() -> None:
    report = MissedReport("f-2", TS, "m-7", "g-sales", "content.confidential", "E0004", "密码是abc12345")
    example = missed_effects(report).example
    assert example is not None
    assert (example.verdict, example.kind, example.rule) == (MISSED, "positive", "content.confidential")
    assert "abc12345" not in example.text
    assert (
        missed_effects(MissedReport("f-3", TS, "m-8", "g-sales", "flood.rate", "E0004", "刷屏")).example
        is None
    )
    assert (
        missed_effects(MissedReport("f-4", TS, "m-8", "g-sales", "content.ad", "E0004", "")).example is None
    )


def test_one_example_per_rule_and_message_the_latest_verdict_wins() -> None:
    examples = MemoryLabelledExamples(limit=2)
    first = verdict_effects(verdict(CONFIRMED), sample_violation(), OWNER).example
    second = verdict_effects(verdict(FALSE_POSITIVE), sample_violation(), OWNER).example
    assert first is not None and second is not None and first.example_id == second.example_id
    examples.add(first)
    examples.add(second)
    assert [e.verdict for e in examples.examples()] == [FALSE_POSITIVE]
    for n in range(3):
        report = MissedReport(f"f-{n}", TS, f"m-{n}", "g-sales", "content.ad", "E0004", f"加V{n}")
        examples.add(missed_effects(report).example)  # type: ignore[arg-type]
    assert [e.text for e in examples.examples()] == ["加V1", "加V2"]  # bounded: the oldest go first


def test_allow_entries_apply_to_their_group_and_company_wide() -> None:
    store = MemoryAllowEntries()
    in_group = verdict_effects(verdict(), sample_violation(), OWNER).allow
    company = verdict_effects(
        verdict(reviewer="E0001"),
        sample_violation(evidence={"terms": ["百家乐"], "excerpt": "百家乐"}),
        ADMINISTRATOR,
    ).allow
    assert in_group is not None and company is not None
    store.add(in_group)
    store.add(in_group)  # the same false alarm judged again is the same entry
    store.add(company)
    assert len(list(store.entries())) == 2
    assert allowing(store.for_group("g-sales"), "content.gambling", ["六合彩"], "…") == in_group
    assert allowing(store.for_group("g-rd"), "content.gambling", ["六合彩"], "…") is None
    assert allowing(store.for_group("g-rd"), "content.gambling", ["百家乐"], "…") == company
    assert store.remove(in_group.entry_id) and not store.remove(in_group.entry_id)
    assert allowing(store.for_group("g-sales"), "content.gambling", ["六合彩"], "…") is None


def test_applied_feedback_ids() -> None:
    applied = MemoryAppliedFeedback()
    assert not applied.applied("f-1")
    applied.mark_applied("f-1")
    assert applied.applied("f-1")
