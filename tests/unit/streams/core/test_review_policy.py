"""The policy for reviewers' feedback: discipline.retracted is a rule like its siblings, and
[review] administrators names who may judge any violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.core.policy import DEFAULT_POLICY, PolicyError, load_policy
from streams.core.state import MemoryState
from streams.ladder.steps import Ladder


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_shipped_policy_has_discipline_retracted() -> None:
    rule = load_policy().rule("discipline.retracted")
    assert (rule.severity, rule.actions, rule.clause, rule.ladder) == ("info", ("notify_hr",), "D5.9", "none")


def test_a_policy_without_discipline_retracted_is_refused(tmp_path: Path) -> None:
    path = edited(tmp_path, '[rules."discipline.retracted"]', '[rules."discipline.retracted.gone"]')
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert any("discipline.retracted" in p for p in caught.value.problems)


def test_the_ladder_needs_discipline_retracted() -> None:
    Ladder(load_policy(), MemoryState())  # the shipped policy has every discipline rule


@pytest.mark.parametrize("value", ['"E0001"', "[1]", '[""]'])
def test_administrators_must_be_a_list_of_employee_ids(tmp_path: Path, value: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(edited(tmp_path, "administrators = []", f"administrators = {value}"))
    assert any("review" in p and "administrators" in p for p in caught.value.problems), caught.value.problems


def test_administrators_are_read(tmp_path: Path) -> None:
    policy = load_policy(edited(tmp_path, "administrators = []", 'administrators = ["E0001", "E0002"]'))
    assert policy.section("review")["administrators"] == ["E0001", "E0002"]
