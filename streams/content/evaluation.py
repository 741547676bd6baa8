"""Scoring the content engine: per-rule precision/recall/F1, balanced accuracy, false-alarm rate.

Pure functions over what the engine decided (the set of rules that fired per message) and what
should have fired; `qunguard eval` (agents/cli/eval.py) feeds them. A message can fire several
rules: for rule R, a message labelled R that fired R is a true positive, labelled R without R a
false negative, and R fired on any other message (a hard negative, benign chat, another rule's
positive) a false positive; the false positives are also counted by what kind of message they hit.
`predict` runs the engine as it ships (`ContentDetector.detect` on a message event), so every layer
the policy turns on (lexicon, structural checks, the learned model) is measured together.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams.content.detector import ContentDetector
from topics.events import MessageEvent

__all__ = [
    "BinaryScore",
    "RuleScore",
    "engine_facts",
    "false_alarm_rate",
    "fired",
    "offensive_score",
    "predict",
    "rule_scores",
    "summary",
]

_TS = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def engine_facts(detector: ContentDetector) -> dict[str, Any]:
    """What an engine is: its rules, dictionary size, and the model it runs (None: no model)."""
    facts: dict[str, Any] = {
        "rules": list(detector.rules),
        "terms": detector.lexicon.term_count,
        "model": None,
    }
    judge = detector.judge
    if judge is not None and detector.model_path is not None:
        name, version = judge.model  # what the engine loaded, as its violations' evidence names it
        facts["model"] = {
            "name": name,
            "version": version,
            "path": os.path.relpath(detector.model_path),
            "thresholds": dict(detector.model.thresholds or {}),
        }
    return facts


def fired(detector: ContentDetector, event: MessageEvent) -> frozenset[str]:
    """The content rules the detector fires on one message event."""
    return frozenset(finding.rule for finding in detector.detect(event, event.group_id, None))  # type: ignore[arg-type]


def predict(detector: ContentDetector, texts: Iterable[str]) -> list[frozenset[str]]:
    """The rules the detector fires on each text, sent as an ordinary chat message."""
    return [
        fired(detector, MessageEvent(f"eval-{index}", _TS, "g-eval", "wx_eval", text=text))
        for index, text in enumerate(texts)
    ]


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of the proportion k/n (95 % at z = 1.96): where the rate on more
    text like this sample may lie. 48 false alarms in 14,614 turns is 0.33 %, somewhere in 0.25-0.44 %."""
    if n <= 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_interval(k: int, n: int) -> list[float] | None:
    """`wilson_interval` rounded for a report: [low, high], or None for an empty sample."""
    return _reported(wilson_interval(k, n))


