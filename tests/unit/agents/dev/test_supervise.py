"""`qunguard dev --follow`'s supervision (agents.dev.supervise): a child that exits is started again
after a pause that grows while it keeps exiting soon after a restart."""

from __future__ import annotations

import sys
from pathlib import Path

from agents.dev.embedded import Service
from agents.dev.supervise import FIRST_PAUSE, MAX_PAUSE, STABLE_AFTER, Supervised


def exiting(tmp_path: Path, code: int) -> Service:
    """A child that exits at once with `code` (a stand-in for a worker the watchdog stopped)."""
    return Service("worker", [sys.executable, "-c", f"raise SystemExit({code})"], None, tmp_path / "w.log")


def wait_exit(service: Service) -> None:
    service.proc.wait(20)


def test_an_exited_child_is_started_again_after_its_pause(tmp_path: Path) -> None:
    now = [100.0]
    service = exiting(tmp_path, 3).start()
    child = Supervised(service, clock=lambda: now[0])
    wait_exit(service)
    line = child.check()
    assert line is not None and line.startswith("worker exited with 3") and "w.log" in line
    assert child.check() is None and child.restarts == 0  # pausing
    now[0] += FIRST_PAUSE
    line = child.check()
    assert line is not None and line.startswith("worker restarted (pid ") and child.restarts == 1
    assert service.proc.pid == int(line.split("(pid ")[1].split(")")[0])
    wait_exit(service)


def test_a_crash_loop_waits_longer_each_time_and_a_stable_run_resets_the_pause(tmp_path: Path) -> None:
    now = [0.0]
    service = exiting(tmp_path, 1).start()
    child = Supervised(service, clock=lambda: now[0])
    pauses = []
    for _ in range(7):
        wait_exit(service)
        child.check()  # notices the exit
        pauses.append(child.pause)
        now[0] += child.pause
        assert child.check() is not None  # restarted
    assert pauses == [FIRST_PAUSE, 2.0, 4.0, 8.0, 16.0, MAX_PAUSE, MAX_PAUSE]
    wait_exit(service)
    now[0] += STABLE_AFTER  # it ran a minute before exiting
    child.check()
    assert child.pause == FIRST_PAUSE


def test_a_running_child_is_left_alone(tmp_path: Path) -> None:
    service = Service(
        "notifier", [sys.executable, "-c", "import time; time.sleep(30)"], None, tmp_path / "n.log"
    )
    service.start()
    try:
        child = Supervised(service)
        assert child.check() is None and child.restarts == 0
    finally:
        service.stop()
