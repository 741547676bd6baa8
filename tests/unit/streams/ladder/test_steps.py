"""The escalation ladder (streams.ladder.steps, SPEC §4 D4.4) as a pure function over violations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streams.core.policy import DEFAULT_POLICY, PolicyError, load_policy
from streams.core.state import MemoryState
from streams.ladder.record import employee_record
from streams.ladder.steps import LADDER_MAP, Ladder
from tests.support import LADDER_START as START
from tests.support import ladder_violation as violation
from topics.codec import encode, loads
from topics.violation import Violation, violation_id

POLICY = load_policy()


def steps(records: list[Violation]) -> list[str]:
    return [r.rule for r in records[1:]]


@pytest.fixture
def ladder() -> Ladder:
    return Ladder(POLICY, MemoryState())


def test_three_warnings_convert_to_a_demerit_and_reset(ladder: Ladder) -> None:
    assert steps(ladder.process(violation("content.gambling"))) == ["discipline.warning"]
    assert steps(ladder.process(violation("content.porn", days=1))) == ["discipline.warning"]
    third = ladder.process(violation("content.malicious_link", days=2))
    assert steps(third) == ["discipline.warning", "discipline.demerit"]
    # the count starts again: the 4th and 5th warnings convert nothing, the 6th does
    assert steps(ladder.process(violation("content.gambling", days=3))) == ["discipline.warning"]
    assert steps(ladder.process(violation("member.invited_outsider", days=4))) == ["discipline.warning"]
    assert steps(ladder.process(violation("content.porn", days=5))) == [
        "discipline.warning",
        "discipline.demerit",
    ]


def test_the_third_demerit_converted_ones_included_and_every_later_one_issue_a_review(
    ladder: Ladder,
) -> None:
    for day in range(2):  # two warnings pending
        ladder.process(violation("content.porn", days=day))
    assert steps(ladder.process(violation("content.insult", days=2))) == ["discipline.demerit"]
    assert steps(ladder.process(violation("content.insult", days=3))) == ["discipline.demerit"]
    # the third warning converts: that is the third demerit
    assert steps(ladder.process(violation("content.porn", days=4))) == [
        "discipline.warning",
        "discipline.demerit",
        "discipline.dismissal_review",
    ]
    # counting goes on after the review, with no reset: the 4th demerit issues another
    fourth = ladder.process(violation("content.defamation", days=5))
    assert steps(fourth) == ["discipline.demerit", "discipline.dismissal_review"]
    assert fourth[-1].evidence["demerits"] == 4


def test_counts_cover_the_window_only(ladder: Ladder) -> None:
    ladder.process(violation("content.porn", days=0))
    ladder.process(violation("content.porn", days=100))
    # 366 days after the first: it has left the window, so this is the 2nd pending warning, not the 3rd
    assert steps(ladder.process(violation("content.porn", days=366))) == ["discipline.warning"]
    assert steps(ladder.process(violation("content.porn", days=367))) == [
        "discipline.warning",
        "discipline.demerit",
    ]
    state = ladder.state["E1"]
    assert [e["ts"] for e in state["entries"]] == [
        (START + timedelta(days=d)).timestamp() for d in (100, 366, 367)
    ]  # bounded: the expired entry is gone


def test_a_violation_older_than_the_window_counts_for_nothing(ladder: Ladder) -> None:
    ladder.process(violation("content.porn", days=400))
    late = violation("content.porn", days=0)
    assert ladder.process(late) == [late]
    assert len(ladder.state["E1"]["entries"]) == 1


def test_the_window_is_a_policy_setting(tmp_path) -> None:
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace("window_days = 365", "window_days = 7")
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    ladder = Ladder(load_policy(path), MemoryState())
    ladder.process(violation("content.porn", days=0))
    ladder.process(violation("content.porn", days=1))
    assert steps(ladder.process(violation("content.porn", days=8))) == ["discipline.warning"]


def test_bad_ladder_settings_are_policy_errors(tmp_path) -> None:
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "warnings_per_demerit = 3", "warnings_per_demerit = 0"
    )
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="warnings_per_demerit"):
        Ladder(load_policy(path), MemoryState())


def test_a_repeat_gives_back_exactly_the_first_records(ladder: Ladder) -> None:
    ladder.process(violation("content.porn", days=0))
    ladder.process(violation("content.porn", days=1))
    third = violation("content.porn", days=2)
    first = ladder.process(third)
    state = ladder.state["E1"]
    for _ in range(3):  # redelivered, replayed: the same records, nothing counted again
        assert ladder.process(third) == first
    assert ladder.state["E1"] == state
    assert steps(ladder.process(violation("content.porn", days=3))) == ["discipline.warning"]


def test_discipline_records_carry_the_trigger(ladder: Ladder) -> None:
    trigger = violation("content.insult", group="g-sales", subject="wx_second", event_id="m-77")
    record = ladder.process(trigger)[1]
    assert record.rule == "discipline.demerit"
    assert (record.subject_id, record.group_id, record.employee_id) == ("wx_second", "g-sales", "E1")
    assert record.source_event_ids == ("m-77",)
    assert (record.severity, record.actions, record.clause) == ("high", ("notify_hr",), "D4.4")
    assert record.evidence["violation_id"] == trigger.violation_id
    assert record.evidence["rule"] == "content.insult"
    assert record.evidence["demerits"] == 1
    assert record.violation_id == violation_id("discipline.demerit", "E1", None, (trigger.violation_id,))
    assert record.detected_at == record.event_ts  # replay semantics without a clock
    live = Ladder(POLICY, MemoryState(), clock=lambda: START + timedelta(days=9))
    assert live.process(trigger)[1].detected_at == (START + timedelta(days=9)).isoformat()


def test_state_is_json(ladder: Ladder) -> None:
    for day in range(4):
        ladder.process(violation("content.porn", days=day))
    value = ladder.state["E1"]
    assert loads(encode(value)) == value


def test_outsiders_have_no_ladder(ladder: Ladder) -> None:
    outsider = violation("content.porn", employee=None, subject="wx_guest")
    assert ladder.process(outsider) == [outsider]
    assert dict(ladder.state) == {}


def test_rules_without_a_ladder_pass_through(ladder: Ladder) -> None:
    rumor = violation("content.rumor")
    assert ladder.process(rumor) == [rumor]
    assert dict(ladder.state) == {}


def test_counts_are_per_employee_across_accounts_and_groups(ladder: Ladder) -> None:
    ladder.process(violation("content.porn", group="g-a", subject="wx_one"))
    ladder.process(violation("content.gambling", days=1, group="g-b", subject="wx_two"))
    assert steps(ladder.process(violation("content.porn", employee="E2", days=1))) == ["discipline.warning"]
    third = ladder.process(violation("content.violence", days=2, group="g-c", subject="wx_one"))
    assert steps(third) == ["discipline.warning", "discipline.demerit"]


def test_second_ad_by_one_employee_adds_remove_member_across_groups_and_accounts(ladder: Ladder) -> None:
    first = violation("content.ad", group="g-a", subject="wx_one")
    second = violation("content.ad", days=1, group="g-b", subject="wx_two")
    out = ladder.process(first)
    assert out[0] == first and "remove_member" not in out[0].actions
    again = ladder.process(second)
    assert again[0].actions == ("recall_message", "remove_member")
    assert again[0].violation_id == second.violation_id
    assert steps(again) == ["discipline.warning"]
    assert ladder.process(second)[0].actions == ("recall_message", "remove_member")  # on a repeat too
    # another employee's first ad is a first offence; an expired ad does not count
    assert "remove_member" not in ladder.process(violation("content.ad", employee="E2"))[0].actions
    assert "remove_member" in ladder.process(violation("content.ad", days=300))[0].actions
    assert "remove_member" not in ladder.process(violation("content.ad", employee="E3", days=0))[0].actions
    assert "remove_member" not in ladder.process(violation("content.ad", employee="E3", days=366))[0].actions


def test_a_disabled_step_is_counted_but_not_emitted(tmp_path) -> None:
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        '[rules."discipline.warning"]\n', '[rules."discipline.warning"]\nenabled = false\n'
    )
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    ladder = Ladder(load_policy(path), MemoryState())
    ladder.process(violation("content.porn"))
    assert steps(ladder.process(violation("content.porn", days=1))) == []
    assert steps(ladder.process(violation("content.porn", days=2))) == ["discipline.demerit"]


def test_employee_record_lists_steps_and_flags(ladder: Ladder) -> None:
    for day in range(2):
        ladder.process(violation("content.insult", days=day))
    ladder.process(violation("content.porn", days=2, group="g-z", subject="wx_two", event_id="m-900"))
    record = employee_record("E1", ladder.state["E1"], START + timedelta(days=3), ladder.rules)
    assert (record.warnings, record.demerits, record.reviews) == (1, 2, 0)
    assert record.flags == ("near review",)
    assert [s.step for s in record.steps] == [
        "discipline.demerit",
        "discipline.demerit",
        "discipline.warning",
    ]
    last = record.steps[-1]
    assert (last.rule, last.group_id, last.subject_id, last.event_ids) == (
        "content.porn", "g-z", "wx_two", ("m-900",)
    )  # fmt: skip
    # a year later everything has left the window
    later = employee_record("E1", ladder.state["E1"], START + timedelta(days=400), ladder.rules)
    assert (later.warnings, later.demerits, later.steps, later.flags) == (0, 0, (), ())


def test_near_demerit_and_review_flags(ladder: Ladder) -> None:
    ladder.process(violation("content.porn"))
    ladder.process(violation("content.porn", days=1))
    record = employee_record("E1", ladder.state["E1"], START + timedelta(days=2), ladder.rules)
    assert record.flags == ("near demerit",)
    for day in (3, 4):
        ladder.process(violation("content.insult", days=day))
    ladder.process(violation("content.porn", days=5))  # converts: the 3rd demerit, a review
    record = employee_record("E1", ladder.state["E1"], START + timedelta(days=6), ladder.rules)
    assert record.reviews == 1 and record.flags == ("review",)


def test_state_map_is_employee_partitioned() -> None:
    class Recording(MemoryState):
        def map(self, name, partition):
            self.asked = (name, partition)
            return super().map(name, partition)

    source = Recording()
    Ladder(POLICY, source)
    assert source.asked == (LADDER_MAP, "employee")
