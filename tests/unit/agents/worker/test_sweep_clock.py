"""Which time a live sweep uses: event time while its partition is busy, the wall clock once idle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agents.worker.sweep_clock import SweepClock

WALL = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


class Ticker:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_an_unseen_partition_sweeps_on_the_wall_clock() -> None:
    assert SweepClock(60.0).now("group", 3, WALL) == WALL


def test_a_busy_partition_sweeps_on_its_newest_event_time() -> None:
    ticker = Ticker()
    clock = SweepClock(60.0, ticker)
    backlog = WALL - timedelta(hours=5)
    clock.saw("group", 3, backlog + timedelta(minutes=2))
    clock.saw("group", 3, backlog)  # an older event does not move the clock back
    ticker.t = 30.0
    assert clock.now("group", 3, WALL) == backlog + timedelta(minutes=2)
    assert clock.now("group", 4, WALL) == WALL  # other partitions are their own


def test_an_idle_partition_returns_to_the_wall_clock() -> None:
    ticker = Ticker()
    clock = SweepClock(60.0, ticker)
    clock.saw("sender", 1, WALL - timedelta(hours=1))
    ticker.t = 61.0
    assert clock.now("sender", 1, WALL) == WALL


def test_event_time_ahead_of_the_wall_clock_is_capped() -> None:
    clock = SweepClock(60.0)
    clock.saw("group", 0, WALL + timedelta(minutes=5))
    assert clock.now("group", 0, WALL) == WALL