def _reported(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else [round(interval[0], 4), round(interval[1], 4)]


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass(slots=True)
class RuleScore:
    """One rule's confusion counts; the false positives also by the kind of message they hit."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    fp_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        """None when the rule never fired (undefined, not perfect)."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        if self.tp == 0 and (self.fp or self.fn):
            return 0.0
        return _f1(self.precision, self.recall)

    def add(self, other: RuleScore) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        for kind, n in other.fp_by_kind.items():
            self.fp_by_kind[kind] = self.fp_by_kind.get(kind, 0) + n

    def as_dict(self) -> dict:
        return {
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "precision_interval": rate_interval(self.tp, self.tp + self.fp),
            "recall_interval": rate_interval(self.tp, self.support),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.support,
            "fp_by_kind": dict(sorted(self.fp_by_kind.items())),
        }


def rule_scores(
    expected: Sequence[frozenset[str]],
    got: Sequence[frozenset[str]],
    rules: Iterable[str],
    kinds: Sequence[str] | None = None,
) -> dict[str, RuleScore]:
    """Per rule counts. `expected[i]` are the rules message i violates (empty: nothing should
    fire), `got[i]` those the engine fired; `kinds[i]` names what message i is (positive,
    hard_negative, benign, …) for `fp_by_kind`. Rules outside `rules` are ignored."""
    if len(expected) != len(got) or (kinds is not None and len(kinds) != len(got)):
        raise ValueError("expected, got and kinds must be of one length")
    scores = {rule: RuleScore() for rule in rules}
    for index, (want, fired_here) in enumerate(zip(expected, got, strict=True)):
        for rule in want:
            if rule in scores:
                if rule in fired_here:
                    scores[rule].tp += 1
                else:
                    scores[rule].fn += 1
        for rule in fired_here:
            if rule not in want and rule in scores:
                score = scores[rule]
                score.fp += 1
                kind = kinds[index] if kinds is not None else "other"
                if kind == "positive":
                    kind = "other_rule_positive"
                score.fp_by_kind[kind] = score.fp_by_kind.get(kind, 0) + 1
    return scores


def summary(scores: dict[str, RuleScore]) -> dict:
    """Micro totals (all rules' counts pooled), the macro mean F1 and the worst rule."""
    pooled = RuleScore()
    for score in scores.values():
        pooled.add(score)
    f1s = {rule: s.f1 for rule, s in scores.items() if s.f1 is not None}
    worst = min(f1s, key=lambda rule: (f1s[rule], rule)) if f1s else None
    return {
        "micro": pooled.as_dict(),
        "macro_f1": _round(sum(f1s.values()) / len(f1s)) if f1s else None,
        "worst_rule": worst,
        "worst_f1": _round(f1s[worst]) if worst else None,
    }


@dataclass(slots=True)
class BinaryScore:
    """A two-class confusion matrix (positive = the class to detect)."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def count(self, truth: bool, predicted: bool) -> None:
        if truth:
            self.tp, self.fn = self.tp + predicted, self.fn + (not predicted)
        else:
            self.fp, self.tn = self.fp + predicted, self.tn + (not predicted)

    @property
    def tpr(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def tnr(self) -> float | None:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def balanced_accuracy(self) -> float | None:
        """The mean of the recall of each class (robust to class imbalance)."""
        if self.tpr is None or self.tnr is None:
            return None
        return (self.tpr + self.tnr) / 2

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    def balanced_accuracy_interval(self, z: float = 1.96) -> tuple[float, float] | None:
        """A normal-approximation interval of the balanced accuracy (the mean of two independent
        proportions, each with its own sample size)."""
        pos, neg = self.tp + self.fn, self.tn + self.fp
        if self.balanced_accuracy is None or self.tpr is None or self.tnr is None:
            return None
        half = z * math.sqrt(self.tpr * (1 - self.tpr) / pos + self.tnr * (1 - self.tnr) / neg) / 2
        return max(0.0, self.balanced_accuracy - half), min(1.0, self.balanced_accuracy + half)

    def as_dict(self) -> dict:
        return {
            "balanced_accuracy": _round(self.balanced_accuracy),
            "balanced_accuracy_interval": _reported(self.balanced_accuracy_interval()),
            "recall_offensive": _round(self.tpr),
            "recall_safe": _round(self.tnr),
            "precision": _round(self.precision),
            "f1": _round(_f1(self.precision, self.tpr)),
            "tp": self.tp,
            "fp": self.fp,
            "tn": self.tn,
            "fn": self.fn,
        }


def offensive_score(
    truth: Sequence[bool], got: Sequence[frozenset[str]], offensive_rules: frozenset[str]
) -> BinaryScore:
    """Offensive (any of `offensive_rules` fired) against the label."""
    score = BinaryScore()
    for label, fired_here in zip(truth, got, strict=True):
        score.count(label, not offensive_rules.isdisjoint(fired_here))
    return score


def false_alarm_rate(got: Sequence[frozenset[str]]) -> float | None:
    """The share of messages on which anything fired (for text where nothing should)."""
    return _ratio(sum(1 for fired_here in got if fired_here), len(got))


def false_alarm_interval(got: Sequence[frozenset[str]]) -> list[float] | None:
    """`false_alarm_rate`'s 95 % Wilson interval."""
    return rate_interval(sum(1 for fired_here in got if fired_here), len(got))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
