"""About heads (streams.content.heads.about_head): a rule's hard negatives learned as a head of
their own that vetoes the rule's head where it scores higher, in training's thresholds, in the
classifier's scores and in the detector, with `qunguard scan` saying so."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from streams.content.calibration import Calibration
from streams.content.classifier import TextClassifier
from streams.content.datasets import Labelled
from streams.content.detector import ContentDetector
from streams.content.evidence import term_evidence
from streams.content.examples import Example, gather
from streams.content.heads import about_head
from streams.content.training import Held, _gated, train
from streams.core.policy import load_policy
from tests.unit.streams.content.test_classifier import NAMES, THINGS, TINY, findings, tiny_set, with_model

RULE = "content.defamation"
ABOUT_TINY = replace(TINY, about_rules=(RULE,))
# Notices about the made-up slur 鼋鼍 (tiny_set: it marks defamation), never using it on anyone.
NOTICES = ("培训通知：什么是鼋鼍", "课件第三页讲鼋鼍的识别", "考试题：举例说明鼋鼍")


def notices() -> list[Labelled]:
    out = []
    for author in ("a", "b"):
        for i, notice in enumerate(NOTICES * 4):
            source = f"labelled/author_{author}.jsonl:{100 + i}"
            out.append(Labelled(f"{notice}{THINGS[i % len(THINGS)]}", RULE, "hard_negative", source))
    return out


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("about")
    train(tiny_set() + notices(), None, out, ABOUT_TINY)
    return out / "content.bin"


def test_a_rules_hard_negatives_are_labelled_about_it_only_when_asked() -> None:
    examples = [
        *notices(),
        Labelled("周五交周报", "content.ad", "hard_negative", "labelled/author_a.jsonl:1"),
    ]
    assert {e.label for e in gather(examples, None, 1, 1)} == {"none"}
    labels = [e.label for e in gather(examples, None, 1, 1, about_rules=(RULE,))]
    assert labels == [about_head(RULE)] * len(notices()) + ["none"]


def test_the_about_head_is_a_column_not_a_scored_head(model: Path) -> None:
    classifier = TextClassifier.load(model)
    meta = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert classifier.about == (RULE,)
    assert about_head(RULE) in meta["linear"]["heads"] and about_head(RULE) not in meta["calibration"]
    assert meta["cross_validation"]["about_heads"] == [RULE]
    assert meta["rules"] == [RULE]
    assert set(classifier.scores("周五交周报")) == {RULE}


def test_a_notice_about_the_rule_scores_zero_and_a_violation_does_not(model: Path) -> None:
    classifier = TextClassifier.load(model)
    notice = "培训通知：什么是鼋鼍，课件第三页"
    assert classifier.scores(notice)[RULE] == 0.0
    assert RULE in classifier.outranked(notice)
    violation = f"{NAMES[0]}的{THINGS[0]}全是鼋鼍鼋鼍"
    assert classifier.scores(violation)[RULE] > 0.5 and classifier.outranked(violation) == {}
    cutoffs = classifier.cutoffs({RULE: 0.01})
    assert classifier.confident(notice, cutoffs) == {}
    assert RULE in classifier.confident(violation, cutoffs)


def test_the_detector_lets_the_about_head_veto(model: Path) -> None:
    """The rule's head alone scores the notice high and its about head higher: vetoed. The stack
    (streams.content.stack), which reads both, has learned that too and scores it low."""
    detector = ContentDetector(with_model(model, thresholds={RULE: 0.1}))
    notice = "课件第三页讲鼋鼍鼋鼍"
    assert detector.judge is not None
    classifier = detector.judge.classifier
    assert RULE in classifier.outranked(notice) and classifier.scores(notice)[RULE] == 0.0
    assert findings(detector, notice) == []
    assert [f.rule for f in findings(detector, f"{NAMES[1]}的{THINGS[1]}全是鼋鼍鼋鼍")] == [RULE]


def test_the_rules_own_head_is_the_same_fit_with_or_without_its_about_head(
    model: Path, tmp_path: Path
) -> None:
    """One-vs-rest: the notices are negatives of the rule's head either way, so the about head only
    adds a veto."""
    plain = train(tiny_set() + notices(), None, tmp_path, TINY).meta
    about = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert plain["cross_validation"]["about_heads"] == []
    assert plain["linear"]["heads"] == [RULE]
    assert about["linear"]["heads"] == [about_head(RULE), RULE]
    assert plain["linear"]["intercepts"][0] == about["linear"]["intercepts"][1]


def test_thresholds_are_chosen_with_the_veto_applied() -> None:
    """An example its about head outranks counts as scoring 0 for the rule's head, as it does in
    the detector: by the decision values, whatever raw score (the stack's) the head has."""
    identity = Calibration((0.0, 1.0), (0.0, 1.0))
    score = _gated(identity, 1, None, about=0)
    example = Example("x", RULE, "author_a")
    assert score(example, Held((-1.0, 2.0), (0.2, 0.7))) == 0.7
    assert score(example, Held((2.0, 2.0), (0.9, 0.7))) == 0.0
    assert score(example, Held((-1.0, 2.0), (0.9, 0.7))) == 0.7
    assert _gated(identity, 1, None)(example, Held((2.0, 1.0), (0.9, 0.8))) == 0.8


def test_model_train_takes_the_about_rules_and_says_which_heads_have_one(tmp_path: Path) -> None:
    from agents.cli import model as cli
    from agents.cli.parser import build_parser

    args = build_parser().parse_args(["model", "train", "--about", RULE, "--about", "content.gambling"])
    assert args.about == [RULE, "content.gambling"]
    assert build_parser().parse_args(["model", "train"]).about is None  # TrainingParams' default
    with pytest.raises(SystemExit):
        build_parser().parse_args(["model", "train", "--about", "content.nope"])
    out = io.StringIO()
    assert cli.run_train(tiny_set() + notices(), None, tmp_path, 2, out, params=ABOUT_TINY) == 0
    assert "unless its about head scores higher" in out.getvalue()


def test_a_message_about_a_rule_counts_as_harmless_for_the_ambiguous_terms() -> None:
    def ex(text: str, label: str) -> Example:
        return Example(text, label, "author_a", text=text)

    examples = [ex(f"严打赌博 通知{i}", about_head("content.gambling")) for i in range(3)]
    examples.append(ex("一起去赌博", "content.gambling"))

    def words(text: str) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
        return [("content.gambling", (("赌博",),))] if "赌博" in text else []

    ambiguous, seen = term_evidence(examples, words)
    assert ambiguous == {"content.gambling": [["赌博"]]}
    assert seen == {"content.gambling": ["赌博"]}


def test_scan_says_when_the_shipped_gambling_about_head_vetoed_a_notices_words() -> None:
    detector = ContentDetector(load_policy())
    notice = "这周单位组织观看了一部关于网赌害人的纪录片，大家看完都挺有感触的"
    trace: list[str] = []
    assert detector.scan_text(notice, trace) == []
    assert any("网赌" in line and "about head outranks" in line for line in trace), trace
