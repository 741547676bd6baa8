"""ops/screen_labelled.py: which new labelled examples are kept out of config/labelled."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import ops_tool

screen_tool = ops_tool("screen_labelled")

DATASET = ["今天天气真不错我们去公园散步吧", "这部电影的配乐非常好听"]


def example(text: str) -> dict:
    return {"text": text, "rule": None, "kind": "benign", "note": "test"}


def test_drops_what_is_close_to_a_dataset_text_and_keeps_the_rest() -> None:
    index = screen_tool.DatasetIndex(DATASET)
    lines = [
        example(
            "今天天气真不错!"
        ),  # a dataset text once punctuation is gone? no: a prefix, 7 characters shared
        example("这部电影的配乐"),  # 7 characters of a dataset text
        example("电影的配乐好听"),  # most trigrams in one dataset text
        example("明天上午九点开项目例会"),
        example("明天上午九点开项目例会。"),  # a repeat once normalised
        example("👍"),
        example("老外都这样"),  # COLD's subjects
    ]
    kept, dropped = screen_tool.screen(lines, index, set())
    assert [e["text"] for e in kept] == ["明天上午九点开项目例会"]
    assert dropped == {
        "7 characters of a dataset text": ["今天天气真不错!", "这部电影的配乐"],
        "half its trigrams in one dataset text": ["电影的配乐好听"],
        "a repeat": ["明天上午九点开项目例会。"],
        "too short": ["👍"],
        "COLD's subjects": ["老外都这样"],
    }


def test_a_multi_labelled_file_keeps_lines_naming_groups_and_is_read_by_its_schema(tmp_path: Path) -> None:
    """multi_*.jsonl (every rule a line breaks) is an evaluation set: COLD's subjects stay."""
    index = screen_tool.DatasetIndex(DATASET)
    line = {"text": "老外都这样，傻逼", "rules": ["content.insult", "content.political"], "note": "test"}
    kept, dropped = screen_tool.screen([line], index, set(), topics=False)
    assert kept == [line] and not dropped
    path = tmp_path / "multi_x.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    assert screen_tool.texts_of(path) == [line["text"]]


def test_a_line_whose_note_holds_twelve_characters_of_a_dataset_text_is_dropped() -> None:
    # The before-stop dataset guard reads the line as written, so the English note counts too.
    index = screen_tool.DatasetIndex(["xq zvkplmwr tyhj bn"])
    noted = {**example("明天上午九点开项目例会"), "note": "a xqzvkplmw rtyhj"}
    kept, dropped = screen_tool.screen([noted, example("下午三点交周报")], index, set())
    assert [e["text"] for e in kept] == ["下午三点交周报"]
    assert dropped == {"12 characters of a dataset text in the line as written": ["明天上午九点开项目例会"]}


def test_an_example_already_in_the_project_is_a_repeat() -> None:
    kept, dropped = screen_tool.screen(
        [example("收到，马上处理")], screen_tool.DatasetIndex([]), {"收到马上处理"}
    )
    assert kept == [] and list(dropped) == ["a repeat"]


def test_the_command_writes_the_kept_examples_as_written(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    (datasets / "cold").mkdir(parents=True)
    (datasets / "benign").mkdir()
    for name in ("train.csv", "dev.csv"):
        (datasets / "cold" / name).write_text(
            "id,topic,label,text\n1,race,0,这部电影的配乐非常好听\n", encoding="utf-8"
        )
    (datasets / "benign" / "d.jsonl").write_text(json.dumps({"turns": DATASET[:1]}) + "\n", encoding="utf-8")
    labelled = tmp_path / "labelled"
    labelled.mkdir()
    new = tmp_path / "author_zz.jsonl"
    new.write_text(
        "".join(json.dumps(example(t), ensure_ascii=False) + "\n" for t in ["下午三点开会", "这部电影的配乐"])
    )
    (labelled / new.name).write_text(new.read_text())  # committed already: screened again, not a repeat
    out = tmp_path / "out"
    code = screen_tool.main(
        [str(new), "--out", str(out), "--datasets", str(datasets), "--labelled", str(labelled)]
    )
    assert code == 0
    assert [json.loads(line) for line in (out / "author_zz.jsonl").read_text().splitlines()] == [
        example("下午三点开会")
    ]


def test_a_malformed_example_is_named_by_file_and_line(tmp_path: Path, capsys) -> None:
    new = tmp_path / "author_zz.jsonl"
    new.write_text(json.dumps(example("好的")) + "\n" + '{"text": "x"}\n', encoding="utf-8")
    assert screen_tool.main([str(new), "--out", str(tmp_path / "out"), "--datasets", str(tmp_path)]) == 2
    assert f"{new}:2" in capsys.readouterr().err
