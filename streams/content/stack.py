"""The model's second stage: one multinomial logistic regression that reads every first-stage
head's decision value, the line's length and some heads' values less the ordinary-chat head's
(heads.StackInputs) and gives each workplace rule its probability against all the others.

The first stage (streams.content.linear) is one-vs-rest: each head learns its rule against
everything else on its own, and the rules overlap (a defamation often insults, an inflammatory
post may spread a rumour). The stack learns from the heads' held-out decision values how they
trade off: that a message the insult head scores as high as the defamation head is more likely
an insult, that a notice the about head scores high is none. Its inputs are never the decision
values of a model that saw the example (training fits it on the held-out models' values), so it
learns how the heads err on new text, not how they fit their own.

Each input enters a class's logit through a piecewise-linear function of its value (straight
between the input's knots, flat beyond the outer ones), not through one weight: a head's decision
value does not say twice as much at twice the value, and past some point it says nothing more.
scikit-learn fits it (`fit`: a degree-1 `SplineTransformer`, whose basis at a value is the two
neighbouring knots' shares of it, then `LogisticRegression`); scoring is a sum of two products per
input and class and one softmax (`Stack.probabilities`).

A head it stacks (streams.content.heads.is_stacked) is scored by the stack's probability of
its rule; the public head (learned from another register, with its own gate and COLD's
calibration) keeps its own.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

from librt.vecs import append, vec
from mypy_extensions import i64

# What the stack's L2 penalty is divided by (scikit-learn's C). 0.1 and 1 gave the same held-out
# figures (docs/eval.md, twenty-second session); fitted to the optimum, 0.01-10 the same training-
# side figures (twenty-third session).
C = 0.1
# The solver: Newton steps with the exact Hessian reach the one optimum in a few steps. L-BFGS,
# scikit-learn's default, stopped at its tolerance 200 steps in, weights up to 0.22 and intercepts
# up to 1.8 from the optimum; where it stopped hung on the input's last bits (noise in the 12th
# digit moved its probabilities by up to 0.045), so a retrain on another host moved four
# thresholds (docs/eval.md, twenty-third session).
SOLVER = "newton-cholesky"
# Knots per input, at its values' quantiles: the least, the median and the greatest. Leaving groups
# of training authors out, mean recall over the workplace rules at the thresholds: one weight per
# input 0.815; 3, 4, 5 and 8 knots 0.825, 0.822, 0.825 and 0.819 (docs/eval.md, twenty-fourth
# session). Three fit fastest (30 s a fit on 125,000 rows, against 8 s for one weight per input).
KNOTS = 3
# How far under a margin a class's bound must stay for Gaps.below to answer without the logits: the
# bound and the logits add the same products in other orders, which differ in the last bits.
SLACK: Final = 1e-9

# What `_place` gives: per input, the column of the knot below its value and the value's share of the way on.
Place: TypeAlias = "tuple[vec[i64], vec[float]]"  # a string: compiled, i64 is int at run time


class Stack:
    """Per input its knots; per class an intercept and, per input, the value of the input's function
    at each of its knots (one row per class: input after input, knot after knot)."""

    __slots__ = (
        "_flat",
        "_intercepts",
        "_knots",
        "_offsets",
        "_row",
        "classes",
        "inputs",
        "intercepts",
        "knots",
        "weights",
    )

    def __init__(
        self,
        inputs: tuple[str, ...],  # what it reads, in order (heads.StackInputs)
        knots: tuple[tuple[float, ...], ...],  # per input, increasing
        classes: tuple[str, ...],
        weights: tuple[tuple[float, ...], ...],  # one row per class, one value per input's knot
        intercepts: tuple[float, ...],
    ) -> None:
        self.inputs = inputs
        self.knots = knots
        self.classes = classes
        self.weights = weights
        self.intercepts = intercepts
        # One flat vec of unboxed floats scored by index: compiled (ops/compile.py), a zip over
        # tuples of rows took 23 µs a message on a slow host, an index loop over a list of floats
        # 4 µs (each float an object), over a vec eight times less than the list (docs/bench.md).
        self._flat: vec[float] = vec[float]([w for row in weights for w in row])
        self._intercepts: vec[float] = vec[float](intercepts)
        # Every input's knots in one vec: input j's are _knots[_offsets[j]:_offsets[j + 1]], and so
        # are its values' columns in a class's row of weights.
        self._knots: vec[float] = vec[float]([t for k in knots for t in k])
        self._offsets: vec[i64] = vec[i64]([sum(len(k) for k in knots[:j]) for j in range(len(knots) + 1)])
        self._row: i64 = len(self._knots)

    def logits(self, margins: vec[float]) -> vec[float]:
        """Each class's logit from the first stage's decision values (in `inputs` order)."""
        if len(margins) != len(self.knots):
            raise ValueError(f"{len(margins)} decision values for a stack of {len(self.knots)} inputs")
        # Per input, the column of the knot below its value and the value's share of the way to the
        # next one; then per class one sum in a local.
        at, shares = _place(margins, self._knots, self._offsets)
        flat, row, width, intercepts = self._flat, self._row, len(at), self._intercepts
        out = vec[float](capacity=len(intercepts))
        base: i64 = 0
        for c in range(len(intercepts)):
            z = intercepts[c]
            for j in range(width):
                k = base + at[j]
                w = flat[k]
                z += w + shares[j] * (flat[k + 1] - w)
            out = append(out, z)
            base += row
        return out

    def probabilities(self, margins: vec[float]) -> vec[float]:
        """The softmax of `logits`: each class's probability, in `classes` order."""
        return softmax(self.logits(margins))

    def log_odds(self, margins: vec[float], c: int) -> float:
        """Class `c`'s log odds against all the other classes together."""
        logits = self.logits(margins)
        rest = [z for j, z in enumerate(logits) if j != c]
        top = max(rest)
        return logits[c] - top - math.log(sum(math.exp(z - top) for z in rest))

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "knots": [[round(t, 9) for t in k] for k in self.knots],
            "classes": list(self.classes),
            "weights": [[round(w, 9) for w in row] for row in self.weights],
            "intercepts": [round(b, 9) for b in self.intercepts],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stack:
        inputs = tuple(map(str, data["inputs"]))
        knots = tuple(tuple(map(float, k)) for k in data["knots"])
        classes = tuple(map(str, data["classes"]))
        weights = tuple(tuple(map(float, row)) for row in data["weights"])
        intercepts = tuple(map(float, data["intercepts"]))
        if len(knots) != len(inputs):
            raise ValueError("the stack needs knots for every input")
        if any(len(k) < 2 or any(b <= a for a, b in itertools.pairwise(k)) for k in knots):
            raise ValueError("an input's knots must be two or more, increasing")
        if len(weights) != len(classes) or len(intercepts) != len(classes):
            raise ValueError("the stack needs one row of weights and one intercept per class")
        if any(len(row) != sum(len(k) for k in knots) for row in weights):
            raise ValueError("the stack needs one weight per input's knot in every row")
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise ValueError("the stack needs two or more distinct classes")
        return cls(inputs, knots, classes, weights, intercepts)


