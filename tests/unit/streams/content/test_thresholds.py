"""The thresholds training suggests: one benign budget spent over the heads (`within_budget`)."""

from __future__ import annotations

from streams.content.thresholds import Curve, suggest_threshold, within_budget
from streams.core.policy_schema import PUBLIC_INSULT_HEAD

BENIGN = 1000  # benign turns out of fold


def _curve(positives: list[float], benign: list[float]) -> Curve:
    """A head's leave-one-author-out scores (its positives) and benign scores padded to BENIGN."""
    return Curve(positives, [True] * len(positives), benign + [0.0] * (BENIGN - len(benign)))


def test_recall_that_costs_no_ordinary_chat_is_taken_whatever_the_budget() -> None:
    curves = {"content.ad": _curve([0.95, 0.9, 0.8, 0.7], [])}
    assert within_budget({"content.ad": 0.7}, curves, budget=0.0) == {"content.ad": 0.7}


def test_the_budget_goes_where_it_buys_most_recall() -> None:
    # a: 3 more positives for 1 benign turn; b: 1 more positive for 1 benign turn. Room for one turn.
    curves = {
        "content.a": _curve([0.99, 0.9, 0.9, 0.9], [0.9]),
        "content.b": _curve([0.99, 0.9], [0.9]),
    }
    got = within_budget({"content.a": 0.9, "content.b": 0.9}, curves, budget=0.001)
    assert got == {"content.a": 0.9, "content.b": 0.99}


def test_a_head_never_goes_below_its_own_suggestion_and_keeps_none() -> None:
    curves = {
        "content.a": _curve([0.99, 0.8, 0.6], []),
        "content.b": _curve([0.99], []),
    }
    got = within_budget({"content.a": 0.8, "content.b": None}, curves, budget=1.0)
    assert got == {"content.a": 0.8, "content.b": None}


def test_the_public_head_is_paid_first_and_kept() -> None:
    curves = {
        PUBLIC_INSULT_HEAD: _curve([0.9], [0.9, 0.9]),
        "content.a": _curve([0.99, 0.9], [0.9]),
    }
    got = within_budget({PUBLIC_INSULT_HEAD: 0.9, "content.a": 0.9}, curves, budget=0.002)
    assert got == {PUBLIC_INSULT_HEAD: 0.9, "content.a": 0.99}


def test_of_two_thresholds_with_the_same_recall_the_higher_is_kept() -> None:
    curves = {"content.a": _curve([0.99, 0.95], [0.9])}
    assert within_budget({"content.a": 0.9}, curves, budget=0.01) == {"content.a": 0.95}


def test_rules_count_by_recall_not_by_how_many_examples_they_have() -> None:
    # a: 10 more of 100 positives for one benign turn; b: 2 more of 4. Room for one turn.
    curves = {
        "content.a": _curve([0.99] * 10 + [0.9] * 10 + [0.5] * 80, [0.9]),
        "content.b": _curve([0.99, 0.99, 0.9, 0.9], [0.9]),
    }
    got = within_budget({"content.a": 0.9, "content.b": 0.9}, curves, budget=0.001)
    assert got == {"content.a": 0.99, "content.b": 0.9}


def test_a_false_positive_at_the_top_of_the_scale_does_not_switch_a_head_off() -> None:
    # at 0.995: 43 true and 1 false (0.977); at 0.975, 354 true and 6 false (0.983); then a band
    # at 0.965 with one in five false
    scores = [0.995] * 44 + [0.975] * 316 + [0.965] * 100
    truth = [True] * 43 + [False] + [True] * 311 + [False] * 5 + [True] * 80 + [False] * 20
    curve = Curve(scores, truth, benign=[0.0] * 100)
    assert suggest_threshold(curve, 0.98, 0.0) == 0.966  # the grid goes by thousandths above 0.9


def test_the_least_threshold_that_keeps_the_target_is_chosen_within_the_benign_limit() -> None:
    scores = [0.95] * 50 + [0.85] * 50 + [0.7] * 10
    truth = [True] * 50 + [True] * 49 + [False] + [False] * 10
    curve = Curve(scores, truth, benign=[0.8] + [0.0] * 999)
    assert suggest_threshold(curve, 0.98, 0.01) == 0.71  # 99 of 100 down to 0.71; 0.70 adds ten false
    assert suggest_threshold(curve, 0.98, 0.0) == 0.81  # the one benign score at 0.80 is not allowed
    assert suggest_threshold(Curve([0.999, 0.999], [True, False], []), 0.98, 1.0) is None
