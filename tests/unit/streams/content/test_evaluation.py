"""streams.content.evaluation: per-rule counts, precision/recall/F1 with undefined values kept
undefined, balanced accuracy, false-alarm rate, and `predict` running the shipped detector."""

from __future__ import annotations

import pytest

from streams.content import evaluation
from streams.content.detector import ContentDetector
from streams.core.policy import load_policy

A, B = "content.a", "content.b"
NONE: frozenset[str] = frozenset()


def test_rule_scores_count_every_kind_of_error() -> None:
    expected = [frozenset({A}), frozenset({A}), frozenset({B}), NONE, NONE, frozenset({A})]
    got = [
        frozenset({A}),
        NONE,
        frozenset({A, B}),
        frozenset({A}),
        frozenset({"content.other"}),
        frozenset({A}),
    ]
    kinds = ["positive", "positive", "positive", "hard_negative", "benign", "positive"]
    scores = evaluation.rule_scores(expected, got, (A, B), kinds)
    a, b = scores[A], scores[B]
    assert (a.tp, a.fp, a.fn) == (2, 2, 1)
    assert a.fp_by_kind == {"other_rule_positive": 1, "hard_negative": 1}
    assert (b.tp, b.fp, b.fn) == (1, 0, 0)
    assert a.precision == pytest.approx(0.5) and a.recall == pytest.approx(2 / 3)
    assert a.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert b.as_dict()["f1"] == 1.0 and a.support == 3


def test_undefined_figures_stay_undefined() -> None:
    scores = evaluation.rule_scores([frozenset({A}), NONE], [NONE, NONE], (A, B))
    assert scores[A].precision is None and scores[A].recall == 0.0 and scores[A].f1 == 0.0
    assert scores[B].precision is None and scores[B].recall is None and scores[B].f1 is None
    fired_wrongly = evaluation.rule_scores([NONE], [frozenset({B})], (B,))
    assert fired_wrongly[B].precision == 0.0 and fired_wrongly[B].f1 == 0.0


def test_rule_scores_need_aligned_inputs() -> None:
    with pytest.raises(ValueError, match="one length"):
        evaluation.rule_scores([NONE], [NONE, NONE], (A,))


def test_summary_pools_counts_and_names_the_worst_rule() -> None:
    scores = evaluation.rule_scores(
        [frozenset({A}), frozenset({B}), frozenset({B})],
        [frozenset({A}), frozenset({B}), NONE],
        (A, B, "content.c"),
    )
    summary = evaluation.summary(scores)
    assert (summary["micro"]["tp"], summary["micro"]["fn"]) == (2, 1)
    assert summary["worst_rule"] == B and summary["worst_f1"] == pytest.approx(0.6667, abs=1e-4)
    assert summary["macro_f1"] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)  # the rule never seen is left out


def test_balanced_accuracy_weighs_both_classes_equally() -> None:
    truth = [True] * 10 + [False] * 90
    got = [frozenset({A})] * 5 + [NONE] * 5 + [frozenset({A})] * 9 + [NONE] * 81
    score = evaluation.offensive_score(truth, got, frozenset({A}))
    assert (score.tp, score.fn, score.fp, score.tn) == (5, 5, 9, 81)
    assert score.balanced_accuracy == pytest.approx((0.5 + 0.9) / 2)
    other = evaluation.offensive_score(truth, [frozenset({B})] * 100, frozenset({A}))
    assert other.balanced_accuracy == pytest.approx(0.5)  # a rule outside the set is not "offensive"
    assert evaluation.BinaryScore().balanced_accuracy is None


def test_false_alarm_rate() -> None:
    assert evaluation.false_alarm_rate([NONE, frozenset({A}), NONE, NONE]) == 0.25
    assert evaluation.false_alarm_rate([]) is None


def test_wilson_intervals_bound_a_rate_measured_on_a_sample() -> None:
    low, high = evaluation.wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)  # the textbook value
    low, high = evaluation.wilson_interval(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775  # none seen is not "never"
    low, high = evaluation.wilson_interval(48, 14614)
    assert low < 0.003 < high  # 0.33 % measured does not show the rate is above 0.3 %
    assert evaluation.wilson_interval(0, 0) is None
    assert evaluation.false_alarm_interval([NONE, NONE]) == [0.0, pytest.approx(0.6576, abs=1e-4)]
    assert evaluation.RuleScore(tp=9, fp=1, fn=0).as_dict()["precision_interval"][1] == pytest.approx(
        0.9821, abs=1e-4
    )


def test_balanced_accuracy_interval_narrows_with_more_examples() -> None:
    small = evaluation.BinaryScore(tp=5, fn=5, fp=9, tn=81)
    large = evaluation.BinaryScore(tp=500, fn=500, fp=900, tn=8100)
    (a, b), (c, d) = small.balanced_accuracy_interval(), large.balanced_accuracy_interval()
    assert a < c < 0.7 < d < b
    assert evaluation.BinaryScore().balanced_accuracy_interval() is None


def test_predict_runs_the_shipped_detector() -> None:
    detector = ContentDetector(load_policy())
    got = evaluation.predict(detector, ["今晚一起上线赌博", "下午三点开会", ""])
    assert "content.gambling" in got[0]
    assert got[1] == NONE and got[2] == NONE