class Gaps:
    """Each class's logit less a reference class's (the stack's `none`), to tell a class that
    cannot reach a margin over the reference without the logits of all: TextClassifier.confident
    needs the softmax only where some rule's class can pass its threshold, which on most messages
    none can. Each difference is added input by input, the inputs whose bent lines span most
    first, and after each input the most the inputs still unread can add is known (their
    differences' largest values at a knot): once even that leaves the sum under the margin, the
    class cannot reach it. On the bench's messages about 9 classes are asked, each answered after
    15 of 20 inputs on average: 3.8 µs a message against 4.5 µs for the logits (docs/bench.md). The
    inputs' knots and the differences' columns are kept in that reading order."""

    __slots__ = ("_bounds", "_gaps", "_intercepts", "_knots", "_offsets", "_reading", "_row")

    def __init__(self, stack: Stack, reference: int) -> None:
        row, offsets = stack._row, stack._offsets
        rows = [stack._flat[c * row : (c + 1) * row] for c in range(len(stack.classes))]
        gaps = [[w - ref for w, ref in zip(r, rows[reference], strict=True)] for r in rows]

        def span(j: int) -> float:
            return sum(
                max(g[offsets[j] : offsets[j + 1]]) - min(g[offsets[j] : offsets[j + 1]]) for g in gaps
            )

        reading = sorted(range(len(stack.knots)), key=lambda j: (-span(j), j))
        self._reading: vec[i64] = vec[i64](reading)
        self._knots: vec[float] = vec[float]([t for j in reading for t in stack.knots[j]])
        starts = [0]
        for j in reading:
            starts.append(starts[-1] + len(stack.knots[j]))
        self._offsets: vec[i64] = vec[i64](starts)
        self._row: i64 = row
        self._gaps: vec[float] = vec[float](
            [w for g in gaps for j in reading for w in g[offsets[j] : offsets[j + 1]]]
        )
        self._intercepts: vec[float] = vec[float]([b - stack.intercepts[reference] for b in stack.intercepts])
        # Per class, one bound per input read and one more: the most the inputs from the i-th on can add.
        bounds: list[float] = []
        for g in gaps:
            rest = [0.0]
            for j in reversed(reading):
                rest.append(rest[-1] + max(g[offsets[j] : offsets[j + 1]]))
            bounds.extend(reversed(rest))
        self._bounds: vec[float] = vec[float](bounds)

    def place(self, margins: vec[float]) -> Place:
        """Where each of `margins` (in the stack's input order) sits, as `_place` says, read in the
        reading order: what `below` takes."""
        reading = self._reading
        values = vec[float](capacity=len(reading))
        for i in range(len(reading)):
            values = append(values, margins[reading[i]])
        return _place(values, self._knots, self._offsets)

    def below(self, place: Place, c: i64, least: float) -> bool:
        """Whether class `c`'s logit less the reference's is surely under `least` for the values
        `place` (Gaps.place) placed. False says nothing: the logits decide."""
        at, shares = place
        floor = least - SLACK
        width = len(at)
        r = c * (width + 1)
        bounds, gaps = self._bounds, self._gaps
        z = self._intercepts[c]
        if z + bounds[r] < floor:
            return True
        base = c * self._row
        for i in range(width):
            k = base + at[i]
            w = gaps[k]
            z += w + shares[i] * (gaps[k + 1] - w)
            if z + bounds[r + i + 1] < floor:
                return True
        return False


