"""Who may judge a violation (streams.feedback.judges, SPEC §2)."""

from __future__ import annotations

from datetime import datetime

import pytest

from config import SAMPLE_DIR
from streams.core.policy import load_policy
from streams.feedback.judges import (
    ADMIN,
    ADMINISTRATOR,
    HR,
    NOT_A_JUDGE,
    OWN_VIOLATION,
    OWNER,
    SECURITY,
    WRONG_GROUP,
    Judges,
    judge_report,
    judge_verdict,
)
from tests.support import sample_violation, shipped_policy
from topics.feedback import FALSE_POSITIVE, MissedReport, Verdict
from topics.reference import read_ledger

LEDGER = {g.group_id: g for g in read_ledger(SAMPLE_DIR / "ledger.csv")}
SALES = LEDGER["g-sales"]  # owner E0004, admin E0005
JUDGES = Judges(hr=frozenset({"E0010"}), security=frozenset({"E0011"}), administrators=frozenset({"E0001"}))
TS = datetime.fromisoformat("2026-11-23T11:00:00+08:00")


def verdict(reviewer: str, group: str = "g-sales", violation_id: str = "v-1") -> Verdict:
    return Verdict("f-1", TS, violation_id, group, FALSE_POSITIVE, reviewer)


def role(reviewer: str, rule: str = "content.gambling", group=SALES, **fields) -> str | None:
    judged = sample_violation(rule, **fields)
    return judge_verdict(verdict(reviewer), judged, group, JUDGES).role


@pytest.mark.parametrize(
    ("reviewer", "rule", "expected"),
    [
        ("E0004", "content.gambling", OWNER),
        ("E0005", "content.gambling", ADMIN),
        ("E0001", "content.gambling", ADMINISTRATOR),
        ("E0009", "content.gambling", None),  # owner of another group
        ("E0010", "content.gambling", None),  # HR judges discipline records only
        ("E0011", "content.gambling", None),  # gambling is not reported to the security office
        ("E0011", "content.political", SECURITY),  # report_security
        ("E0010", "discipline.warning", HR),
        ("E0001", "discipline.demerit", ADMINISTRATOR),
        ("E0004", "discipline.warning", None),  # a group owner does not judge discipline records
    ],
)
def test_who_may_judge(reviewer: str, rule: str, expected: str | None) -> None:
    assert role(reviewer, rule) == expected


def test_a_refusal_says_why() -> None:
    judgement = judge_verdict(verdict("E0009"), sample_violation(), SALES, JUDGES)
    assert not judgement.allowed and judgement.refusal == NOT_A_JUDGE
    assert "E0009" in judgement.reason and "g-sales" in judgement.reason


def test_nobody_judges_their_own_violation() -> None:
    judgement = judge_verdict(verdict("E0004"), sample_violation(employee_id="E0004"), SALES, JUDGES)
    assert judgement.refusal == OWN_VIOLATION
    assert role("E0001", employee_id="E0001") is None  # an administrator neither


def test_a_group_missing_from_the_ledger_leaves_owners_out() -> None:
    assert role("E0004", group=None) is None
    assert role("E0001", group=None) == ADMINISTRATOR


def test_a_verdict_naming_another_group_is_refused() -> None:
    judgement = judge_verdict(verdict("E0004", group="g-rd"), sample_violation(), SALES, JUDGES)
    assert judgement.refusal == WRONG_GROUP


def test_a_verdict_for_another_violation_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        judge_verdict(verdict("E0004", violation_id="v-2"), sample_violation(), SALES, JUDGES)


def test_only_administrators_judge_company_wide() -> None:
    violation = sample_violation()
    assert judge_verdict(verdict("E0001"), violation, SALES, JUDGES).company_wide
    assert not judge_verdict(verdict("E0004"), violation, SALES, JUDGES).company_wide


def test_missed_reports_follow_the_same_rules_with_the_policys_actions() -> None:
    policy = shipped_policy()

    def report(reviewer: str, rule: str) -> str | None:
        missed = MissedReport("f-2", TS, "m-9", "g-sales", rule, reviewer, "……")
        return judge_report(missed, policy, SALES, JUDGES).role

    assert report("E0005", "content.ad") == ADMIN
    assert report("E0011", "content.confidential") == SECURITY
    assert report("E0009", "content.ad") is None


def test_judges_take_administrators_from_the_policy(tmp_path) -> None:
    text = (shipped_policy().base_dir / "policy.toml").read_text(encoding="utf-8")
    (tmp_path / "policy.toml").write_text(
        text.replace("administrators = []", 'administrators = ["E0001"]'), encoding="utf-8"
    )
    judges = Judges.of(load_policy(tmp_path / "policy.toml"), hr=["E0010"], security=("E0011",))
    assert judges == JUDGES
    assert Judges.of(shipped_policy()).administrators == frozenset()
