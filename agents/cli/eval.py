"""`qunguard eval`: how well the whole content engine does, per rule, on data it was not tuned on.

The engine is the `ContentDetector` the policy configures (lexicon, structural checks and the
learned model when the policy turns it on), called as replay and the worker call it. Sections,
each naming the data its figures come from:

- `cv`: k-fold cross-validation over the labelled training authors (folds by a hash of the text,
  streams.content.datasets.fold_of); with the model on, it is retrained for every fold on the
  other folds (agents.cli.model), so no figure comes from a model that saw the example;
- `held_out`: the held-out authors (`HELD_OUT_AUTHORS`: scored with the shipped engine; never
  trained or tuned on), pooled and each on their own;
- `cold`: COLD's dev split, offensive (content.insult, inflammatory or political fired) against
  its label, as balanced accuracy;
- `benign`: the false-alarm rate on the evaluation half of the benign dialogues (one turn = one
  message; the other half is the model's to train on, streams.content.datasets.benign_half);
- `corpus`: the shared development corpus against its expected violations (the dictionaries were
  written while reading it: a regression figure, not a generalisation one);
- `imitations`: helper-written imitations of SMS and Weibo posts, ads and rumours among ordinary
  ones (agents.cli.eval_imitations: no real text of those kinds is at hand);
- `multi`: helper-written lines labelled with every rule they break, held out; `multi_tuning`: more
  such lines, read while tuning (agents.cli.eval_multi).

`--quick` evaluates a fixed tenth of each set and retrains nothing (for the test suite). Metrics:
streams.content.evaluation; docs/eval.md.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from agents.cli.eval_imitations import IMITATIONS, imitation_file, imitations
from agents.cli.eval_multi import multi_files, multi_labelled
from config import CONFIG_DIR
from streams.content import evaluation
from streams.content.datasets import (
    HELD_OUT_AUTHORS,
    LABELLED_DIR,
    MULTI_AUTHORS,
    MULTI_TUNING_AUTHORS,
    OFFENSIVE_RULES,
    TRAINING_AUTHORS,
    DatasetError,
    Labelled,
    author_file,
    author_of,
    benign_turns,
    fold_of,
    read_authors,
    read_cold,
    read_dialogues,
    stable_hash,
)
from streams.content.detector import ContentDetector
from streams.core.policy import Policy

SECTIONS = ("cv", "held_out", "cold", "benign", "corpus", "imitations", "multi", "multi_tuning")
SHARED = CONFIG_DIR.parent.parent / "shared"
DESCRIPTION = (__doc__ or "").split("\n\n")[0]  # `qunguard eval --help`
# The two sets of lines labelled with every rule they break: their authors, and how they are used.
MULTI_SETS = {
    "multi": (MULTI_AUTHORS, "never trained or tuned on; report-only"),
    "multi_tuning": (MULTI_TUNING_AUTHORS, "read while tuning, never trained on"),
}
QUICK_SHARE = 10  # --quick keeps one item in ten (by a hash of its text)
ERROR = 2


def default_datasets() -> Path:
    return Path(os.environ.get("QUNGUARD_DATASETS", SHARED / "datasets"))


def default_corpus() -> Path:
    return Path(os.environ.get("QUNGUARD_CORPUS", SHARED / "corpus"))


class FoldTrainer(Protocol):
    """Trains the model on one fold's training examples and returns the policy that loads it."""

    def __call__(self, training: Sequence[Labelled], workdir: Path) -> Policy: ...


@dataclass(frozen=True, slots=True)
class EvalOptions:
    policy: Policy
    labelled: Path = LABELLED_DIR
    datasets: Path = SHARED / "datasets"
    corpus: Path = SHARED / "corpus"
    folds: int = 5
    quick: bool = False
    sections: tuple[str, ...] = SECTIONS
    trainer: FoldTrainer | None = None  # None: every fold uses the shipped engine


def _keep(quick: bool) -> Callable[[str], bool]:
    return (
        (lambda text: stable_hash(text, "qunguard-quick") % QUICK_SHARE == 0) if quick else (lambda _t: True)
    )


def _scored(expected, got, rules, kinds) -> dict[str, Any]:
    scores = evaluation.rule_scores(expected, got, rules, kinds)
    return {
        "rules": {rule: score.as_dict() for rule, score in scores.items()},
        "summary": evaluation.summary(scores),
    }


