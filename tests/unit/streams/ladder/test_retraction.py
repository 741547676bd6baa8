"""Retraction (streams.ladder.retraction): a violation judged a false positive withdraws the ladder steps
that stood on it, with one discipline.retracted record per step, idempotently."""

from __future__ import annotations

import copy

import pytest

from streams.core.policy import load_policy
from streams.core.state import MemoryState
from streams.ladder.record import employee_record
from streams.ladder.retraction import CONVERSION, FALSE_POSITIVE, THRESHOLD, Cause, retract, retract_violation
from streams.ladder.steps import Ladder, step_id
from tests.support import LADDER_START as START
from tests.support import ladder_violation as violation
from topics.violation import Violation

POLICY = load_policy()
CAUSE = Cause("f-1", "E0004", "2026-06-01T10:00:00+08:00")


@pytest.fixture
def ladder() -> Ladder:
    return Ladder(POLICY, MemoryState())


def steps(records: list[Violation]) -> list[str]:
    return [r.rule for r in records[1:]]


def withdrawn(records: list[Violation]) -> list[tuple[str, str, str]]:
    """(withdrawn step, the violation that had issued it, reason) per retraction record."""
    assert {r.rule for r in records} <= {"discipline.retracted"}
    return [(r.evidence["step"], r.evidence["violation_id"], r.evidence["reason"]) for r in records]


def record(ladder: Ladder):
    return employee_record("E1", ladder.state.get("E1"), START.replace(year=2026, month=7), ladder.rules)


def test_a_warning_is_withdrawn_and_no_longer_counts(ladder: Ladder) -> None:
    first, second = violation("content.porn"), violation("content.gambling", days=1)
    ladder.process(first)
    ladder.process(second)
    records = retract_violation(ladder, "E1", first.violation_id, CAUSE)
    assert withdrawn(records) == [("discipline.warning", first.violation_id, FALSE_POSITIVE)]
    [retraction] = records
    assert retraction.violation_id != step_id("discipline.warning", "E1", first.violation_id)
    assert (retraction.severity, retraction.actions, retraction.clause) == ("info", ("notify_hr",), "D5.9")
    assert (retraction.employee_id, retraction.group_id, retraction.subject_id) == ("E1", "g-a", "wx_a")
    assert retraction.source_event_ids == first.source_event_ids
    assert retraction.event_ts == retraction.detected_at == CAUSE.at  # replay semantics: the verdict's time
    assert retraction.evidence | {"window_days": 0} == {
        "step": "discipline.warning", "step_violation_id": step_id("discipline.warning", "E1", first.violation_id),
        "violation_id": first.violation_id, "rule": "content.porn", "reason": FALSE_POSITIVE,
        "retracted_violation_id": first.violation_id, "retracted_rule": "content.porn", "feedback_id": "f-1",
        "reviewer_id": "E0004", "warnings": 1, "demerits": 0, "window_days": 0,
    }  # fmt: skip
    # one warning pending now, so two more are needed for a demerit
    assert steps(ladder.process(violation("content.porn", days=2))) == ["discipline.warning"]
    assert steps(ladder.process(violation("content.porn", days=3))) == [
        "discipline.warning",
        "discipline.demerit",
    ]


def test_a_converted_demerit_falls_and_the_other_warnings_are_pending_again(ladder: Ladder) -> None:
    warnings = [violation("content.porn", days=d) for d in range(3)]
    for v in warnings:
        ladder.process(v)
    assert record(ladder).demerits == 1
    records = retract_violation(ladder, "E1", warnings[0].violation_id, CAUSE)
    assert withdrawn(records) == [
        ("discipline.warning", warnings[0].violation_id, FALSE_POSITIVE),
        ("discipline.demerit", warnings[2].violation_id, CONVERSION),
    ]
    assert records[-1].evidence["warnings"] == 2 and records[-1].evidence["demerits"] == 0
    now = record(ladder)
    assert (now.warnings, now.demerits, now.violations) == (2, 0, 2)
    # the next warning is the third pending one: a demerit again
    assert steps(ladder.process(violation("content.porn", days=3))) == [
        "discipline.warning",
        "discipline.demerit",
    ]


