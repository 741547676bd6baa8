"""Training the content classifier (streams.content.classifier): data, folds, calibration, thresholds.

Data (streams.content.datasets reads it): COLD's train split (offensive → the head
content.insult#public, safe → none), the training half of the benign dialogues (every turn → the
ordinary-chat head, heads.ORDINARY_CHAT) and our labelled workplace
examples (a positive → its rule, a hard negative or benign line → none, a hard negative of a rule in
`about_rules` → the rule's about head, heads.about_head; weighing `oversample` times a dataset
line, so a few thousand lines weigh against tens of thousands). Never the held-out authors. As a
head's negative, another rule's violation (a COLD offensive comment included) weighs
`other_rule_weight` of its weight.

One model is fitted per job (streams.content.linear: scikit-learn's weights in a fastText file),
each in a fresh single-threaded process (deterministic for a seed):
- held-out models over the labelled authors (`author_groups`: each leaves out a group of authors,
  or one author each): every author's examples scored by a model that never saw that author, the
  closest thing to a new author's text; model k also leaves out the k-th fold of the dataset
  examples (by a hash of the line, a benign turn's by its dialogue's), which it scores
  (streams.content.folds).
  Without several authors (tests), `folds` folds over all examples;
- on the heads' held-out decision values, the second stage (streams.content.stack), with its own
  held-out probabilities of every example (each from a stack fitted without the example's fold: an
  author's group of held-out authors, a dataset example's fold); a workplace rule's raw score is
  the stack's probability of its rule, the public head's its own column's;
- on those held-out raw scores, one isotonic calibration per rule (scikit-learn), and each
  rule's suggested threshold: the least calibrated score from which on the authors' predictions
  keep the precision target, firing on at most `benign_limit` of the held-out benign turns, then
  raised where needed so that all heads together fire on at most `benign_budget` (`within_budget`:
  the budget goes where it buys the most recall per benign turn); a head with a gate (`gates`:
  the policy's `[content.model] needs_target`, streams.content.targets) is chosen as it runs,
  scoring 0 on every example whose text the gate does not admit, and a head with an about head
  (`about_rules`) scoring 0 wherever that scores at least as high;
- the final model on everything;
- with `words` (the dictionaries' hits on a text, as the detector finds them), the ambiguous
  terms: per rule, the dictionary terms and pairings of terms that fired on more harmless messages
  of the training data than on messages of their rule, and the terms seen at all
  (streams.content.evidence).
  The detector lets the model veto the ambiguous ones (streams.content.combine.unconfirmed), so a
  notice that names a forbidden thing does not fire on the name alone, and, far lower, the seen ones.
The output is deterministic: the same inputs give the same model and metadata bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

from librt.vecs import vec

from streams.content import linear
from streams.content.calibration import Calibration, calibrate
from streams.content.classifier import FORMAT, LABEL_PREFIX
from streams.content.datasets import Labelled, author_of
from streams.content.evidence import WordHits, term_evidence
from streams.content.examples import Example, gather, harmful, never_held_out
from streams.content.folds import author_groups, fold_of, group_index, held_out_by, parts
from streams.content.heads import (
    ABOUT,
    NONE,
    ORDINARY_CHAT,
    StackInputs,
    about_head,
    is_about_rule,
    is_stacked,
)
from streams.content.link_judge import RULE as LINK_RULE
from streams.content.link_judge import Reading, trained
from streams.content.params import TrainingParams
from streams.content.reading import HEAD, TAIL
from streams.content.stack import Stack
from streams.content.stack import fit as stack_fit
from streams.content.thresholds import (
    Curve,
    balanced_accuracy,
    suggest_balanced_threshold,
    suggest_threshold,
    within_budget,
)
from streams.core.policy_schema import PUBLIC_INSULT_HEAD

MODEL_NAME = "qunguard-content"
ATTRIBUTION = (
    "Trained on COLD (Deng, Zhou, Sun, Zheng, Mi, Meng, Huang, 2022; Apache-2.0), LCCC (Wang et al., "
    "2020; MIT), KdConv (Zhou et al., 2020; Apache-2.0) and CrossWOZ (Zhu et al., 2020; Apache-2.0), "
    "plus qunguard's own labelled examples; the model holds weights over hashed character n-grams only."
)


@dataclass(frozen=True, slots=True)
class _Job:
    train: tuple[tuple[str, str, int, str], ...]  # (line, label, weight, writer: linear.fit)
    params: TrainingParams
    labels: tuple[str, ...]
    score_lines: tuple[str, ...] = ()
    save_to: str = ""


@dataclass
class TrainingResult:
    model: Path
    meta: dict[str, Any]
    data: dict[str, int] = field(default_factory=dict)


def _job(examples: Sequence[Example], params: TrainingParams, labels, score=(), save_to="") -> _Job:
    # Writers only where the fit counts them: each public line is a writer of its own, 100,000 strings.
    counted = params.min_writers > 1
    rows = [(e.line, e.label, e.weight, _writer(e, k) if counted else "") for k, e in enumerate(examples)]
    random.Random(params.seed).shuffle(rows)
    return _Job(tuple(rows), params, labels, tuple(e.line for e in score), save_to)


def _writer(example: Example, k: int) -> str:
    """Who wrote `example`, for TrainingParams.min_writers: its labelled author, else (public text,
    reviewers' feedback) the line itself."""
    return example.source if example.source.startswith("author_") else f"{example.source}#{k}"


def _fit(job: _Job) -> tuple[list[tuple[float, ...]], tuple[float, ...]]:
    """In a fresh process: fit (streams.content.linear), write the model file (to `save_to`, else a
    temporary one), and score `score_lines` through fastText's reading of it (one decision value per
    label, none's -inf); with the heads' intercepts, which the metadata carries."""
    import fasttext

    heads = _heads(job.labels, job.params)
    lines, labelled, weights, writers = (list(column) for column in zip(*job.train, strict=True))
    words = linear.vocabulary(lines)
    found = linear.fit(
        lines, labelled, weights, heads,
        [word for word, _ in words], job.params.bucket, job.params.word_ngrams, job.params.alpha,
        job.params.seed, tuple(filter(harmful, job.labels)), job.params.other_rule_weight,
        writers, job.params.min_writers,
    )  # fmt: skip
    labels = Counter(f"{LABEL_PREFIX}{label}" for label in labelled)
    with tempfile.TemporaryDirectory(prefix="qunguard-fit-") as tmp:
        path = job.save_to or str(Path(tmp) / "model.bin")
        linear.save(path, words, sorted(labels.items()), found, job.params.bucket, job.params.word_ngrams)
        model = fasttext.load_model(path)
    ids = linear.IdCount(model.get_words(), job.params.word_ngrams)
    out = []
    intercepts = vec[float](found.intercepts)
    for line in job.score_lines:
        # As TextClassifier computes them: from Python floats, not numpy's float32 arithmetic.
        hidden = model.get_sentence_vector(line).tolist()
        margins = dict(zip(heads, linear.margins(hidden, intercepts, ids(line)), strict=True))
        out.append(tuple(margins.get(label, -math.inf) for label in job.labels))
    return out, found.intercepts


def _run(jobs: list[_Job], workers: int) -> list[tuple[list[tuple[float, ...]], tuple[float, ...]]]:
    context = get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1) as pool:
        return list(pool.map(_fit, jobs))


