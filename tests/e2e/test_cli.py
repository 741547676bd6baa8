"""The `qunguard` CLI shells over topic admin and feed, against the real broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.cli.parser import main
from config import SAMPLE_DIR


def test_topics_create_reads_kafka_bootstrap(bootstrap: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", bootstrap)
    assert main(["topics", "create"]) == 0
    assert main(["topics", "create"]) == 0
    out = capsys.readouterr().out
    assert "chat.messages: exists" in out and "moderation.deadletter: exists" in out


def test_feed_reports_sent_and_rejected(bootstrap: str, tmp_path: Path, capsys) -> None:
    events = tmp_path / "events.jsonl"
    good = (SAMPLE_DIR / "events.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    events.write_text("\n".join([*good, '{"kind": "message"}']) + "\n", encoding="utf-8")
    assert main(["feed", str(events), "--bootstrap", bootstrap, "--quiet"]) == 1  # a line was rejected
    captured = capsys.readouterr()
    assert "feed: 3 sent, 1 rejected, 0 failed" in captured.out
    assert f"{events}:4: field 'event_id'" in captured.err
    events.write_text("\n".join(good) + "\n", encoding="utf-8")
    assert main(["feed", str(events), "--bootstrap", bootstrap, "--quiet"]) == 0  # every line went out


def test_unknown_subcommand_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["explode"])
    assert info.value.code == 2