def _place(values: vec[float], knots: vec[float], offsets: vec[i64]) -> Place:
    """Per value, the column of its input's knot below it (input j's knots are
    knots[offsets[j]:offsets[j + 1]]) and its share of the way to the next."""
    at = vec[i64](capacity=len(values))
    shares = vec[float](capacity=len(values))
    for j in range(len(values)):
        x = values[j]
        k = offsets[j]
        last = offsets[j + 1] - 1
        if x <= knots[k]:
            share = 0.0
        elif x >= knots[last]:
            k, share = last - 1, 1.0
        else:
            while x >= knots[k + 1]:
                k += 1
            share = (x - knots[k]) / (knots[k + 1] - knots[k])
        at = append(at, k)
        shares = append(shares, share)
    return at, shares


def softmax(logits: vec[float]) -> vec[float]:
    n = len(logits)
    top = logits[0]
    for i in range(1, n):
        top = max(top, logits[i])
    exps = vec[float](capacity=n)
    total = 0.0
    for i in range(n):
        e = math.exp(logits[i] - top)
        exps = append(exps, e)
        total += e
    out = vec[float](capacity=n)
    for i in range(n):
        out = append(out, exps[i] / total)
    return out


def fit(
    margins: Sequence[Sequence[float]],
    labels: Sequence[str],
    inputs: Sequence[str],
    folds: Sequence[int],
    workers: int = 1,
) -> tuple[Stack, list[list[float]]]:
    """Fit the stack on held-out decision values (`margins`, one row per example, in `inputs`
    order) and their labels; with it, each example's probabilities (in the stack's class order)
    from a stack fitted without the examples of its fold (`folds`), for calibration and
    thresholds: a stack scores its own training examples too kindly, as any model does.

    The fits run `workers` at a time, each on one BLAS thread: most of a fit is the Hessian's
    matrix products, which two threads of one fit speed up by a fifth and two fits side by side
    nearly double."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer
    from threadpoolctl import threadpool_limits

    x = np.asarray(margins, dtype=np.float64)
    y = np.asarray(labels)
    fold = np.asarray(folds)
    classes = sorted(set(labels))

    def one(rows: Any) -> Any:
        spline = SplineTransformer(n_knots=KNOTS, degree=1, knots="quantile")
        model = make_pipeline(spline, LogisticRegression(C=C, solver=SOLVER, max_iter=100))
        return model.fit(x[rows], y[rows])

    def columns(model: Any) -> list[int]:
        return [classes.index(c) for c in model.classes_]

    # A fold whose rest holds one class only has nothing to tell apart (tiny data): left at 0.
    left_out = [fold == k for k in sorted(set(folds)) if len(set(y[fold != k])) >= 2]
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=workers) as pool:
        *fitted, model = pool.map(one, [~rows for rows in left_out] + [np.ones(len(y), dtype=bool)])
    held_out = np.zeros((len(y), len(classes)))
    for rows, without in zip(left_out, fitted, strict=True):
        held_out[np.ix_(rows, columns(without))] = without.predict_proba(x[rows])
    spline, regression = model.steps[0][1], model.steps[-1][1]
    coef, intercept = regression.coef_, regression.intercept_
    if len(classes) == 2:  # scikit-learn keeps one row for two classes: the second's logit
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    # A degree-1 spline's knot vector pads the input's knots with one more on each side.
    knots = tuple(tuple(float(t) for t in b.t[1:-1]) for b in spline.bsplines_)
    stack = Stack(
        tuple(inputs),
        knots,
        tuple(classes),
        tuple(tuple(float(w) for w in row) for row in coef),
        tuple(float(b) for b in intercept),
    )
    return stack, held_out.tolist()
