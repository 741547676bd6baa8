"""`qunguard scan`: text, stdin and JSONL input, explanations, --json, bad lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agents.cli.parser import main
from agents.cli.scan import run_scan
from streams.content.detector import ContentDetector
from streams.core.policy import load_policy


@pytest.fixture(scope="module")
def detector() -> ContentDetector:
    return ContentDetector(load_policy())


def scan(detector: ContentDetector, text: str | None = None, file: str | None = None, stdin: str = "",
         as_json: bool = False) -> tuple[int, str, str]:  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    code = run_scan(detector, text, file, as_json, io.StringIO(stdin), out, err)
    return code, out.getvalue(), err.getvalue()


def test_text_shows_rule_term_why_and_steps(detector: ContentDetector) -> None:
    code, out, _ = scan(detector, "賭 博 走起")
    assert code == 1  # grep-like: something fired
    assert "content.gambling" in out and "赌博" in out
    assert "t2s" in out and "strip_noise" in out  # the steps that made it match


def test_pinyin_spelling_is_explained(detector: ContentDetector) -> None:
    _, out, _ = scan(detector, "堵博网站", as_json=True)
    (hit,) = json.loads(out)["hits"]
    assert hit["rule"] == "content.gambling"
    assert "堵博" in hit["why"][0]
    assert hit["normalisation"]["赌博"][0] == "pinyin"


def test_vetoes_are_listed(detector: ContentDetector) -> None:
    code, out, _ = scan(detector, "严禁发布赌博信息;前面路口交通管制;固体废物分类回收", as_json=True)
    assert code == 0  # nothing fired
    result = json.loads(out)
    assert result["hits"] == []
    assert any("prohibition frame" in d for d in result["decisions"])
    assert any("not aligned with the words" in d and "路口|交通" in d for d in result["decisions"])
    assert any("allow-list" in d for d in result["decisions"])


def test_stdin_one_message_per_line(detector: ContentDetector) -> None:
    _, out, _ = scan(detector, stdin="你就是个废物\n\n今天开会\n", as_json=True)
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["source"] for r in results] == ["stdin:1", "stdin:3"]
    assert results[0]["hits"][0]["rule"] == "content.insult" and results[1]["hits"] == []


def test_jsonl_bad_lines_report_file_line_and_field(detector: ContentDetector, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    good = {"kind": "message", "event_id": "m-9", "ts": "2026-03-10T10:00:00+08:00", "group_id": "g",
            "sender_id": "wx_a", "text": "身份证 110105199003072311 帮我订票"}  # fmt: skip
    events.write_text(
        "\n".join(
            [
                json.dumps({"kind": "message", "event_id": "m-1"}),
                "{not json",
                json.dumps(good, ensure_ascii=False),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    code, out, err = scan(detector, file=str(events), as_json=True)
    assert code == 1  # bad lines are reported and skipped; the good one fired
    assert f"{events}:1: field 'ts'" in err
    assert f"{events}:2: invalid JSON" in err
    (result,) = [json.loads(line) for line in out.splitlines()]
    assert result["source"] == f"{events}:3" and result["event_id"] == "m-9"
    assert result["hits"][0]["rule"] == "content.confidential"
    assert "110105199003072311" not in out  # masked


def test_cli_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--json", "加 V 信了解更多赚钱项目"]) == 1
    assert json.loads(capsys.readouterr().out)["hits"][0]["rule"] == "content.ad"
    assert main(["scan", "--file", "/nonexistent.jsonl"]) == 2


def test_exit_status_is_grep_like(detector: ContentDetector) -> None:
    """0: nothing fired on any message; 1: something fired on one of them; 2: an error."""
    assert scan(detector, stdin="今天开会\n周五聚餐\n")[0] == 0
    assert scan(detector, stdin="今天开会\n你就是个废物\n")[0] == 1
    assert scan(detector, stdin="")[0] == 0
    assert scan(detector, file="/nonexistent.jsonl")[0] == 2
