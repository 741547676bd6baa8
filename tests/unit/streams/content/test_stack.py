"""The second stage (streams.content.stack): a multinomial logistic regression over piecewise-linear
functions of the heads' decision values, scored in plain Python as scikit-learn scores it."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from librt.vecs import vec

from streams.content.stack import KNOTS, SOLVER, C, Gaps, Stack, fit, softmax

HEADS = ("content.defamation", "content.insult")


def v(values: list[float]) -> vec[float]:
    """The stack's inputs as it reads them: a vec of unboxed floats."""
    return vec[float](values)


def overlapping(n: int = 1200, seed: int = 3) -> tuple[list[list[float]], list[str], list[int]]:
    """Decision values of two overlapping heads: an insult scores high on both (the defamation head
    has learned insulting words too), a defamation high on defamation only, ordinary text low."""
    rng = random.Random(seed)
    rows, labels = [], []
    for i in range(n):
        kind = ("content.defamation", "content.insult", "none")[i % 3]
        d = rng.gauss(1.0, 0.5) if kind != "none" else rng.gauss(-1.5, 0.5)
        s = rng.gauss(1.5, 0.5) if kind == "content.insult" else rng.gauss(-1.0, 0.5)
        rows.append([d, s])
        labels.append(kind)
    return rows, labels, [i % 5 for i in range(n)]


def reference(rows: list[list[float]], labels: list[str]) -> Any:  # a fitted scikit-learn pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer

    spline = SplineTransformer(n_knots=KNOTS, degree=1, knots="quantile")
    return make_pipeline(spline, LogisticRegression(C=C, solver=SOLVER)).fit(rows, labels)


def test_probabilities_are_scikit_learns() -> None:
    """Inside the knots, on them and beyond them (where each input's function is flat)."""
    rows, labels, folds = overlapping()
    stack, _ = fit(rows, labels, HEADS, folds)
    model = reference(rows, labels)
    assert stack.classes == tuple(model.classes_)
    low, high = stack.knots[0][0], stack.knots[0][-1]
    probes = [*rows[:20], [low, 0.0], [high, 0.0], [low - 5, 9.0], [high + 5, -9.0], [-50.0, 50.0]]
    for row, expected in zip(probes, model.predict_proba(probes), strict=True):
        assert list(stack.probabilities(v(row))) == pytest.approx(list(expected), abs=1e-9)


def test_a_decision_value_may_say_less_past_a_point() -> None:
    """What one weight per input cannot say: here a middling value of the first head means one
    class and both extremes the other. Each input's function bends at its knots."""
    rng = random.Random(11)
    rows = [[rng.uniform(-3.0, 3.0), rng.gauss(0.0, 1.0)] for _ in range(600)]
    labels = ["middle" if abs(r[0]) < 1.0 else "none" for r in rows]
    stack, _ = fit(rows, labels, HEADS, [i % 5 for i in range(600)])
    middle = stack.classes.index("middle")
    assert stack.probabilities(v([0.0, 0.0]))[middle] > 0.7  # a straight line gives either side at least this
    assert stack.probabilities(v([-2.8, 0.0]))[middle] < 0.1
    assert stack.probabilities(v([2.8, 0.0]))[middle] < 0.1
    assert list(stack.probabilities(v([40.0, 0.0]))) == list(
        stack.probabilities(v([stack.knots[0][-1], 0.0]))
    )


