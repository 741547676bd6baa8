"""`qunguard discipline show` offline: an employee in neither the roster nor the ladder's records is
"no such employee" (exit 1), not a clean record; a clean employee of the roster still is one."""

from __future__ import annotations

import pytest

from agents.cli.parser import main
from config import SAMPLE_DIR

OFFLINE = ["--events", str(SAMPLE_DIR / "events.jsonl"), "--roster", str(SAMPLE_DIR / "roster.csv"),
           "--ledger", str(SAMPLE_DIR / "ledger.csv")]  # fmt: skip


def show(employee: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["discipline", "show", employee, *OFFLINE])
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_employee_is_said_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show("E9999", capsys)
    assert (code, out) == (1, "")
    assert err == (
        "qunguard discipline show: no such employee: E9999 is in neither the roster nor the ladder's records\n"
    )


def test_a_clean_employee_of_the_roster_has_a_clean_record(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = show("E0001", capsys)
    assert code == 0 and out.startswith("E0001 陈国华:") and "no discipline steps in the window" in out


def test_an_employee_with_steps(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = show("E0008", capsys)
    assert code == 0 and "discipline." in out
