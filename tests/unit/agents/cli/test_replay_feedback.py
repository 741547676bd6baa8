"""Reviewers' feedback lines in `qunguard replay` and `qunguard discipline --events`: applied in file
order by the worker's steps (streams.feedback.apply), offline."""

from __future__ import annotations

from pathlib import Path

import orjson

from agents.cli.parser import main
from config import SAMPLE_DIR
from topics.violation import violation_id

REFERENCE = ["--roster", str(SAMPLE_DIR / "roster.csv"), "--ledger", str(SAMPLE_DIR / "ledger.csv")]
TEXT = "兄弟们今晚一起买六合彩吗,赌球也行"


def message(event_id: str, group: str, minute: int) -> dict:
    return {"kind": "message", "event_id": event_id, "ts": f"2026-11-23T10:{minute:02d}:00+08:00",
            "group_id": group, "sender_id": "wx_wanglei", "text": TEXT}  # fmt: skip


def verdict(feedback_id: str, reviewer: str, minute: int) -> dict:
    judged = violation_id("content.gambling", "wx_wanglei", "g-sales", ["m-1"])
    return {"kind": "verdict", "feedback_id": feedback_id, "ts": f"2026-11-23T10:{minute:02d}:00+08:00",
            "violation_id": judged, "group_id": "g-sales", "verdict": "false_positive",
            "reviewer_id": reviewer, "note": ""}  # fmt: skip


def test_a_false_positive_in_a_replay_file(tmp_path: Path, capsys) -> None:
    events = tmp_path / "events.jsonl"
    lines = [message("m-1", "g-sales", 0), verdict("f-0", "E0010", 1), verdict("f-1", "E0004", 2),
             verdict("f-1", "E0004", 3), message("m-2", "g-sales", 4), message("m-3", "g-rd", 5)]  # fmt: skip
    events.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b'\n{"kind": "verdict"}\n')
    out = tmp_path / "out.jsonl"
    assert main(["replay", str(events), *REFERENCE, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "events.jsonl:7: field 'verdict'" in err and "3 feedback records (1 applied)" in err, err
    found = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [(v["rule"], v["source_event_ids"]) for v in found] == [
        ("content.gambling", ["m-1"]),
        ("discipline.warning", ["m-1"]),
        ("discipline.retracted", ["m-1"]),  # the owner's verdict; the same one again adds nothing
        ("content.gambling", ["m-3"]),  # m-2 is allowed in g-sales now, m-3 is in g-rd
        ("discipline.warning", ["m-3"]),
    ]
    assert found[2]["detected_at"] == "2026-11-23T10:02:00+08:00"  # replay: the verdict's time
    assert main(["discipline", "show", "E0006", "--events", str(events), *REFERENCE, "--json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert [(w["step"], w["reviewer_id"]) for w in doc["withdrawn"]] == [("discipline.warning", "E0004")]
    assert doc["warnings"] == 1