def train(
    labelled: Sequence[Labelled],
    datasets: Path | None,
    out_dir: Path,
    params: TrainingParams = TrainingParams(),
    workers: int = 2,
    name: str = "content",
    gates: Mapping[str, Gate] | None = None,
    words: WordHits | None = None,
    links: Reading | None = None,
) -> TrainingResult:
    """Train, calibrate and write `out_dir/NAME.bin` and `out_dir/NAME.json`. `gates`: per head, what
    must hold of a text for the head to fire there (the detector applies the same). `words`: the
    dictionaries' (rule, units) hits on a text, for `term_evidence`; None: no term is ambiguous or seen.
    `links`: the link checks' reading of a text (links.LinkChecker.reading), to train the link judge."""
    gates = dict(gates or {})
    alone = {f"author_{author}" for author in params.judge_only}
    judge_only = never_held_out([x for x in labelled if author_of(x) in alone])
    examples = gather(
        [x for x in labelled if author_of(x) not in alone],
        datasets,
        params.oversample,
        params.negative_oversample,
        params.about_rules,
        ORDINARY_CHAT if params.chat_head else NONE,
    )
    labels = tuple(sorted({e.label for e in examples}))
    heads = _heads(labels, params)
    rules = _rules(labels, params)
    authors = sorted({e.source for e in examples if e.source.startswith("author_")})
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{name}.bin"
    held_out_groups = author_groups(authors, params.author_groups) if len(authors) > 1 else []
    part = parts(held_out_groups, params.folds)
    jobs, scored = [], []
    for k in range(len(held_out_groups) or params.folds):
        test = [e for e in examples if part(e) == k]
        jobs.append(_job([e for e in examples if part(e) != k], params, labels, test))
        scored.append(test)
    jobs.append(_job(examples, params, labels, save_to=str(model_path)))
    results = _run(jobs, workers)
    oof = _paired(scored, [found for found, _ in results[:-1]])
    stack, oof = _stacked(oof, labels, heads, params, held_out_groups, workers)
    unseen = [(e, p) for e, p in oof if e.source.startswith("author_")] if held_out_groups else []
    calibration, suggested, figures = _calibrate_all(labels, oof, unseen, params, gates)
    link_judge = None
    if links is not None:
        link_judge, suggested[LINK_RULE], figures[LINK_RULE] = trained(
            _judged(examples, judge_only, held_out_groups),
            links,
            [e.text for e in examples if e.source == "benign"],
        )
    data = Counter(f"{e.source}:{e.label}" for e in examples)
    data.update(f"{author_of(x)}:{LINK_RULE if x.expected else NONE}" for x in judge_only)
    data = dict(sorted(data.items()))
    ambiguous, seen = term_evidence(examples, words) if words is not None else ({}, {})
    meta = {
        "format": FORMAT,
        "name": MODEL_NAME,
        "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
        "labels": list(labels),
        "rules": list(rules),
        "features": {
            "input": "NFKC, case folding, traditional to simplified, look-alike variants, noise removed, "
            "links as a placeholder word, numbers left out",
            "tokens": "characters",
            "word_ngrams": params.word_ngrams,
            "scored_chars": {"head": HEAD, "tail": TAIL},
        },
        "params": asdict(params),
        # streams.content.linear: the decision value of head k is margins(...)[k]
        "linear": {"heads": list(heads), "intercepts": [round(b, 9) for b in results[-1][1]]},
        "stack": stack.to_json(),
        "calibration": calibration,
        "links": link_judge.to_json() if link_judge is not None else None,
        "suggested_thresholds": suggested,
        "ambiguous_terms": ambiguous,
        "seen_terms": seen,
        "cross_validation": {
            "thresholds_from": held_out_by(authors, held_out_groups),
            "calibration_from": "held-out probabilities: the held-out author models' for labelled examples, "
            f"{params.folds}-fold out-of-fold for the datasets",
            "at_suggested_threshold": figures,
            "gated_heads": sorted(gates),
            "about_heads": sorted(label[len(ABOUT) :] for label in labels if is_about_rule(label)),
            "ordinary_chat_head": ORDINARY_CHAT in labels,
        },
        "training_data": data,
        "attribution": ATTRIBUTION,
    }
    meta_path = model_path.with_suffix(".json")
    meta_path.write_text(
        json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return TrainingResult(model_path, meta, data)


def _judged(
    examples: Sequence[Example], judge_only: Sequence[Labelled], groups: Sequence[frozenset[str]]
) -> list[tuple[str, bool, int | None]]:
    """The link judge's messages (link_judge.trained): every labelled example's, held out with its
    author's group, and the judge-only authors', each author a held-out group of its own."""
    group_of = group_index(groups)
    own = {author: len(groups) + k for k, author in enumerate(sorted({author_of(x) for x in judge_only}))}
    return [
        (e.text, e.label == LINK_RULE, group_of.get(e.source))
        for e in examples
        if e.source not in ("cold", "benign")
    ] + [(x.text, LINK_RULE in x.expected, own[author_of(x)]) for x in judge_only]


Scored = list[tuple[Example, tuple[float, ...]]]  # an example's held-out decision value per label


class Held(NamedTuple):
    """An example's held-out figures, one per label: the first stage's decision values and the raw
    scores the calibration maps (a stacked rule's the stack's probability, else the column's)."""

    margins: tuple[float, ...]
    raw: tuple[float, ...]


Raw = list[tuple[Example, Held]]
Gate = Callable[[str], object]  # truthy when a head may fire on the text


def _calibrate_all(
    labels: tuple[str, ...], oof: Raw, unseen: Raw, params: TrainingParams, gates: Mapping[str, Gate]
):
    """Per rule: the calibration table, the suggested threshold and the figures at it. A gated
    head's threshold and figures count an example its gate does not admit as scoring 0; a head
    with an about head, an example where that scores at least as high (TextClassifier.scores)."""
    calibration: dict[str, Any] = {}
    suggested: dict[str, float | None] = {}
    curves: dict[str, Curve] = {}
    cold_accuracy = None
    rules = _rules(labels, params)
    for i, rule in enumerate(labels):
        if rule not in rules:
            continue
        calibration[rule] = table = calibrate([h.raw[i] for _, h in oof], [e.label == rule for e, _ in oof])
        about = labels.index(about_head(rule)) if about_head(rule) in labels else None
        score = _gated(Calibration.from_json(table), i, gates.get(rule), about)
        benign = [score(e, p) for e, p in oof if e.source == "benign"]
        curves[rule] = curve = Curve(
            [score(e, p) for e, p in unseen], [e.label == rule for e, _ in unseen], benign
        )
        if rule == PUBLIC_INSULT_HEAD:
            cold = [(score(e, p), e.label == rule) for e, p in oof if e.source == "cold"]
            t = suggest_balanced_threshold(cold, benign, params.public_benign_limit)
            cold_accuracy = None if t is None else balanced_accuracy(cold, t)
        else:
            t = suggest_threshold(curve, params.precision_target, params.benign_limit)
        suggested[rule] = t
    if params.benign_budget is not None:
        suggested = within_budget(suggested, curves, params.benign_budget)
    figures: dict[str, Any] = {}
    for rule, t in suggested.items():
        if t is not None:
            figures[rule] = curves[rule].figures(t)
            if rule == PUBLIC_INSULT_HEAD:
                figures[rule]["cold_train_oof_balanced_accuracy"] = cold_accuracy
    return calibration, suggested, figures


def _stacked(
    oof: Scored, labels: tuple[str, ...], heads: tuple[str, ...], params: TrainingParams, groups, workers: int
) -> tuple[Stack, Raw]:
    """The stack (streams.content.stack) fitted on the held-out decision values of the heads, the
    line's length (heads.LENGTH) and, for the heads of `versus_chat`, their difference from the
    ordinary-chat head's (heads.StackInputs); and every example's raw scores (one per label): a
    stacked head's from a stack that never saw the example's fold (an author's: its group's), every
    other label's the first stage's probability."""
    columns = [labels.index(head) for head in heads]
    inputs = StackInputs(
        heads, [h for h in heads if h in params.versus_chat] if ORDINARY_CHAT in heads else []
    )
    author_fold = {author: k % params.folds for author, k in group_index(groups).items()}
    stack, held_out = stack_fit(
        [list(inputs(vec[float]([p[i] for i in columns]), e.line)) for e, p in oof],
        [e.label for e, _ in oof],
        inputs.names,
        [author_fold[e.source] if e.source in author_fold else fold_of(e, params.folds) for e, _ in oof],
        workers,
    )
    at = {labels.index(head): stack.classes.index(head) for head in heads if is_stacked(head)}
    raw = [
        (e, Held(p, tuple(q[at[i]] if i in at else linear.probability(m) for i, m in enumerate(p))))
        for (e, p), q in zip(oof, held_out, strict=True)
    ]
    return stack, raw


def _gated(
    cal: Calibration, i: int, admit: Gate | None, about: int | None = None
) -> Callable[[Example, Held], float]:
    """An example's calibrated score of label `i`; 0 where `admit` rejects its text or where label
    `about`'s decision value is at least its own."""

    def score(e: Example, h: Held) -> float:
        if (about is not None and h.margins[about] >= h.margins[i]) or not (admit is None or admit(e.text)):
            return 0.0
        return cal(h.raw[i])

    return score


def _heads(labels: Sequence[str], params: TrainingParams) -> tuple[str, ...]:
    """The model's outputs, in the file's column order: every label but none and the unscored rules."""
    return tuple(label for label in labels if label != NONE and label not in params.unscored)


def _rules(labels: Sequence[str], params: TrainingParams) -> tuple[str, ...]:
    """The heads that are rules' own (not about a rule): what is calibrated and given a threshold."""
    return tuple(label for label in _heads(labels, params) if harmful(label))


def _paired(parts, results) -> list[tuple[Example, tuple[float, ...]]]:
    return [
        pair for part, probs in zip(parts, results, strict=True) for pair in zip(part, probs, strict=True)
    ]