def many_heads(n: int = 4000, seed: int = 5) -> tuple[list[list[float]], list[str], list[int]]:
    """Decision values on the scale of the real heads' (tens of units), half of them one class (the
    real data's none), and columns that nearly repeat others (an about head and its rule's head):
    L-BFGS's path to the optimum is long there (82 steps; 200 on the real heads' values)."""
    rng = random.Random(seed)
    rows, labels = [], []
    for i in range(n):
        c = 0 if i % 2 else (i // 2) % 6
        row = [rng.gauss(12.0 if j == c else -12.0, 6.0) for j in range(6)]
        rows.append(row + [v + rng.gauss(0, 0.1) for v in row[:3]])
        labels.append(f"class{c}")
    return rows, labels, [i % 5 for i in range(n)]


def test_the_fit_is_the_optimum_not_where_a_solver_stopped() -> None:
    """Noise in the inputs' twelfth digit moves the stack no further than that: a fit that stops
    short of the optimum stops where the last bits send it (L-BFGS moved the probabilities by up to
    0.045 on the real heads' values, 2e-6 here), and a retrain on another host chose other
    thresholds."""
    rows, labels, folds = many_heads()
    rng = random.Random(7)
    nudged = [[v * (1 + 1e-12 * rng.gauss(0, 1)) for v in row] for row in rows]
    heads = tuple(f"head{j}" for j in range(9))
    stack, held_out = fit(rows, labels, heads, folds)
    again, held_out_again = fit(nudged, labels, heads, folds)
    for row in rows[:200]:
        assert list(again.probabilities(v(row))) == pytest.approx(list(stack.probabilities(v(row))), abs=1e-9)
    for p, q in zip(held_out[:200], held_out_again[:200], strict=True):
        assert q == pytest.approx(p, abs=1e-9)


def test_two_classes_keep_a_row_each() -> None:
    rows, labels, folds = overlapping()
    two = [(r, y) for r, y in zip(rows, labels, strict=True) if y != "content.insult"]
    stack, held_out = fit([r for r, _ in two], [y for _, y in two], HEADS, folds[: len(two)])
    assert stack.classes == ("content.defamation", "none") and len(stack.weights) == 2
    p = stack.probabilities(v([2.0, -1.0]))
    assert p[0] > 0.75 and sum(p) == pytest.approx(1.0)
    assert all(sum(q) == pytest.approx(1.0) for q in held_out)


def test_the_stack_reads_the_other_heads() -> None:
    """What one-vs-rest heads cannot say: a high defamation score means less where the insult head
    scores high too."""
    rows, labels, folds = overlapping()
    stack, _ = fit(rows, labels, HEADS, folds)
    defamation = stack.classes.index("content.defamation")
    assert stack.probabilities(v([1.0, -1.0]))[defamation] > 0.8
    assert stack.probabilities(v([1.0, 1.5]))[defamation] < 0.3


def test_held_out_probabilities_come_from_a_stack_without_the_fold() -> None:
    rows, labels, folds = overlapping()
    stack, held_out = fit(rows, labels, HEADS, folds)
    rest = [i for i, k in enumerate(folds) if k != 0]
    without, _ = fit([rows[i] for i in rest], [labels[i] for i in rest], HEADS, [0] * len(rest))
    for i in [i for i, k in enumerate(folds) if k == 0][:10]:
        assert held_out[i] == pytest.approx(list(without.probabilities(v(rows[i]))), abs=1e-9)
        assert held_out[i] != pytest.approx(list(stack.probabilities(v(rows[i]))), abs=1e-9)


def test_fits_side_by_side_give_the_same_stack() -> None:
    rows, labels, folds = overlapping()
    one, held_out = fit(rows, labels, HEADS, folds, workers=1)
    two, held_out_two = fit(rows, labels, HEADS, folds, workers=2)
    assert two.to_json() == one.to_json() and held_out_two == held_out


def test_json_round_trip_and_checks() -> None:
    rows, labels, folds = overlapping()
    stack, _ = fit(rows, labels, HEADS, folds)
    again = Stack.from_json(stack.to_json())
    assert again.classes == stack.classes and again.inputs == HEADS
    assert list(again.probabilities(v([0.3, 0.2]))) == pytest.approx(
        list(stack.probabilities(v([0.3, 0.2]))), abs=1e-7
    )
    broken = stack.to_json() | {"intercepts": [0.0]}
    with pytest.raises(ValueError, match="one intercept per class"):
        Stack.from_json(broken)
    with pytest.raises(ValueError, match="knots for every input"):
        Stack.from_json(stack.to_json() | {"inputs": ["content.insult"]})
    with pytest.raises(ValueError, match="one weight per input's knot"):
        Stack.from_json(stack.to_json() | {"knots": [[0.0, 1.0], [0.0, 1.0]]})
    with pytest.raises(ValueError, match="increasing"):
        Stack.from_json(stack.to_json() | {"knots": [[0.0, 0.0, 1.0, 2.0, 3.0]] * 2})


def test_softmax_is_stable_far_out() -> None:
    assert list(softmax(v([1000.0, 0.0]))) == pytest.approx([1.0, 0.0])
    assert sum(softmax(v([-800.0, -801.0, -799.0]))) == pytest.approx(1.0)


def test_log_odds_are_the_probabilitys() -> None:
    rows, labels, folds = overlapping()
    stack, _ = fit(rows, labels, HEADS, folds)
    for row in rows[:10]:
        for c, p in enumerate(stack.probabilities(v(row))):
            assert stack.log_odds(v(row), c) == pytest.approx(math.log(p / (1.0 - p)), abs=1e-9)


def random_stack(rng: random.Random, inputs: int = 6, classes: int = 5) -> Stack:
    knots = tuple(
        tuple(sorted(rng.uniform(-4.0, 4.0) for _ in range(rng.choice((2, 3, 4))))) for _ in range(inputs)
    )
    width = sum(len(k) for k in knots)
    weights = tuple(tuple(rng.gauss(0.0, 2.0) for _ in range(width)) for _ in range(classes))
    return Stack(
        tuple(f"x{j}" for j in range(inputs)),
        knots,
        tuple(f"c{c}" for c in range(classes)),
        weights,
        tuple(rng.gauss(0.0, 1.0) for _ in range(classes)),
    )


def test_a_class_the_gaps_rule_out_is_under_the_margin() -> None:
    """Gaps.below answers True only where the logits put the class under the margin over the
    reference class, and it does answer early on a clear case: what TextClassifier.confident relies
    on to skip the softmax."""
    rng = random.Random(5)
    answered = 0
    for _ in range(200):
        stack = random_stack(rng)
        reference = rng.randrange(len(stack.classes))
        gaps = Gaps(stack, reference)
        for _ in range(20):
            margins = [rng.uniform(-6.0, 6.0) for _ in stack.inputs]
            place = gaps.place(v(margins))
            logits = stack.logits(v(margins))
            for c in range(len(stack.classes)):
                gap = logits[c] - logits[reference]
                for least in (gap - 1.0, gap - 1e-6, gap, gap + 1e-6, gap + 1.0, -math.inf):
                    if gaps.below(place, c, least):
                        assert gap < least
                        answered += 1
                assert not gaps.below(place, c, gap - 1e-6)
    assert answered > 10_000
