"""Behaviour rules over the labelled corpus through `qunguard replay` (SPEC §6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson

from agents.cli.parser import main
from tests.conftest import CORPUS

REFERENCE = ["--roster", str(CORPUS / "roster.csv"), "--ledger", str(CORPUS / "ledger.csv")]
SCORE = CORPUS.parent / "tools" / "score.py"
RULES = ["flood.", "chat.private_in_group", "media.large_file", "hours.", "ack."]


def replay(events: str, out: Path) -> list[dict]:
    assert main(["replay", str(CORPUS / events), *REFERENCE, "--out", str(out)]) == 0
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


def test_scenarios_behaviour_rules_score_perfectly(tmp_path: Path) -> None:
    out = tmp_path / "scenarios.out.jsonl"
    found = replay("scenarios.jsonl", out)
    result = subprocess.run(
        [sys.executable, str(SCORE), "--expected", str(CORPUS / "scenarios.expected.jsonl"),
         "--actual", str(out), "--only", *RULES, "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    scored = json.loads(result.stdout)
    per_rule = {rule: row["f1"] for rule, row in scored["rules"].items()}
    assert len(per_rule) == 9 and set(per_rule.values()) == {1.0}, per_rule
    # one violation per burst, carrying the whole burst
    rate = sorted(len(v["source_event_ids"]) for v in found if v["rule"] == "flood.rate")
    assert rate == [10, 10]


def test_content_corpus_raises_no_behaviour_rule(tmp_path: Path) -> None:
    found = replay("content.jsonl", tmp_path / "content.out.jsonl")
    assert [v for v in found if v["rule"].startswith(tuple(RULES))] == []
