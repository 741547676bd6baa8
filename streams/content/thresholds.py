"""The thresholds training suggests for the model's heads, from their held-out scores.

- a workplace head: the least grid threshold at which the training authors' examples, each scored
  by a model that never saw its author, keep the precision target, firing on at most a limit of
  the benign turns (`suggest_threshold`);
- the public head (learned from COLD): the best out-of-fold balanced accuracy on COLD train under
  the same kind of limit (`suggest_balanced_threshold`);
- then one budget of benign firings for all heads together (`within_budget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from streams.core.policy_schema import PUBLIC_INSULT_HEAD

# Candidate thresholds: 0.50 … 0.89 by hundredths, then 0.900 … 0.999 by thousandths, where a
# calibrated head keeps most of its positives (training.calibrate rises strictly up there).
GRID = tuple(round(0.5 + i / 100, 2) for i in range(40)) + tuple(round(0.9 + i / 1000, 3) for i in range(100))


class Curve(NamedTuple):
    """One head's held-out scores: of labelled examples (`truth`: the example is the head's rule)
    and of benign turns."""

    scores: Sequence[float]
    truth: Sequence[bool]
    benign: Sequence[float]

    def recall(self, t: float) -> float:
        found = sum(1 for s, y in zip(self.scores, self.truth, strict=True) if y and s >= t)
        return found / max(1, sum(self.truth))

    def benign_fired(self, t: float) -> int:
        return sum(1 for s in self.benign if s >= t)

    def figures(self, t: float) -> dict[str, Any]:
        tp = sum(1 for s, y in zip(self.scores, self.truth, strict=True) if y and s >= t)
        fp = sum(1 for s, y in zip(self.scores, self.truth, strict=True) if not y and s >= t)
        pos = sum(self.truth)
        return {
            "threshold": t,
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / pos, 4) if pos else None,
            "tp": tp,
            "fp": fp,
            "benign_fired": round(self.benign_fired(t) / max(1, len(self.benign)), 5),
        }


def suggest_threshold(curve: Curve, target: float, limit: float) -> float | None:
    """The least grid threshold at which precision is >= target (or nothing fires) and that fires
    on at most `limit` of the benign scores; None when there is none.

    The precision a threshold gives is that of everything scored at or above it. Higher thresholds
    need not keep the target too: the top of the scale holds few examples, and one false positive
    among them (1 in 44 at 0.99, while 0.97 keeps 0.983 over 360) used to switch the head off."""
    chosen = None
    for t in reversed(GRID):
        if curve.benign_fired(t) > limit * max(1, len(curve.benign)):
            break
        fired = [y for s, y in zip(curve.scores, curve.truth, strict=True) if s >= t]
        if not fired or sum(fired) / len(fired) >= target:
            chosen = t
    return chosen


def suggest_balanced_threshold(
    pairs: Sequence[tuple[float, bool]], benign: Sequence[float], limit: float
) -> float | None:
    """For a head learned from a public dataset: the grid threshold with the best balanced accuracy
    on its (out-of-fold) examples among those firing on at most `limit` of the benign scores."""
    allowed = [t for t in GRID if sum(1 for s in benign if s >= t) <= limit * max(1, len(benign))]
    return max(allowed, key=lambda t: (balanced_accuracy(pairs, t) or 0.0, -t), default=None)


def balanced_accuracy(pairs: Sequence[tuple[float, bool]], t: float) -> float | None:
    pos = [s for s, y in pairs if y]
    neg = [s for s, y in pairs if not y]
    if not pos or not neg:
        return None
    return round((sum(s >= t for s in pos) / len(pos) + sum(s < t for s in neg) / len(neg)) / 2, 4)


def within_budget(
    suggested: Mapping[str, float | None], curves: Mapping[str, Curve], budget: float
) -> dict[str, float | None]:
    """Spend one budget of benign firings over the workplace heads instead of a limit per head.

    Each head starts at the highest grid threshold it may use (at or above its suggested one, so
    its precision target and own limit still hold) and is lowered greedily, step by step where the
    most recall is gained per benign turn spent, until the budget (a share of the benign turns,
    less what the public head fires on) is spent. Recall, not true positives: every rule counts
    the same, however many examples its authors wrote. Of two thresholds with the same recall the
    higher is kept. None stays None."""
    out = dict(suggested)
    total = max((len(c.benign) for c in curves.values()), default=1)
    public = suggested.get(PUBLIC_INSULT_HEAD)
    spent = 0 if public is None else curves[PUBLIC_INSULT_HEAD].benign_fired(public)
    steps: dict[str, list[tuple[float, float, int]]] = {}  # (threshold, recall, benign fired)
    for rule, t in suggested.items():
        if t is not None and rule != PUBLIC_INSULT_HEAD:
            curve = curves[rule]
            steps[rule] = [(g, curve.recall(g), curve.benign_fired(g)) for g in reversed(GRID) if g >= t]
            out[rule] = None
    at: dict[str, tuple[float, int]] = {rule: (0.0, 0) for rule in steps}  # recall, benign fired
    while True:
        best = None  # (recall gained per benign turn, recall gained, rule, step)
        for rule, curve_steps in steps.items():
            recall, fired = at[rule]
            for step in curve_steps:
                gain, cost = step[1] - recall, step[2] - fired
                if gain > 0 and spent + cost <= budget * total:
                    key = (gain / cost if cost else float("inf"), gain, rule, step)
                    best = key if best is None or key[:2] > best[:2] else best
        if best is None:
            return out
        _, _, rule, (threshold, recall, fired) = best
        spent += fired - at[rule][1]
        at[rule] = (recall, fired)
        out[rule] = threshold
