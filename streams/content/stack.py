"""The model's second stage: one multinomial logistic regression that reads every first-stage
head's decision value and the line's length (classifier.LENGTH) and gives each workplace rule its
probability against all the others.

The first stage (streams.content.linear) is one-vs-rest: each head learns its rule against
everything else on its own, and the rules overlap (a defamation often insults, an inflammatory
post may spread a rumour). The stack learns from the heads' held-out decision values how they
trade off: that a message the insult head scores as high as the defamation head is more likely
an insult, that a notice the about head scores high is none. Its inputs are never the decision
values of a model that saw the example (training fits it on the held-out models' values), so it
learns how the heads err on new text, not how they fit their own.

A head it stacks (streams.content.classifier.is_stacked) is scored by the stack's probability of its rule; the public head
(learned from another register, with its own gate and COLD's calibration) keeps its own. scikit-
learn fits it (`fit`); scoring is a few dot products and one softmax (`Stack.probabilities`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# What the stack's L2 penalty is divided by (scikit-learn's C). 0.1 and 1 gave the same held-out
# figures (docs/eval.md, twenty-second session); fitted to the optimum, 0.01-10 the same training-
# side figures (twenty-third session).
C = 0.1
# The solver: Newton steps with the exact Hessian (15 inputs x 16 classes) reach the one optimum in
# seven steps. L-BFGS, scikit-learn's default, stopped at its tolerance 200 steps in, weights up to 0.22
# and intercepts up to 1.8 from the optimum; where it stopped hung on the input's last bits (noise
# in the 12th digit moved its probabilities by up to 0.045), so a retrain on another host moved
# four thresholds (docs/eval.md, twenty-third session).
SOLVER = "newton-cholesky"


class Stack:
    """Per class (a label of the first stage's training data: a rule, an about label, none) a
    weight per input column and an intercept."""

    __slots__ = ("_flat", "_width", "classes", "inputs", "intercepts", "weights")

    def __init__(
        self,
        inputs: tuple[str, ...],  # what it reads, in order (classifier.stack_input)
        classes: tuple[str, ...],
        weights: tuple[tuple[float, ...], ...],  # one row per class, one weight per input
        intercepts: tuple[float, ...],
    ) -> None:
        self.inputs = inputs
        self.classes = classes
        self.weights = weights
        self.intercepts = intercepts
        # One flat list scored by index: compiled (ops/compile.py), zip over tuples of rows took
        # 23 µs a message on a slow host, index loops over floats 4 µs (docs/bench.md).
        self._flat: list[float] = [w for row in weights for w in row]
        self._width = len(inputs)

    def logits(self, margins: list[float]) -> list[float]:
        """Each class's logit from the first stage's decision values (in `inputs` order)."""
        flat, width = self._flat, self._width
        if len(margins) != width:
            raise ValueError(f"{len(margins)} decision values for a stack of {width} inputs")
        out: list[float] = []
        k = 0
        for b in self.intercepts:
            z = b
            for j in range(width):
                z += flat[k + j] * margins[j]
            out.append(z)
            k += width
        return out

    def probabilities(self, margins: list[float]) -> list[float]:
        """The softmax of `logits`: each class's probability, in `classes` order."""
        return softmax(self.logits(margins))

    def log_odds(self, margins: list[float], c: int) -> float:
        """Class `c`'s log odds against all the other classes together."""
        logits = self.logits(margins)
        rest = [z for j, z in enumerate(logits) if j != c]
        top = max(rest)
        return logits[c] - top - math.log(sum(math.exp(z - top) for z in rest))

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "classes": list(self.classes),
            "weights": [[round(w, 9) for w in row] for row in self.weights],
            "intercepts": [round(b, 9) for b in self.intercepts],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stack:
        inputs = tuple(map(str, data["inputs"]))
        classes = tuple(map(str, data["classes"]))
        weights = tuple(tuple(map(float, row)) for row in data["weights"])
        intercepts = tuple(map(float, data["intercepts"]))
        if len(weights) != len(classes) or len(intercepts) != len(classes):
            raise ValueError("the stack needs one row of weights and one intercept per class")
        if any(len(row) != len(inputs) for row in weights):
            raise ValueError("the stack needs one weight per input in every row")
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise ValueError("the stack needs two or more distinct classes")
        return cls(inputs, classes, weights, intercepts)


def softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    return [e / total for e in exps]


def fit(
    margins: Sequence[Sequence[float]],
    labels: Sequence[str],
    inputs: Sequence[str],
    folds: Sequence[int],
) -> tuple[Stack, list[list[float]]]:
    """Fit the stack on held-out decision values (`margins`, one row per example, in `inputs`
    order) and their labels; with it, each example's probabilities (in the stack's class order)
    from a stack fitted without the examples of its fold (`folds`), for calibration and
    thresholds: a stack scores its own training examples too kindly, as any model does."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(margins, dtype=np.float64)
    y = np.asarray(labels)
    fold = np.asarray(folds)
    classes = sorted(set(labels))

    def one(rows: Any) -> Any:
        model = LogisticRegression(C=C, solver=SOLVER, max_iter=100)
        return model.fit(x[rows], y[rows])

    def columns(model: Any) -> list[int]:
        return [classes.index(c) for c in model.classes_]

    held_out = np.zeros((len(y), len(classes)))
    for k in sorted(set(folds)):
        rest = fold != k
        if len(set(y[rest])) < 2:  # nothing to tell apart without this fold (tiny data)
            continue
        model = one(rest)
        held_out[np.ix_(~rest, columns(model))] = model.predict_proba(x[~rest])
    model = one(np.ones(len(y), dtype=bool))
    coef, intercept = model.coef_, model.intercept_
    if len(classes) == 2:  # scikit-learn keeps one row for two classes: the second's logit
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    stack = Stack(
        tuple(inputs),
        tuple(classes),
        tuple(tuple(float(w) for w in row) for row in coef),
        tuple(float(b) for b in intercept),
    )
    return stack, held_out.tolist()
