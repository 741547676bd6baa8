"""The `multi` section of `qunguard eval`: lines labelled with every rule they break.

The labelled authors write one rule per line, so where a line breaks two (a threat that also
insults), the engine's second, right finding counts as a false positive there; the SPEC's corpus
labels such lines with both. `config/labelled/multi_*.jsonl` were written by helper sessions from
their own knowledge, each line with all the rules it breaks ([] for a line that breaks none but
looks close: a notice, a quote in a report). Two sets: `multi` (`MULTI_AUTHORS`), report-only like
the held-out authors, never trained or tuned on; `multi_tuning` (`MULTI_TUNING_AUTHORS`), whose
lines were read to see what the engine misses. Neither is trained on. Per rule precision, recall and
F1 as for the other sections, and, of the lines that break two rules or more, on how many the
engine found every one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streams.content import evaluation
from streams.content.datasets import multi_file, read_multi_labelled
from streams.content.detector import ContentDetector


def multi_files(folder: Path, authors: Sequence[str]) -> list[Path]:
    return [multi_file(author, folder) for author in authors]


def multi_labelled(
    folder: Path, authors: Sequence[str], detector: ContentDetector, keep: Callable[[str], bool]
) -> dict[str, Any]:
    """The section's figures (without `data`)."""
    examples = [
        example
        for path in multi_files(folder, authors)
        for example in read_multi_labelled(path, detector.rules)
        if keep(example.text)
    ]
    got = evaluation.predict(detector, [e.text for e in examples])
    expected = [e.expected for e in examples]
    scores = evaluation.rule_scores(expected, got, detector.rules, [e.kind for e in examples])
    several = [(want, fired) for want, fired in zip(expected, got, strict=True) if len(want) >= 2]
    return {
        "lines": len(examples),
        "rules": {rule: score.as_dict() for rule, score in scores.items()},
        "summary": evaluation.summary(scores),
        "several_rules": {
            "lines": len(several),
            "all_found": sum(1 for want, fired in several if want <= fired),
            "none_found": sum(1 for want, fired in several if not want & fired),
        },
    }