def cross_validation(
    options: EvalOptions, shipped: ContentDetector, workdir: Path, log: TextIO | None = None
) -> dict[str, Any]:
    keep = _keep(options.quick)
    examples = [e for e in read_authors(TRAINING_AUTHORS, options.labelled) if keep(e.text)]
    tested: list[Labelled] = []  # in the order of `got`: fold by fold
    got: list[frozenset[str]] = []
    per_fold = []
    for fold in range(options.folds):
        test = [e for e in examples if fold_of(e.text, options.folds) == fold]
        if options.trainer is None:
            detector = shipped
        else:
            training = [e for e in examples if fold_of(e.text, options.folds) != fold]
            print(
                f"eval: cv: fold {fold + 1}/{options.folds}: training on {len(training)} examples",
                file=log or sys.stderr,
            )
            detector = ContentDetector(options.trainer(training, workdir / f"fold-{fold}"))
        fired = evaluation.predict(detector, [e.text for e in test])
        scores = evaluation.rule_scores([e.expected for e in test], fired, shipped.rules)
        model = evaluation.engine_facts(detector)["model"]
        per_fold.append(
            {
                "fold": fold,
                "examples": len(test),
                "model": model and model["version"],
                **evaluation.summary(scores),
            }
        )
        tested += test
        got += fired
    files = " + ".join(_shown(author_file(a, options.labelled)) for a in TRAINING_AUTHORS)
    if options.trainer is not None:
        how = (
            "the model retrained for every fold on the other folds plus the datasets' training parts "
            "(thresholds: the policy's)"
        )
    elif shipped.model_path is not None:
        how = (
            "NOT retrained (--quick): the shipped model, which was trained on these authors, on every "
            "fold: a smoke test, not a cross-validation figure"
        )
    else:
        how = "no model: the shipped lexicon and structural checks on every fold (nothing in them is learned)"
    return {
        "data": f"{files}: {len(examples)} examples, {options.folds} folds by a hash of the text; {how}",
        "retrained": options.trainer is not None,
        **_scored([e.expected for e in tested], got, shipped.rules, [e.kind for e in tested]),
        "folds": per_fold,
        "by_author": _by_author(TRAINING_AUTHORS, tested, got, shipped.rules),
    }


def held_out(options: EvalOptions, detector: ContentDetector) -> dict[str, Any]:
    files = " + ".join(_shown(author_file(a, options.labelled)) for a in HELD_OUT_AUTHORS)
    examples = [e for e in read_authors(HELD_OUT_AUTHORS, options.labelled) if _keep(options.quick)(e.text)]
    got = evaluation.predict(detector, [e.text for e in examples])
    return {
        "data": f"{files}: {len(examples)} examples of the held-out authors (never trained or tuned on)",
        **_scored([e.expected for e in examples], got, detector.rules, [e.kind for e in examples]),
        "by_author": _by_author(HELD_OUT_AUTHORS, examples, got, detector.rules),
    }


def _by_author(
    authors: Sequence[str], examples: Sequence[Labelled], got: Sequence[frozenset[str]], rules
) -> dict[str, Any]:
    """Each author's figures on their own (`got[i]`: what fired on `examples[i]`): they wrote to
    different briefs, and a subset of authors can be pooled again from the counts (the training
    authors of an earlier model, say)."""
    mine: dict[str, list[tuple[Labelled, frozenset[str]]]] = {f"author_{a}": [] for a in authors}
    for example, fired in zip(examples, got, strict=True):
        mine[author_of(example)].append((example, fired))
    out = {}
    for author in authors:
        pairs = mine[f"author_{author}"]
        out[author] = _scored(
            [e.expected for e, _ in pairs], [f for _, f in pairs], rules, [e.kind for e, _ in pairs]
        )
    return out


def cold(options: EvalOptions, detector: ContentDetector) -> dict[str, Any]:
    path = options.datasets / "cold" / "dev.csv"
    comments = [c for c in read_cold(path) if _keep(options.quick)(c.text)]
    got = evaluation.predict(detector, [c.text for c in comments])
    by_topic = {}
    for topic in sorted({c.topic for c in comments}):
        pairs = [(c.offensive, g) for c, g in zip(comments, got, strict=True) if c.topic == topic]
        score = evaluation.offensive_score([p[0] for p in pairs], [p[1] for p in pairs], OFFENSIVE_RULES)
        by_topic[topic] = score.as_dict()
    overall = evaluation.offensive_score([c.offensive for c in comments], got, OFFENSIVE_RULES)
    fired_rules = Counter(rule for g in got for rule in g)
    return {
        "data": f"{_shown(path)}: {len(comments)} comments (COLD dev split; offensive = any of "
        f"{', '.join(sorted(OFFENSIVE_RULES))} fired)",
        **overall.as_dict(),
        "by_topic": by_topic,
        "rules_fired": dict(sorted(fired_rules.items())),
    }


def benign(options: EvalOptions, detector: ContentDetector) -> dict[str, Any]:
    folder = options.datasets / "benign"
    dialogues = read_dialogues(folder)
    turns = [(s, t) for s, t in benign_turns(dialogues, "eval") if _keep(options.quick)(t)]
    got = evaluation.predict(detector, [t for _s, t in turns])
    by_source = {}
    for source in sorted({s for s, _t in turns}):
        mine = [g for (s, _t), g in zip(turns, got, strict=True) if s == source]
        by_source[source] = {
            "turns": len(mine),
            "false_alarm_rate": _round(evaluation.false_alarm_rate(mine)),
        }
    return {
        "data": f"{_shown(folder)}/*.jsonl: {len(turns)} turns, the evaluation half of "
        f"{len(dialogues)} dialogues (whole dialogues by a hash; the other half may be trained on)",
        "false_alarm_rate": _round(evaluation.false_alarm_rate(got)),
        "false_alarm_interval": evaluation.false_alarm_interval(got),
        "false_alarms": sum(1 for g in got if g),
        "turns": len(turns),
        "by_source": by_source,
        "by_rule": dict(sorted(Counter(rule for g in got for rule in g).items())),
    }


