"""The `qunguard` command itself: --version, exit statuses that tell what happened, and a closed
stdout (`… | head`) ending quietly."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

from agents.cli.parser import BROKEN_PIPE, main
from agents.intake.feed import FeedSummary
from tests.conftest import CORPUS


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"qunguard {version('qunguard')}\n"


@pytest.mark.parametrize(
    ("summary", "code"),
    [
        (FeedSummary(sent=3), 0),
        (FeedSummary(sent=3, rejected=1), 1),  # the good lines went out, but not every line
        (FeedSummary(sent=3, failed=1), 1),
        (FeedSummary(), 0),  # an empty file
    ],
)
def test_feed_exit_status(summary: FeedSummary, code: int) -> None:
    assert summary.exit_status == code


def test_a_closed_stdout_ends_quietly() -> None:
    """`qunguard replay … | head -1`: far more output than a pipe holds, the reader gone after a line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "replay", str(CORPUS / "content.jsonl"),
         "--roster", str(CORPUS / "roster.csv"), "--ledger", str(CORPUS / "ledger.csv")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout.readline().startswith(b'{"violation_id"')
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == BROKEN_PIPE
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
