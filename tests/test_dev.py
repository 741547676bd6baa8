"""`qunguard dev` (what `make demo` runs) on its own embedded broker and Redis: shows violations
from the sample stream, the poison record in the dead-letter topic, exits 0 and leaves nothing running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from agents.dev import run_dev

pytestmark = pytest.mark.e2e


def test_dev_runs_the_sample_and_exits(tmp_path, capsys) -> None:
    code = run_dev(workdir=tmp_path / "dev")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "content.gambling" in out and "DEAD LETTER" in out
    assert "done:" in out and "stopped worker, broker and redis" in out
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", out)]
    assert len(pids) == 3  # broker, redis, worker
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_ctrl_c_on_follow_stops_everything(tmp_path) -> None:
    """`qunguard dev --follow` runs until Ctrl-C (SIGINT), then stops broker, Redis and worker."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "dev", "--follow"],
        cwd=tmp_path,  # its .qunguard/dev workdir goes here
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("content.gambling" in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert any("content.gambling" in line for line in lines), "".join(lines)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    output = "".join(lines) + rest
    assert "stopped worker, broker and redis" in output
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 3
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
