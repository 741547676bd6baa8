"""The escalation ladder over the labelled corpus through `qunguard replay` (SPEC §4, §6)."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import orjson

from agents.cli.parser import main
from tests.conftest import CORPUS

REFERENCE = ["--roster", str(CORPUS / "roster.csv"), "--ledger", str(CORPUS / "ledger.csv")]
SCORE = CORPUS.parent / "tools" / "score.py"


def replay(events: str, out: Path) -> list[dict]:
    assert main(["replay", str(CORPUS / events), *REFERENCE, "--out", str(out)]) == 0
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


def score(out: Path, expected: str, *args: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, str(SCORE), "--expected", str(CORPUS / expected), "--actual", str(out),
         *args, "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {rule: row["f1"] for rule, row in json.loads(result.stdout)["rules"].items()}


def test_scenarios_ladder_rules_score_perfectly(tmp_path: Path) -> None:
    out = tmp_path / "scenarios.out.jsonl"
    found = replay("scenarios.jsonl", out)
    per_rule = score(out, "scenarios.expected.jsonl", "--only", "discipline.", "content.ad")
    assert per_rule == {"content.ad": 1.0, "discipline.demerit": 1.0, "discipline.warning": 1.0}
    # S46: the redelivered m-s0132 is counted once, so the demerit comes with the third violation
    demerit = [v for v in found if v["rule"] == "discipline.demerit"]
    assert [v["source_event_ids"] for v in demerit] == [["m-s0167"]]
    assert demerit[0]["employee_id"] == "E1013" and demerit[0]["evidence"]["warnings"] == 3
    # S35: the second ad carries remove_member, the first does not
    ads = [v for v in found if v["rule"] == "content.ad"]
    assert ["remove_member" in v["actions"] for v in ads] == [False, True]
    # and everything else still scores perfectly
    assert set(score(out, "scenarios.expected.jsonl").values()) == {1.0}


# The messages of the development corpus the engine gets wrong: a reminder about secrecy that the
# model reads as a leak (also before the twenty-third session). A registration code sent for an
# invoice, read as a leak from the thirtieth session on, was not from the thirty-second (the model
# trained with two authors of links) and is again from the thirty-seventh (2^19 hashed rows: the
# training suggests confidential's threshold 0.77, and the model reads the code's letters at
# 0.849). A remark about a competitor's
# strategy, read as a leak from the thirtieth session on, is not since the stack reads heads less
# the ordinary-chat head (thirty-first session); and the threat that also calls its addressee
# 废物 loses its insult again: the stack scores the insult 0.012 beside the threat, under the words'
# veto's 0.02 (as from the twenty-second to the twenty-fourth session: docs/eval.md). No term,
# threshold or example was chosen for any of them. Any other change shows here.
KNOWN_FALSE_ALARMS = {("content.confidential", "m-c0207"), ("content.confidential", "m-c0061")}
KNOWN_MISSES = {("content.insult", "m-c0194")}


def test_content_corpus_still_scores_and_counts_discipline(tmp_path: Path) -> None:
    out = tmp_path / "content.out.jsonl"
    found = replay("content.jsonl", out)
    per_rule = score(out, "content.expected.jsonl", "--ignore", "discipline.")
    assert {rule for rule, f1 in per_rule.items() if f1 < 1.0} == {
        rule for rule, _ in KNOWN_FALSE_ALARMS | KNOWN_MISSES
    }
    expected = {
        (e["rule"], e["event_id"])
        for e in map(json.loads, (CORPUS / "content.expected.jsonl").read_text(encoding="utf-8").splitlines())
    }
    fired = {(v["rule"], v["source_event_ids"][0]) for v in found if v["rule"].startswith("content.")}
    assert fired - expected == KNOWN_FALSE_ALARMS and expected - fired == KNOWN_MISSES
    counts = collections.Counter(v["rule"] for v in found if v["rule"].startswith("discipline."))
    # the corpus README's reference figures (converted demerits count; no reset after a review: 87, 81,
    # 51), plus the demerit and the review each false alarm (a critical rule's) brings, less the
    # missed insult's (a demerit rule's)
    assert counts == {"discipline.warning": 87, "discipline.demerit": 82, "discipline.dismissal_review": 52}
    assert len({v["violation_id"] for v in found}) == len(found)
