"""agents.runtime.watchdog: a worker out of its group for too long exits to be started again."""

from __future__ import annotations

from types import SimpleNamespace

from agents.runtime.watchdog import RebalanceWatchdog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_only_an_unbroken_rebalance_of_the_limit_is_overdue() -> None:
    app, clock = SimpleNamespace(rebalancing=True), Clock()
    watchdog = RebalanceWatchdog(app, limit=300.0, clock=clock)
    assert not watchdog.overdue()
    clock.now = 200.0
    assert not watchdog.overdue()
    app.rebalancing = False  # the group settled: the count starts again at the next rebalance
    assert not watchdog.overdue()
    app.rebalancing = True
    clock.now = 250.0
    assert not watchdog.overdue()
    clock.now = 549.0
    assert not watchdog.overdue()
    clock.now = 550.0
    assert watchdog.overdue()
