"""streams.content.datasets: the readers of the labelled files and the shared datasets, and the
deterministic splits (cross-validation folds, the benign dialogues' train/eval halves)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from streams.content.datasets import (
    DatasetError,
    Dialogue,
    benign_half,
    benign_turns,
    fold_of,
    read_cold,
    read_dialogues,
    read_labelled,
    stable_hash,
)


def test_stable_hash_is_the_same_in_every_process() -> None:
    # pinned: a split must not move between runs, processes (PYTHONHASHSEED) or machines
    assert stable_hash("赌博") == 12090588131801784916
    assert stable_hash("赌博", "x") != stable_hash("赌博")


def test_folds_are_deterministic_in_range_and_balanced() -> None:
    texts = [f"消息{i}号" for i in range(5000)]
    folds = [fold_of(t, 5) for t in texts]
    assert folds == [fold_of(t, 5) for t in texts]
    sizes = Counter(folds)
    assert set(sizes) == set(range(5))
    assert all(900 <= n <= 1100 for n in sizes.values()), sizes


def test_benign_halves_keep_whole_dialogues_and_split_about_evenly() -> None:
    dialogues = [Dialogue("LCCC", (f"第{i}句", f"回{i}句", "好的")) for i in range(2000)]
    halves = Counter(benign_half(d) for d in dialogues)
    assert set(halves) == {"train", "eval"}
    assert 900 <= halves["eval"] <= 1100
    train, evaluation = benign_turns(dialogues, "train"), benign_turns(dialogues, "eval")
    assert len(train) + len(evaluation) == 3 * len(dialogues)
    first_turns = {t for _s, t in evaluation if t.startswith("第")}
    assert not first_turns & {t for _s, t in train if t.startswith("第")}  # no dialogue on both sides
    assert benign_half(Dialogue("other source", dialogues[0].turns)) == benign_half(dialogues[0])


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_read_labelled(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "author_x.jsonl",
        [
            {"text": "来赌一把", "rule": "content.gambling", "kind": "positive", "note": ""},
            {"text": "严禁赌博", "rule": "content.gambling", "kind": "hard_negative", "note": ""},
            {"text": "午饭吃什么", "rule": None, "kind": "benign", "note": ""},
        ],
    )
    positive, hard, benign = read_labelled(path)
    assert positive.expected == frozenset({"content.gambling"})
    assert hard.expected == frozenset() and benign.expected == frozenset()
    assert positive.source == f"{path}:1"


@pytest.mark.parametrize(
    "row",
    [
        {"text": "x", "rule": None, "kind": "positive"},
        {"text": "x", "rule": "content.ad", "kind": "benign"},
        {"text": "", "rule": None, "kind": "benign"},
        {"text": "x", "rule": None, "kind": "maybe"},
        {"rule": None, "kind": "benign"},
    ],
)
def test_read_labelled_names_the_bad_line(tmp_path: Path, row: dict) -> None:
    path = _write(tmp_path / "bad.jsonl", [{"text": "好", "rule": None, "kind": "benign"}, row])
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2"):
        read_labelled(path)


def test_read_cold(tmp_path: Path) -> None:
    path = tmp_path / "dev.csv"
    path.write_text('id,topic,label,text\n1,region,1,"地域, 攻击"\n2,gender,0,平等\n', encoding="utf-8")
    first, second = read_cold(path)
    assert (first.text, first.offensive, first.topic) == ("地域, 攻击", True, "region")
    assert not second.offensive
    path.write_text("id,topic,label,text\n1,race,2,x\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"dev\.csv:2"):
        read_cold(path)


def test_read_dialogues(tmp_path: Path) -> None:
    _write(tmp_path / "b.jsonl", [{"source": "B", "turns": ["一", " ", "二"]}])
    _write(tmp_path / "a.jsonl", [{"turns": ["三"]}])
    dialogues = read_dialogues(tmp_path)
    assert [(d.source, d.turns) for d in dialogues] == [("a", ("三",)), ("B", ("一", "二"))]
    (tmp_path / "c.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"c\.jsonl:1"):
        read_dialogues(tmp_path)
