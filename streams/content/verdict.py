"""The learned model's part of a content decision (issue 14, layer 2), as the policy sets it.

`[content.model]` in the policy: `enabled`, `path` (the model file; its `.json` sits beside it) and
`thresholds`, one calibrated probability per model head the model may fire (a rule id, or a rule id
with a qualifier such as `content.insult#public`: streams.content.classifier); a head without a
threshold never fires. Per message, `ModelJudge.hits` asks the classifier which of those heads
reach their threshold (one fastText prediction). A head that reaches it fires its rule unless the words the
model read are ones the dictionaries' context vetoes: the text a prohibition frame governs (严禁…
to the end of its clause, …一经发现 back to the start of its sentence, streams.content.context's
reach) and allow-list entries are set aside and the text scored again; a head that no longer
reaches its threshold is vetoed. A frame counts for a head only where the text it governs holds a
dictionary term of the head's rule: what a frame forbids is what it names (不要再相信领导的承诺 is
the incitement itself, not a notice against it). Several heads of one rule make one hit, the best
score's. The hit carries the model's name, version, head and score for the violation's evidence
(`ModelHit`).
A head listed in `needs_target` fires only on a message that names a group of people
(streams.content.targets). A head the model's about head outranks scores 0 (heads.about_head).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.content.calibration import Cutoffs
from streams.content.classifier import TextClassifier
from streams.content.context import CLAUSE_BREAKS, SENTENCE_BREAKS, governs
from streams.content.heads import rule_of
from streams.content.matcher import ALLOW, FRAME, FRAME_AFTER, Match, ModelHit
from streams.content.normalize import Normalized
from streams.content.targets import TargetWords

DEFAULT_PATH = "model/content.bin"


@dataclass(frozen=True, slots=True)
class ModelSettings:
    enabled: bool = False
    path: str = DEFAULT_PATH
    thresholds: Mapping[str, float] | None = None
    defer_to_lexicon: bool = False  # streams.content.combine.deferred
    defer_unless_below: float | None = None  # a words' rule the model scores below this decides nothing
    defer_unless_above: float | None = None  # a model hit scoring at least this is never deferred
    needs_target: tuple[str, ...] = ()  # heads that fire only where a group of people is named
    lexicon_veto_below: float | None = None  # streams.content.combine.unconfirmed
    lexicon_veto_every_below: float | None = None  # the same, for every term
    lexicon_veto_harmless_below: float | None = None  # every term, where no rule scores this

    @classmethod
    def from_section(cls, data: Mapping[str, Any]) -> ModelSettings:
        """`[content.model]` as the schema (streams.core.policy_schema) accepted it."""
        return cls(
            enabled=bool(data.get("enabled", False)),
            path=str(data.get("path", DEFAULT_PATH)),
            thresholds={str(head): float(t) for head, t in (data.get("thresholds") or {}).items()},
            defer_to_lexicon=bool(data.get("defer_to_lexicon", False)),
            defer_unless_below=_optional_float(data, "defer_unless_below"),
            defer_unless_above=_optional_float(data, "defer_unless_above"),
            needs_target=tuple(str(head) for head in data.get("needs_target", ())),
            lexicon_veto_below=_optional_float(data, "lexicon_veto_below"),
            lexicon_veto_every_below=_optional_float(data, "lexicon_veto_every_below"),
            lexicon_veto_harmless_below=_optional_float(data, "lexicon_veto_harmless_below"),
        )

    @property
    def vetoes_words(self) -> bool:
        """Whether the model may veto dictionary hits (streams.content.combine.unconfirmed)."""
        return (
            self.lexicon_veto_below is not None
            or self.lexicon_veto_every_below is not None
            or self.lexicon_veto_harmless_below is not None
        )


def _optional_float(data: Mapping[str, Any], key: str) -> float | None:
    return None if data.get(key) is None else float(data[key])


# (the normalised text, every dictionary match in it): computed only when the model fired
Matches = Callable[[str], tuple[Normalized, list[Match]]]


class ModelJudge:
    def __init__(
        self,
        classifier: TextClassifier,
        thresholds: Mapping[str, float],
        frame_window: int,
        targets: TargetWords | None = None,
        needs_target: tuple[str, ...] = (),
    ) -> None:
        if needs_target and targets is None:
            raise ValueError("heads that need a target word need the target word list")
        self.classifier = classifier
        self.cutoffs: Cutoffs = classifier.cutoffs(thresholds)
        self.frame_window = frame_window
        self.model = (classifier.name, classifier.version)
        self.targets = targets
        self.needs_target = frozenset(needs_target)

    def hits(
        self,
        text: str,
        matches: Matches,
        trace: list[str] | None = None,
        view: str | None = None,
        scores: dict[str, float] | None = None,
    ) -> list[ModelHit]:
        """`view`: reading.clause_view(text), when the caller has it.
        `scores`: the model's scores of `text` (TextClassifier.scores), if a veto already made them."""
        if scores is None:
            confident = self.classifier.confident(text, self.cutoffs, view)
        else:
            confident = self.cutoffs.passing(scores)
        if trace is not None:
            self._trace_scores(text, confident, trace, scores)
        if confident and self.needs_target:
            self._drop_untargeted(text, confident, trace)
        if not confident:
            return []
        norm, found = matches(text)
        kept: dict[tuple[tuple[int, int], ...], dict[str, float]] = {}  # heads often share regions
        for head in sorted(confident):
            regions = tuple(vetoed_regions(text, norm, found, self.frame_window, rule_of(head)))
            if not regions:
                continue
            if regions not in kept:
                kept[regions] = self.classifier.confident(_without(text, list(regions)), self.cutoffs)
            if head not in kept[regions]:
                if trace is not None:
                    trace.append(
                        f"{head}: model score {confident[head]:.3f} vetoed: below "
                        f"{self.cutoffs.thresholds[head]:.2f} without the text that prohibition frames"
                        " naming the rule govern or allow-list entries cover"
                    )
                del confident[head]
        best: dict[str, tuple[float, str]] = {}
        for head, score in confident.items():
            best[rule_of(head)] = max(best.get(rule_of(head), (0.0, "")), (score, head))
        return [
            ModelHit(
                rule,
                (),
                0,
                len(text),
                self._why(head, score, trace),
                score=score,
                model=self.model,
                head=head,
            )
            for rule, (score, head) in sorted(best.items())
        ]

    def _drop_untargeted(self, text: str, confident: dict[str, float], trace: list[str] | None) -> None:
        """Drop the confident heads that need a group of people named when `text` names none."""
        gated = [head for head in confident if head in self.needs_target]
        if not gated or self.targets is None or self.targets.named(text) is not None:
            return
        for head in gated:
            if trace is not None:
                trace.append(
                    f"{head}: model score {confident[head]:.3f} not fired: the message names no group"
                    " of people (target words)"
                )
            del confident[head]

    def _why(self, head: str, score: float, trace: list[str] | None) -> tuple[str, ...]:
        """The reason for `qunguard scan` (which passes a trace); not formatted otherwise."""
        if trace is None:
            return ()
        threshold = self.cutoffs.thresholds[head]
        return (f"model {self.model[0]}@{self.model[1]}: {head} score {score:.3f} >= {threshold:.2f}",)

    def _trace_scores(
        self, text: str, confident: dict[str, float], trace: list[str], scores: dict[str, float] | None
    ) -> None:
        """For `qunguard scan`: the heads the model may fire that stayed below their threshold.
        `scores`: the model's scores of `text`, if already made."""
        if scores is None:
            scores = self.classifier.scores(text)
        outranked = self.classifier.outranked(text) if self.classifier.about else {}
        for head, threshold in sorted(self.cutoffs.thresholds.items()):
            score = scores.get(head, 0.0)
            if head in outranked and outranked[head] >= threshold:
                trace.append(
                    f"{head}: model score {outranked[head]:.3f} vetoed: its about head scores the"
                    " message higher (a message about the rule, not one that breaks it)"
                )
            elif head not in confident and score >= 0.5 * threshold:
                trace.append(f"{head}: model score {score:.3f} below threshold {threshold:.2f}")


