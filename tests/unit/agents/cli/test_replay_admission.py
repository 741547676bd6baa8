"""`qunguard replay` admits events as the live worker does (streams.core.admission): a line with a
timestamp out of bounds, or over the size limits, is reported by FILE:LINE and skipped, and
neither moves a key's event time nor crashes a detector."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from agents.cli.parser import main
from agents.cli.replay import write_replay
from config import SAMPLE_DIR
from streams.core.admission import SAFE_EARLIEST, SAFE_LATEST
from streams.core.policy import load_policy
from tests.support import recent_working_morning
from topics.reference import read_ledger, read_roster
from topics.timeutil import parse_ts

REFERENCE = ["--roster", str(SAMPLE_DIR / "roster.csv"), "--ledger", str(SAMPLE_DIR / "ledger.csv")]

START = recent_working_morning()  # within the event-time bounds, inside working hours
FUTURE = "2126-01-01T00:00:00+08:00"


def message(n: int, ts: str, text: str = "", **fields: Any) -> dict[str, Any]:
    return {"kind": "message", "event_id": f"m-{n}", "ts": ts, "group_id": "g-sales",
            "sender_id": "wx_wanglei", "text": text or f"第{n}条进度同步", **fields}  # fmt: skip


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat()


def run(tmp_path: Path, capsys, lines: list[dict[str, Any] | bytes]) -> tuple[list[dict], str]:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join((x if isinstance(x, bytes) else orjson.dumps(x)) + b"\n" for x in lines))
    assert main(["replay", str(events), *REFERENCE]) == 0
    out, err = capsys.readouterr()
    return [orjson.loads(line) for line in out.splitlines()], err.replace(str(events), "FILE")


def test_a_far_future_line_is_reported_and_the_senders_next_burst_still_fires(tmp_path: Path, capsys) -> None:
    burst = [message(n, at(2 * n)) for n in range(1, 13)]  # 12 messages in 22 s
    found, err = run(tmp_path, capsys, [message(0, FUTURE), *burst])
    assert re.search(rf"^FILE:1: field 'ts': {re.escape(FUTURE)} is \d+ days in the future \(limit 1 day\); "
                     r"line skipped$", err, re.M), err  # fmt: skip
    assert "12 events, 1 rejected lines" in err
    rate = [v for v in found if v["rule"] == "flood.rate"]
    assert [v["source_event_ids"] for v in rate] == [[f"m-{n}" for n in range(1, 11)]]
    assert all("m-0" not in v["source_event_ids"] for v in found)


def test_a_far_future_line_does_not_freeze_the_employees_ladder(tmp_path: Path, capsys) -> None:
    gambling = "今晚一起买六合彩赌球"
    later = [message(n, at(600 * n), gambling) for n in range(1, 4)]
    found, _ = run(tmp_path, capsys, [message(0, FUTURE, gambling), *later])
    warnings = [v["source_event_ids"] for v in found if v["rule"] == "discipline.warning"]
    assert warnings == [["m-1"], ["m-2"], ["m-3"]]
    assert [v["employee_id"] for v in found if v["rule"] == "discipline.demerit"] == ["E0006"]


def test_year_1_and_9999_are_reported_and_nothing_crashes(tmp_path: Path, capsys) -> None:
    lines = [message(1, "0001-01-01T00:00:00+08:00"), message(2, "9999-12-31T23:59:59-05:00"),
             message(3, at(0), "今晚一起买六合彩赌球")]  # fmt: skip
    found, err = run(tmp_path, capsys, lines)
    supported = r"is outside the supported range \(1900-01-01 to 8999-12-31 UTC\); line skipped"
    assert re.search(rf"^FILE:1: field 'ts': 0001-01-01T00:00:00\+08:00 {supported}$", err, re.M), err
    assert re.search(rf"^FILE:2: field 'ts': 9999-12-31T23:59:59-05:00 {supported}$", err, re.M), err
    assert "1 events, 2 rejected lines" in err
    assert [v["rule"] for v in found if v["rule"].startswith("content.")] == ["content.gambling"]


def test_oversized_lines_and_crowded_mentions_are_reported(tmp_path: Path, capsys) -> None:
    mentions = [f"wx_{n:05d}" for n in range(40_000)]  # the 780 KB mentions array
    padded = orjson.dumps(message(2, at(1), padding="x" * 3_000_000))  # a 3 MB record
    found, err = run(tmp_path, capsys, [message(1, at(0), mentions=mentions), padded, message(3, at(2))])
    assert found == []  # the one admitted line breaks no rule
    assert "FILE:1: field 'mentions': 40000 mentions (limit 500); line skipped" in err
    size = len(padded) + len(b"g-sales")  # the line and the key feed gives it
    assert f"FILE:2: record is {size} bytes (limit 524288); line skipped" in err
    assert "1 events, 2 rejected lines" in err


def test_an_admitted_event_at_either_edge_of_the_safe_range_overflows_no_detector(tmp_path: Path) -> None:
    """The policy's window is opened wide, so only the safe range bounds `ts`: the sample shifted
    to its earliest and to its latest admitted instant runs every detector and the end sweep."""
    policy = load_policy()
    wide = {**policy.sections, "event_time": {"max_ahead_seconds": 1e15, "max_behind_days": 1e9}}
    policy = replace(policy, sections=wide)
    docs = [orjson.loads(x) for x in (SAMPLE_DIR / "events.jsonl").read_bytes().splitlines() if x.strip()]
    times = [parse_ts(doc["ts"]) for doc in docs]
    roster, ledger = read_roster(SAMPLE_DIR / "roster.csv"), read_ledger(SAMPLE_DIR / "ledger.csv")
    events = tmp_path / "shifted.jsonl"
    for shift in (SAFE_EARLIEST - min(times), SAFE_LATEST - max(times)):
        shifted = [{**doc, "ts": (ts + shift).isoformat()} for doc, ts in zip(docs, times, strict=True)]
        events.write_bytes(b"".join(orjson.dumps(doc) + b"\n" for doc in shifted))
        errors = io.StringIO()
        stats = write_replay(events, policy, roster, ledger, io.BytesIO(), errors)
        assert stats.rejected == 0 and stats.events == len(docs), errors.getvalue()
        assert stats.violations > 0
