"""`qunguard dev --follow` runs until Ctrl-C (SIGINT), restarting a worker or notifier that exits
(agents.dev.supervise) instead of tearing the stack down, says so, and on Ctrl-C stops everything
it started: broker, Redis, worker and notifier, restarted processes included. (One test: a run
without restarts stops the same way, and every dev stack costs a worker start.)"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest


class Output(threading.Thread):
    """The lines a process prints, read in the background."""

    def __init__(self, proc: subprocess.Popen) -> None:
        super().__init__(daemon=True)
        self.proc, self.lines, self.fresh = proc, [], queue.Queue()

    def run(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            self.fresh.put(line)

    def wait_for(self, pattern: str, timeout: float = 120.0) -> re.Match:
        deadline = time.monotonic() + timeout
        for line in list(self.lines):
            if found := re.search(pattern, line):
                return found
        while time.monotonic() < deadline:
            try:
                line = self.fresh.get(timeout=0.5)
            except queue.Empty:
                continue
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.lines)[-4000:]}")


def test_follow_restarts_what_exits_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "dev", "--follow"],
        cwd=tmp_path,  # its .qunguard/dev workdir goes here
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",  # the notifications are Chinese, whatever the locale says
        errors="replace",  # output cut mid-character at the stop is no failure of this test
    )
    out = Output(proc)
    out.start()
    try:
        worker = int(out.wait_for(r"worker  started \(pid (\d+)\)").group(1))
        notifier = int(out.wait_for(r"notify  started \(pid (\d+)\)").group(1))
        out.wait_for(r"content\.gambling")

        os.kill(worker, signal.SIGKILL)
        out.wait_for(r"worker exited with -9 \(see .*worker\.log\); starting it again in 1s")
        restarted = int(out.wait_for(r"worker restarted \(pid (\d+)\), restart 1").group(1))
        assert restarted != worker
        log = tmp_path / ".qunguard" / "dev" / "worker.log"
        deadline = time.monotonic() + 120
        while log.read_text(errors="replace").count("[^Worker]: Ready") < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert log.read_text(errors="replace").count("[^Worker]: Ready") == 2  # the new one joined

        os.kill(notifier, signal.SIGTERM)
        out.wait_for(r"notifier exited with \S+ \(see .*notifier\.log\); starting it again in 1s")
        out.wait_for(r"notifier restarted \(pid \d+\), restart 1")

        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    finally:
        proc.kill()
        out.join(10)
    output = "".join(out.lines)
    assert "stopped worker, broker and redis" in output
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 6  # broker, redis, worker, notifier, and the two restarted
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