def test_retracting_the_warning_that_converted_withdraws_its_own_demerit(ladder: Ladder) -> None:
    warnings = [violation("content.porn", days=d) for d in range(3)]
    for v in warnings:
        ladder.process(v)
    records = retract_violation(ladder, "E1", warnings[2].violation_id, CAUSE)
    assert withdrawn(records) == [
        ("discipline.warning", warnings[2].violation_id, FALSE_POSITIVE),
        ("discipline.demerit", warnings[2].violation_id, FALSE_POSITIVE),
    ]
    assert (record(ladder).warnings, record(ladder).demerits) == (2, 0)


def test_a_review_falls_when_its_demerits_drop_below_the_threshold(ladder: Ladder) -> None:
    demerits = [violation("content.insult", days=d) for d in range(4)]
    issued = [steps(ladder.process(v)) for v in demerits]
    assert issued[2:] == [["discipline.demerit", "discipline.dismissal_review"]] * 2
    records = retract_violation(ladder, "E1", demerits[0].violation_id, CAUSE)
    # the 3rd demerit's review counted 3 and now 2: it falls; the 4th's counted 4, now 3: it stands
    assert withdrawn(records) == [
        ("discipline.demerit", demerits[0].violation_id, FALSE_POSITIVE),
        ("discipline.dismissal_review", demerits[2].violation_id, THRESHOLD),
    ]
    now = record(ladder)
    assert (now.demerits, now.reviews) == (3, 1)
    assert [(s.step, s.violation_id) for s in now.steps if s.step.endswith("review")] == [
        ("discipline.dismissal_review", demerits[3].violation_id)
    ]


def test_a_fallen_conversion_takes_its_review_with_it(ladder: Ladder) -> None:
    for day in range(2):
        ladder.process(violation("content.insult", days=day))  # two demerits
    warnings = [violation("content.porn", days=2 + d) for d in range(3)]
    for v in warnings:
        ladder.process(v)  # the third converts: the third demerit, with a review
    records = retract_violation(ladder, "E1", warnings[1].violation_id, CAUSE)
    assert withdrawn(records) == [
        ("discipline.warning", warnings[1].violation_id, FALSE_POSITIVE),
        ("discipline.demerit", warnings[2].violation_id, CONVERSION),
        ("discipline.dismissal_review", warnings[2].violation_id, CONVERSION),
    ]
    assert (record(ladder).warnings, record(ladder).demerits, record(ladder).reviews) == (2, 2, 0)


def test_retraction_is_idempotent_and_repeats_the_same_records(ladder: Ladder) -> None:
    warnings = [violation("content.porn", days=d) for d in range(3)]
    for v in warnings:
        ladder.process(v)
    first = retract_violation(ladder, "E1", warnings[0].violation_id, CAUSE)
    state = copy.deepcopy(ladder.state["E1"])
    again = retract_violation(
        ladder, "E1", warnings[0].violation_id, Cause("f-2", "E0005", "2026-06-02T00:00:00+08:00")
    )
    assert again == first
    assert ladder.state["E1"] == state
    # a redelivered violation that was retracted counts nothing and issues no step
    assert steps(ladder.process(warnings[0])) == []
    assert ladder.state["E1"] == state


def test_a_second_retraction_in_the_same_conversion_withdraws_only_its_warning(ladder: Ladder) -> None:
    warnings = [violation("content.porn", days=d) for d in range(3)]
    for v in warnings:
        ladder.process(v)
    retract_violation(ladder, "E1", warnings[0].violation_id, CAUSE)
    records = retract_violation(ladder, "E1", warnings[1].violation_id, CAUSE)
    assert withdrawn(records) == [("discipline.warning", warnings[1].violation_id, FALSE_POSITIVE)]
    assert record(ladder).warnings == 1


