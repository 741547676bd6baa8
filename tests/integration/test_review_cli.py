"""`qunguard allow`, `qunguard review` (the commands that need no broker) and `qunguard scan --reviewed`
against a real redis-server holding what a worker left: kept violations, a judgement, an allow entry,
labelled examples."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
import pytest

from agents.cli.parser import main
from agents.connect.settings import Settings
from agents.intake.loaders import load_ledger
from agents.stores.feedback import redis_feedback_stores
from config import SAMPLE_DIR
from streams.content.datasets import read_labelled
from streams.feedback.apply import decide, keep
from streams.feedback.judges import Judges
from streams.feedback.stores import FeedbackLimits, FeedbackStores
from tests.support import SAMPLE_LEDGER, sample_violation, shipped_policy
from topics.feedback import CONFIRMED, FALSE_POSITIVE, Verdict

TS = datetime.fromisoformat("2026-11-23T11:00:00+08:00")


@pytest.fixture
def stores(redis_url: str, monkeypatch) -> FeedbackStores:
    monkeypatch.setenv("REDIS_URL", redis_url)
    load_ledger(SAMPLE_DIR / "ledger.csv", Settings(redis_url=redis_url))  # who owns a group
    stores = redis_feedback_stores(Settings(redis_url=redis_url), FeedbackLimits())
    gambling = sample_violation()
    ad = sample_violation("content.ad", violation_id="v-2", group_id="g-rd",
                          evidence={"terms": ["兼职刷单"], "excerpt": "兼职刷单日结"})  # fmt: skip
    for violation in (gambling, ad):
        stores.violations.keep(violation)
    for verdict in (Verdict("f-1", TS, "v-1", "g-sales", FALSE_POSITIVE, "E0004", "彩票新闻"),
                    Verdict("f-2", TS, "v-2", "g-rd", CONFIRMED, "E0008")):  # fmt: skip
        keep(decide(verdict, stores, SAMPLE_LEDGER, shipped_policy(), Judges()), stores)
    return stores


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_allow_list_and_remove(stores: FeedbackStores, capsys) -> None:
    code, out, _ = run(capsys, "allow", "list")
    assert (
        code == 0
        and "g-sales" in out
        and "terms: 六合彩" in out
        and "E0004" in out
        and "1 allow entries" in out
    )
    [entry] = orjson.loads(run(capsys, "allow", "list", "--group", "g-sales", "--json")[1])
    assert orjson.loads(run(capsys, "allow", "list", "--group", "g-rd", "--json")[1]) == []
    code, out, err = run(capsys, "scan", "六合彩中了吗", "--reviewed", "--group", "g-sales")
    assert code == 0 and f"allowed in g-sales by reviewers' entry {entry['entry_id']}" in out, out + err
    assert run(capsys, "scan", "六合彩中了吗", "--reviewed", "--group", "g-rd")[0] == 1  # fires elsewhere
    assert run(capsys, "scan", "六合彩中了吗", "--group", "g-sales")[0] == 1  # without --reviewed
    assert run(capsys, "allow", "remove", entry["entry_id"])[0] == 0
    code, _, err = run(capsys, "allow", "remove", entry["entry_id"])
    assert code == 1 and "no allow entry" in err
    assert run(capsys, "scan", "六合彩中了吗", "--reviewed", "--group", "g-sales")[0] == 1


def test_review_list_stats_and_export(stores: FeedbackStores, capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "review", "list")
    assert code == 0 and "false_positive by E0004" in out and "confirmed by E0008" in out
    found = orjson.loads(run(capsys, "review", "list", "--group", "g-rd", "--json")[1])
    assert [(v["violation_id"], v["judgement"]["verdict"]) for v in found] == [("v-2", CONFIRMED)]
    stores.violations.keep(sample_violation(violation_id="v-3"))
    found = orjson.loads(run(capsys, "review", "list", "--pending", "--json")[1])
    assert [v["violation_id"] for v in found] == ["v-3"]

    stats = orjson.loads(run(capsys, "review", "stats", "--json")[1])
    assert stats["content.gambling"] == {"false_positive": 1, "precision": 0.0}
    assert stats["content.ad"] == {"confirmed": 1, "precision": 1.0}
    assert stats["all"]["precision"] == 0.5
    assert "content.ad" in run(capsys, "review", "stats")[1]

    path = tmp_path / "feedback.jsonl"
    code, out, _ = run(capsys, "review", "export", str(path))
    assert code == 0 and "2 labelled examples" in out
    examples = read_labelled(path)  # the format `qunguard model train` reads
    assert sorted((e.rule, e.kind) for e in examples) == [
        ("content.ad", "positive"), ("content.gambling", "hard_negative")]  # fmt: skip


def test_a_verdict_names_a_kept_violation_and_a_reviewer_who_may_judge(
    stores: FeedbackStores, capsys
) -> None:
    code, _, err = run(capsys, "review", "confirm", "v-nope", "--reviewer", "E0004")
    assert code == 1 and "no violation v-nope is kept" in err
    code, _, err = run(capsys, "review", "false-positive", "v-1", "--reviewer", "E0010")
    assert code == 1 and "refused: E0010 is not the owner or an admin of g-sales" in err
    code, _, err = run(capsys, "review", "missed", "m-9", "--group", "g-sales", "--rule", "content.nope",
                       "--reviewer", "E0004")  # fmt: skip
    assert code == 2 and "no rule content.nope" in err
