"""The `imitations` section of `qunguard eval`: what the engine does on the other kinds of text
issue 14 names (SMS advertising, Weibo rumours), where no real text of them is at hand.

`config/labelled/imitation_{sms,posts}.jsonl` (the labelled examples' schema: a positive names the
rule it should fire, a benign line is ordinary text of that kind) were written by helper sessions
from their own knowledge, not taken from any corpus. They are imitations: a figure here says how
the engine treats text shaped like SMS promotions or rumour posts, not what it would find in a real
SMS or Weibo sample. Report-only, like the held-out authors: never trained or tuned on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streams.content import evaluation
from streams.content.datasets import LABELLED_DIR, Labelled, read_labelled
from streams.content.detector import ContentDetector

IMITATIONS = ("sms", "posts")


def imitation_file(kind: str, folder: Path = LABELLED_DIR) -> Path:
    return folder / f"imitation_{kind}.jsonl"


def imitation_figures(examples: list[Labelled], got: list[frozenset[str]]) -> dict[str, Any]:
    """Per rule, how many of its positives it fired on; on the ordinary texts, how many any rule
    fired on (and which)."""
    positives = [(e, fired) for e, fired in zip(examples, got, strict=True) if e.kind == "positive"]
    rules = sorted({e.rule for e, _ in positives if e.rule})
    scores = evaluation.rule_scores([e.expected for e, _ in positives], [f for _, f in positives], rules)
    ordinary = [fired for example, fired in zip(examples, got, strict=True) if example.kind != "positive"]
    rate = evaluation.false_alarm_rate(ordinary)
    return {
        "found": {
            rule: {
                "found": score.tp,
                "of": score.support,
                "rate": round(score.recall or 0.0, 4),
                "interval": evaluation.rate_interval(score.tp, score.support),
            }
            for rule, score in scores.items()
        },
        "ordinary": {
            "texts": len(ordinary),
            "false_alarms": sum(1 for fired in ordinary if fired),
            "false_alarm_rate": None if rate is None else round(rate, 4),
            "false_alarm_interval": evaluation.false_alarm_interval(ordinary),
            "by_rule": dict(sorted(Counter(rule for fired in ordinary for rule in fired).items())),
        },
    }


def imitations(folder: Path, detector: ContentDetector, keep: Callable[[str], bool]) -> dict[str, Any]:
    """The section: one block of figures per file."""
    out: dict[str, Any] = {}
    for kind in IMITATIONS:
        examples = [e for e in read_labelled(imitation_file(kind, folder)) if keep(e.text)]
        out[kind] = imitation_figures(examples, evaluation.predict(detector, [e.text for e in examples]))
    return out