def test_a_reconversion_after_a_retraction_falls_when_one_of_its_warnings_is_retracted(
    ladder: Ladder,
) -> None:
    w = [violation("content.porn", days=d) for d in range(4)]
    for v in w[:3]:
        ladder.process(v)
    retract_violation(ladder, "E1", w[0].violation_id, CAUSE)
    assert steps(ladder.process(w[3])) == ["discipline.warning", "discipline.demerit"]  # converts w1, w2, w3
    records = retract_violation(ladder, "E1", w[2].violation_id, CAUSE)
    assert withdrawn(records) == [
        ("discipline.warning", w[2].violation_id, FALSE_POSITIVE),
        ("discipline.demerit", w[3].violation_id, CONVERSION),
    ]
    assert (record(ladder).warnings, record(ladder).demerits) == (2, 0)


def test_a_retracted_first_offence_is_no_first_offence(ladder: Ladder) -> None:
    first = violation("content.ad")
    ladder.process(first)
    retract_violation(ladder, "E1", first.violation_id, CAUSE)
    second = ladder.process(violation("content.ad", days=1))
    assert "remove_member" not in second[0].actions


def test_nothing_to_retract_gives_nothing(ladder: Ladder) -> None:
    ladder.process(violation("content.porn"))
    assert retract_violation(ladder, "E1", "v-unknown", CAUSE) == []
    assert retract_violation(ladder, "E9", "v-unknown", CAUSE) == []


def test_a_disabled_retracted_rule_still_retracts_but_emits_nothing(tmp_path) -> None:
    text = (POLICY.base_dir / "policy.toml").read_text(encoding="utf-8")
    marker = '[rules."discipline.retracted"]\n'
    (tmp_path / "policy.toml").write_text(
        text.replace(marker, marker + "enabled = false\n"), encoding="utf-8"
    )
    ladder = Ladder(load_policy(tmp_path / "policy.toml"), MemoryState())
    first = violation("content.porn")
    ladder.process(first)
    assert retract_violation(ladder, "E1", first.violation_id, CAUSE) == []
    assert record(ladder).warnings == 0


def test_the_record_lists_withdrawn_steps_with_why(ladder: Ladder) -> None:
    warnings = [violation("content.porn", days=d) for d in range(3)]
    for v in warnings:
        ladder.process(v)
    retract_violation(ladder, "E1", warnings[0].violation_id, CAUSE)
    now = record(ladder)
    assert [s.step for s in now.steps] == ["discipline.warning", "discipline.warning"]
    assert [
        (s.step, s.violation_id, s.reason, s.retracted_violation_id, s.reviewer_id, s.at)
        for s in now.withdrawn
    ] == [
        (
            "discipline.warning",
            warnings[0].violation_id,
            FALSE_POSITIVE,
            warnings[0].violation_id,
            "E0004",
            CAUSE.at,
        ),
        (
            "discipline.demerit",
            warnings[2].violation_id,
            CONVERSION,
            warnings[0].violation_id,
            "E0004",
            CAUSE.at,
        ),
    ]
    assert now.to_dict()["withdrawn"][0]["feedback_id"] == "f-1"


def test_retract_leaves_its_input_alone(ladder: Ladder) -> None:
    first = violation("content.porn")
    ladder.process(first)
    entries = ladder.state["E1"]["entries"]
    before = copy.deepcopy(entries)
    after, changed = retract(entries, first.violation_id, CAUSE, ladder.rules)
    assert changed and entries == before and after != before


def test_states_written_before_conversions_listed_their_warnings_still_retract(ladder: Ladder) -> None:
    warnings = [violation("content.porn", days=d) for d in range(4)]
    for v in warnings:
        ladder.process(v)
    state = ladder.state["E1"]
    ladder.state["E1"] = {
        **state,
        "entries": [{k: v for k, v in e.items() if k != "converts"} for e in state["entries"]],
    }
    records = retract_violation(ladder, "E1", warnings[1].violation_id, CAUSE)
    assert withdrawn(records)[1] == ("discipline.demerit", warnings[2].violation_id, CONVERSION)
    assert record(ladder).warnings == 3  # the 1st and 3rd pending again, the 4th was pending
