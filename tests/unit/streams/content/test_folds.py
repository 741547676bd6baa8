"""streams.content.folds: which held-out model scores a training example (groups of authors, folds of
the datasets by whole dialogue)."""

from __future__ import annotations

import json
from pathlib import Path

from streams.content.datasets import TRAINING_AUTHORS, Dialogue, benign_half
from streams.content.examples import Example, gather
from streams.content.folds import author_groups, fold_of, parts


def test_the_turns_of_one_dialogue_share_a_calibration_fold(tmp_path: Path) -> None:

    (tmp_path / "cold").mkdir()
    (tmp_path / "cold" / "train.csv").write_text("id,topic,label,text\n", encoding="utf-8")
    (tmp_path / "benign").mkdir()
    dialogues = [[f"第{d}段对话的第{t}句话" for t in range(8)] for d in range(12)]
    lines = [json.dumps({"source": "t", "turns": turns}, ensure_ascii=False) for turns in dialogues]
    (tmp_path / "benign" / "t.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    examples = gather([], tmp_path, 1)
    trained = [turns for turns in dialogues if benign_half(Dialogue("t", tuple(turns))) == "train"]
    assert trained and len(examples) == sum(map(len, trained))
    folds: dict[str, set[int]] = {}
    for example in examples:
        folds.setdefault(example.unit, set()).add(fold_of(example, 5))
    assert len(folds) == len(trained)
    assert all(len(found) == 1 for found in folds.values())  # a whole dialogue in one fold


def test_author_groups_partition_the_authors() -> None:
    authors = [f"author_{a}" for a in TRAINING_AUTHORS]
    assert author_groups(authors, None) == [frozenset((a,)) for a in authors]
    assert author_groups(authors, len(authors) + 1) == [frozenset((a,)) for a in authors]
    groups = author_groups(authors, 7)
    assert len(groups) == 7 and sorted(a for g in groups for a in g) == sorted(authors)
    assert max(map(len, groups)) - min(map(len, groups)) <= 1
    assert groups == author_groups(list(reversed(authors)), 7)  # the order given does not matter


def test_each_held_out_model_leaves_out_a_group_of_authors_and_a_fold_of_the_datasets() -> None:

    authors = [f"author_{a}" for a in TRAINING_AUTHORS]
    groups = author_groups(authors, 7)
    examples = [Example(f"第{i}句", "none", authors[i % len(authors)]) for i in range(200)]
    examples += [Example(f"对话{i}", "none", "benign", unit=f"d{i // 4}") for i in range(200)]
    part = parts(groups, 5)
    for e in examples:
        k = part(e)
        assert 0 <= k < len(groups)
        if e.source in authors:
            assert e.source in groups[k]  # scored by the model that never saw its author
        else:
            assert k == fold_of(e, len(groups))  # and by dialogue: a whole dialogue in one part
    assert {part(e) for e in examples if e.source == "benign"} == set(range(len(groups)))
    assert [parts([], 5)(e) for e in examples] == [fold_of(e, 5) for e in examples]
