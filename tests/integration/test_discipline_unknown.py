"""`qunguard discipline show` live: an employee in neither the roster in Redis nor the ladder's
records is "no such employee" (exit 1); one of the roster without steps is a clean record."""

from __future__ import annotations

import pytest

from agents.cli.parser import main
from agents.connect.settings import Settings
from agents.intake.loaders import load_roster
from config import SAMPLE_DIR


def test_live_unknown_employee(redis_url: str, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    load_roster(SAMPLE_DIR / "roster.csv", Settings(redis_url=redis_url, redis_prefix="qu"), publish=False)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("QUNGUARD_REDIS_PREFIX", "qu")
    assert main(["discipline", "show", "E9999"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "no such employee: E9999 is in neither the roster nor the ladder's records" in err
    assert main(["discipline", "show", "E0001"]) == 0
    assert "E0001 陈国华:" in capsys.readouterr().out
