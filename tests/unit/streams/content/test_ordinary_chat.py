"""The ordinary-chat head (streams.content.heads.ORDINARY_CHAT): the datasets' dialogue turns
learned as a head of their own instead of none. It is a column the second stage reads; it is not
calibrated, fires nothing and vetoes nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from streams.content.classifier import TextClassifier
from streams.content.examples import gather
from streams.content.heads import LENGTH, NONE, ORDINARY_CHAT, VERSUS_CHAT, StackInputs, length_input
from streams.content.reading import model_input
from streams.content.training import train
from streams.core.policy_schema import PUBLIC_INSULT_HEAD
from tests.unit.streams.content.test_classifier import CHAT, TINY, tiny_set

OFFENSIVE = ("你们那边的人都是骗子", "这群人就是垃圾", "滚回你们老家去")
SAFE = ("各地的人都一样", "地域不能代表个人", "别一竿子打翻一船人")


def datasets(root: Path) -> Path:
    """COLD's and the dialogues' files in their formats, with made-up text."""
    cold = root / "cold" / "train.csv"
    cold.parent.mkdir(parents=True)
    rows = [
        f"{i},region,{label},{text}{i}"
        for i in range(6)
        for label, texts in ((1, OFFENSIVE), (0, SAFE))
        for text in texts
    ]
    cold.write_text("id,topic,label,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    benign = root / "benign" / "chat.jsonl"
    benign.parent.mkdir()
    dialogues = [{"source": "chat", "turns": [f"{CHAT[i % len(CHAT)]}{i}", f"好的{i}"]} for i in range(40)]
    benign.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dialogues), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return datasets(tmp_path_factory.mktemp("datasets"))


@pytest.fixture(scope="module")
def model(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("chat")
    train(tiny_set(), data, out, replace(TINY, versus_chat=("content.defamation",)))
    return out / "content.bin"


def test_dialogue_turns_are_labelled_ordinary_chat_only_when_asked(data: Path) -> None:
    plain = gather(tiny_set(), data, 1, 1)
    chat = gather(tiny_set(), data, 1, 1, chat_label=ORDINARY_CHAT)
    assert {e.label for e in plain if e.source == "benign"} == {NONE}
    assert {e.label for e in chat if e.source == "benign"} == {ORDINARY_CHAT}
    # Only the dialogue turns: COLD's safe comments and the authors' ordinary lines stay none.
    assert {e.label for e in chat if e.source == "cold"} == {NONE, PUBLIC_INSULT_HEAD}
    assert [e.label for e in chat if e.source != "benign"] == [e.label for e in plain if e.source != "benign"]


def test_the_chat_head_is_a_column_the_stack_reads_that_fires_nothing(model: Path) -> None:
    classifier = TextClassifier.load(model)
    meta = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert ORDINARY_CHAT in meta["linear"]["heads"] and ORDINARY_CHAT in classifier.stack.inputs
    assert ORDINARY_CHAT not in meta["calibration"] and ORDINARY_CHAT not in meta["rules"]
    assert meta["cross_validation"]["ordinary_chat_head"] is True
    assert meta["cross_validation"]["about_heads"] == [] and classifier.about == ()
    turn = f"{CHAT[1]}3"
    assert set(classifier.scores(turn)) == set(meta["rules"])
    assert classifier.outranked(turn) == {}


def test_without_it_dialogue_turns_are_none_and_the_rules_heads_the_same_fits(
    data: Path, model: Path, tmp_path: Path
) -> None:
    """One-vs-rest: the turns are the rules' heads' negatives either way; the head adds a column."""
    plain = train(tiny_set(), data, tmp_path, replace(TINY, chat_head=False)).meta
    chat = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert ORDINARY_CHAT not in plain["linear"]["heads"]
    assert plain["cross_validation"]["ordinary_chat_head"] is False
    intercepts = dict(zip(chat["linear"]["heads"], chat["linear"]["intercepts"], strict=True))
    assert intercepts.pop(ORDINARY_CHAT) != 0.0
    assert intercepts == dict(zip(plain["linear"]["heads"], plain["linear"]["intercepts"], strict=True))


def test_the_stack_reads_a_heads_decision_value_less_the_chat_heads(model: Path) -> None:
    classifier = TextClassifier.load(model)
    assert classifier.stack.inputs[-2:] == (LENGTH, "content.defamation" + VERSUS_CHAT)
    order = classifier.meta["linear"]["heads"]
    line = model_input(f"{CHAT[1]}3")
    found = classifier._margins(line)
    versus = found[order.index("content.defamation")] - found[order.index(ORDINARY_CHAT)]
    inputs = StackInputs.of(order, classifier.stack.inputs)(found, line)
    assert list(inputs) == [*found, length_input(line), versus]


def test_stack_inputs_are_checked_against_the_models_heads() -> None:
    heads = (ORDINARY_CHAT, "content.insult")
    assert StackInputs.of(heads, (*heads, LENGTH)).names == (*heads, LENGTH)
    for names in (
        (*heads, LENGTH, "content.porn" + VERSUS_CHAT),  # a head the model does not have
        (*heads, LENGTH, "content.insult"),  # not a difference
        heads,  # no length
    ):
        with pytest.raises(ValueError, match="other columns"):
            StackInputs.of(heads, names)
    with pytest.raises(ValueError, match="ordinary-chat"):
        StackInputs(("content.insult",), ("content.insult",))