def corpus(options: EvalOptions, detector: ContentDetector) -> dict[str, Any]:
    from agents.cli.inputs import read_events
    from topics.events import MessageEvent

    events_path, expected_path = options.corpus / "content.jsonl", options.corpus / "content.expected.jsonl"
    wanted: dict[str, set[str]] = {}
    for number, line in enumerate(expected_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            rule, event_id = str(record["rule"]), str(record["event_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{expected_path}:{number}: not an expected violation ({exc})") from None
        if rule.startswith("content."):
            wanted.setdefault(event_id, set()).add(rule)
    events = [e for _n, e in read_events(events_path, sys.stderr) if isinstance(e, MessageEvent)]
    got = [evaluation.fired(detector, event) for event in events]
    expected = [frozenset(wanted.get(e.event_id, ())) for e in events]
    kinds = ["positive" if w else "clean" for w in expected]
    return {
        "data": f"{_shown(events_path)}: {len(events)} messages against {_shown(expected_path)} (development corpus: the "
        "dictionaries were written while reading it; `qunguard replay` + score.py gives the same per rule)",
        **_scored(expected, got, detector.rules, kinds),
    }


def imitations_section(options: EvalOptions, detector: ContentDetector) -> dict[str, Any]:
    files = " + ".join(_shown(imitation_file(kind, options.labelled)) for kind in IMITATIONS)
    return {
        "data": f"{files}: helper-written imitations of SMS and Weibo posts (not real text; report-only)",
        **imitations(options.labelled, detector, _keep(options.quick)),
    }


def multi_section(options: EvalOptions, detector: ContentDetector, section: str) -> dict[str, Any]:
    authors, how = MULTI_SETS[section]
    files = " + ".join(_shown(path) for path in multi_files(options.labelled, authors))
    figures = multi_labelled(options.labelled, authors, detector, _keep(options.quick))
    return {
        "data": f"{files}: {figures.pop('lines')} helper-written lines labelled with every rule they break ({how})",
        **figures,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _shown(path: Path) -> str:
    """A path as the user would type it from here."""
    return os.path.relpath(path)


def _inputs_missing(section: str, options: EvalOptions) -> str | None:
    needs = {
        "cv": [author_file(a, options.labelled) for a in TRAINING_AUTHORS],
        "held_out": [author_file(a, options.labelled) for a in HELD_OUT_AUTHORS],
        "cold": [options.datasets / "cold" / "dev.csv"],
        "benign": [options.datasets / "benign"],
        "corpus": [options.corpus / "content.jsonl", options.corpus / "content.expected.jsonl"],
        "imitations": [imitation_file(kind, options.labelled) for kind in IMITATIONS],
        **{name: multi_files(options.labelled, authors) for name, (authors, _) in MULTI_SETS.items()},
    }[section]
    if section == "cv" and options.trainer is not None:
        needs.append(options.datasets / "cold" / "train.csv")  # what the model is retrained on
    missing = [str(p) for p in needs if not p.exists()]
    return f"not found: {', '.join(missing)}" if missing else None


def run_eval(options: EvalOptions, workdir: Path, log: TextIO | None = None) -> dict[str, Any]:
    log = log or sys.stderr
    started = time.perf_counter()
    detector = ContentDetector(options.policy)
    doc: dict[str, Any] = {
        "qunguard_eval": 1,
        "policy": options.policy.version,
        "engine": evaluation.engine_facts(detector),
        "quick": options.quick,
        "sections": {},
    }
    runners = {
        "cv": lambda: cross_validation(options, detector, workdir, log),
        "held_out": lambda: held_out(options, detector),
        "cold": lambda: cold(options, detector),
        "benign": lambda: benign(options, detector),
        "corpus": lambda: corpus(options, detector),
        "imitations": lambda: imitations_section(options, detector),
        "multi": lambda: multi_section(options, detector, "multi"),
        "multi_tuning": lambda: multi_section(options, detector, "multi_tuning"),
    }
    for section in options.sections:
        missing = _inputs_missing(section, options)
        if missing:
            print(f"eval: {section}: skipped, {missing}", file=log, flush=True)
            doc["sections"][section] = {"skipped": missing}
            continue
        print(f"eval: {section}", file=log, flush=True)
        began = time.perf_counter()
        doc["sections"][section] = {**runners[section](), "seconds": round(time.perf_counter() - began, 1)}
    doc["seconds"] = round(time.perf_counter() - started, 1)
    return doc
