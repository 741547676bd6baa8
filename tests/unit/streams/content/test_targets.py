"""Target words: the shipped list, its normalisation and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import CONFIG_DIR
from streams.content.dictionary import DictionaryError, load_lexicon
from streams.content.normalize import Normalizer
from streams.content.targets import TargetWords

SHIPPED = CONFIG_DIR / "dictionaries" / "targets.txt"


@pytest.fixture(scope="module")
def targets() -> TargetWords:
    return TargetWords.load(SHIPPED, Normalizer())


def test_a_message_naming_a_group_of_people(targets: TargetWords) -> None:
    assert targets.named("河南人都不靠谱") == "河南"
    assert targets.named("这帮外地人") == "外地人"  # the longest word at the leftmost place
    assert targets.named("這些農村人") == "农村人"  # normalised as the dictionaries are: traditional forms
    assert targets.named("女 司 机") == "女司机"  # spaces are noise
    assert targets.named("明天下午三点开项目周会") is None


def test_the_list_is_no_rule_file() -> None:
    lexicon = load_lexicon(CONFIG_DIR / "dictionaries", ["content.insult", "content.gambling", "content.porn",
        "content.political", "content.violence", "content.ad", "content.rumor", "content.defamation",
        "content.inflammatory", "content.confidential", "content.malicious_link"], Normalizer())  # fmt: skip
    assert "河南人" not in {term.text for term in lexicon.terms}


def test_a_missing_or_bad_list_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match=r"targets\.txt"):
        TargetWords.load(tmp_path / "targets.txt", Normalizer())
    bad = tmp_path / "bad.txt"
    bad.write_text("女人\n@group x\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"bad\.txt:2"):
        TargetWords.load(bad, Normalizer())


def test_the_policy_names_the_gated_heads_for_training() -> None:
    from dataclasses import replace

    from streams.content.detector import model_gates
    from streams.core.policy import load_policy

    policy = load_policy()
    gates = model_gates(policy)
    assert set(gates) == {"content.insult#public"}
    assert gates["content.insult#public"]("外地人都这样") and not gates["content.insult#public"]("明天开会")
    content = dict(policy.section("content"))
    content["model"] = {**content["model"], "needs_target": []}
    assert model_gates(replace(policy, sections={**policy.sections, "content": content})) == {}