def vetoed_regions(
    original: str, norm: Normalized, matches: list[Match], window: int, rule: str | None = None
) -> list[tuple[int, int]]:
    """Spans of `original` that allow-list entries cover or prohibition frames govern; with `rule`,
    only the frames that govern a dictionary term of that rule (context.governs: the term lies in
    the span, as the dictionaries read it)."""
    out: list[tuple[int, int]] = []
    offsets = norm.offsets
    named = None if rule is None else [m for m in matches if m.entry.rule == rule]
    for m in matches:
        kind = m.entry.kind
        if kind == ALLOW:
            out.append(norm.span(m.start, m.end))
            continue
        if kind == FRAME and m.end < len(offsets):
            start = offsets[m.end - 1] + 1
            reach = offsets[min(len(offsets), m.end + window) - 1] + 1
            span = (start, first_break(original, start, reach, CLAUSE_BREAKS))
        elif kind == FRAME_AFTER and m.start > 0:
            end = offsets[m.start]
            reach = offsets[max(0, m.start - window)]
            span = (last_break(original, reach, end, SENTENCE_BREAKS), end)
        else:
            continue
        if named is None or any(governs(norm, original, m, term, window) for term in named):
            out.append(span)
    return [(a, b) for a, b in out if a < b]


def first_break(text: str, start: int, end: int, breaks: frozenset[str]) -> int:
    """The index of the first of `breaks` in text[start:end], else `end`."""
    return next((i for i in range(start, end) if text[i] in breaks), end)


def last_break(text: str, start: int, end: int, breaks: frozenset[str]) -> int:
    """Just after the last of `breaks` in text[start:end], else `start`."""
    return next((i + 1 for i in range(end - 1, start - 1, -1) if text[i] in breaks), start)


def _without(text: str, regions: list[tuple[int, int]]) -> str:
    keep = [True] * len(text)
    for a, b in regions:
        keep[a:b] = [False] * (b - a)
    return "".join(ch for ch, k in zip(text, keep, strict=True) if k)
