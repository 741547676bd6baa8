"""`qunguard replay` (SPEC §6): same detectors, in-memory stores, deterministic output."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from agents.cli.parser import main
from config import SAMPLE_DIR

SAMPLE = [str(SAMPLE_DIR / "events.jsonl"), "--roster", str(SAMPLE_DIR / "roster.csv"),
          "--ledger", str(SAMPLE_DIR / "ledger.csv")]  # fmt: skip


def run(args: list[str], capsys) -> tuple[int, list[dict], str]:
    code = main(["replay", *args])
    out, err = capsys.readouterr()
    return code, [orjson.loads(line) for line in out.splitlines() if line.strip()], err


def test_sample_replay_is_deterministic(capsys) -> None:
    code, first, err = run(SAMPLE, capsys)
    assert code == 0 and first, err
    code, second, _ = run(SAMPLE, capsys)
    assert first == second
    assert all(v["detected_at"] == v["event_ts"] for v in first)
    assert len({v["violation_id"] for v in first}) == len(first)
    rules = {v["rule"] for v in first}
    assert {"content.gambling", "content.malicious_link", "content.confidential"} <= rules


def test_malformed_lines_are_reported_and_skipped(tmp_path: Path, capsys) -> None:
    events = tmp_path / "events.jsonl"
    good = (SAMPLE_DIR / "events.jsonl").read_text(encoding="utf-8").splitlines()
    events.write_text(
        "\n".join([good[10], "{not json", '{"kind": "message", "event_id": "x", "ts": "soon"}', good[11]])
        + "\n",
        encoding="utf-8",
    )
    code, found, err = run([str(events)], capsys)
    assert code == 0
    assert f"{events}:2: invalid JSON" in err
    assert f"{events}:3: field 'ts'" in err
    assert "2 rejected lines" in err
    assert found  # the good lines around the bad ones were still processed


def test_bad_roster_names_line_and_field(tmp_path: Path, capsys) -> None:
    roster = tmp_path / "roster.csv"
    lines = (SAMPLE_DIR / "roster.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("staff", "intern")
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run([str(SAMPLE_DIR / "events.jsonl"), "--roster", str(roster)], capsys)
    assert code == 2
    assert f"{roster}:4: field 'rank'" in err


@pytest.mark.parametrize("args", [["/no/such/file.jsonl"], [SAMPLE[0], "--policy", "/no/such/policy.toml"]])
def test_unusable_arguments_exit_2(args: list[str], capsys) -> None:
    code, _, err = run(args, capsys)
    assert code == 2 and err


def test_redelivered_event_is_processed_once(tmp_path: Path, capsys) -> None:
    events = tmp_path / "events.jsonl"
    lines = (SAMPLE_DIR / "events.jsonl").read_text(encoding="utf-8").splitlines()
    gambling = next(line for line in lines if "demo-m004" in line)
    clean = next(line for line in lines if "demo-m014" in line)
    events.write_text("\n".join([gambling, clean, gambling]) + "\n", encoding="utf-8")
    code, found, err = run([str(events)], capsys)
    assert code == 0 and "1 duplicate events" in err
    assert [v["source_event_ids"] for v in found if v["rule"].startswith("content.")] == [["demo-m004"]]
    assert len({v["violation_id"] for v in found}) == len(found)
