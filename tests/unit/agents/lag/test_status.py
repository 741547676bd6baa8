"""Lag seconds (interpolation over sampled log-end offsets) and the Burrow-like status rules."""

from __future__ import annotations

import pytest

from agents.lag.status import EndHistory, Sample, Status, lag_seconds, partition_status, worst
from tests.support import ScriptedOffsets

# The log end grows 10 records a second from offset 100 at t=1000, then stays flat from t=1010.
POINTS = [(1000.0, 100), (1005.0, 150), (1010.0, 200), (1015.0, 200)]


def test_caught_up_is_zero_seconds() -> None:
    assert lag_seconds(POINTS, 200, now=1020.0) == 0.0
    assert lag_seconds(POINTS, 250, now=1020.0) == 0.0  # committed past the sampled end: still 0


def test_interpolates_between_the_samples_around_the_committed_offset() -> None:
    # Offset 120 was written 2 s after t=1000 (10 records/s): 18 s before now.
    assert lag_seconds(POINTS, 120, now=1020.0) == pytest.approx(18.0)
    assert lag_seconds(POINTS, 150, now=1020.0) == pytest.approx(15.0)
    assert lag_seconds(POINTS, 199, now=1020.0) == pytest.approx(10.1)


def test_flat_stretch_uses_the_last_point_before_the_jump() -> None:
    # End stuck at 200 from t=1010 to t=1015, then 210 at t=1020: offset 200 was written after 1015.
    points = [*POINTS, (1020.0, 210)]
    assert lag_seconds(points, 200, now=1030.0) == pytest.approx(15.0)


def test_older_than_the_history_extrapolates_and_is_at_least_the_history_span() -> None:
    # 200 records over 15 s on average; offset 50 is 50 records before the first point.
    assert lag_seconds(POINTS, 50, now=1020.0) == pytest.approx(20.0 + 50 * 15 / 100)
    # A history with no growth cannot date an offset it never saw.
    assert lag_seconds([(1000.0, 100), (1010.0, 100)], 50, now=1020.0) is None


def test_one_point_is_unknown_unless_caught_up() -> None:
    assert lag_seconds([(1000.0, 100)], 90, now=1001.0) is None
    assert lag_seconds([(1000.0, 100)], 100, now=1001.0) == 0.0
    assert lag_seconds([], 0, now=1.0) is None


def test_end_history_restarts_when_the_log_end_goes_back() -> None:
    history = EndHistory(size=3)
    for t, end in [(1.0, 10), (2.0, 20), (3.0, 30), (4.0, 40)]:
        history.add(t, end)
    assert list(history.points) == [(2.0, 20), (3.0, 30), (4.0, 40)]  # bounded
    history.add(4.0, 45)  # same instant: ignored, time must advance
    history.add(5.0, 5)  # topic recreated
    assert list(history.points) == [(5.0, 5)]


def window(*pairs: tuple[int, int]) -> list[Sample]:
    """Samples one second apart from (committed, end) pairs."""
    return [Sample(float(i), committed, end) for i, (committed, end) in enumerate(pairs)]


SIZE = 4


@pytest.mark.parametrize(
    ("samples", "members", "expected"),
    [
        # caught up now: OK whatever happened before
        (window((0, 10), (0, 10), (5, 10), (10, 10)), 1, Status.OK),
        # lag > 0 and falling
        (window((0, 10), (4, 12), (8, 13), (12, 14)), 1, Status.OK),
        # lag reached 0 inside the window: keeping up
        (window((0, 10), (10, 10), (10, 15), (12, 20)), 1, Status.OK),
        # committed moves but lag never decreases
        (window((0, 10), (2, 13), (4, 15), (6, 17)), 1, Status.WARN),
        # committed stuck with lag, consumers present
        (window((5, 10), (5, 10), (5, 12), (5, 12)), 2, Status.STALL),
        # membership unknown: stuck is STALL, not STOP
        (window((5, 10), (5, 10), (5, 12), (5, 12)), None, Status.STALL),
        # committed stuck with lag and nobody in the group: commits stopped
        (window((5, 10), (5, 10), (5, 12), (5, 12)), 0, Status.STOP),
        # committed offset moved back
        (window((8, 10), (9, 10), (3, 10), (4, 10)), 1, Status.REWIND),
        # a rewind is reported before the window is full
        (window((8, 10), (3, 10)), 1, Status.REWIND),
        # lag > 0 but not enough samples for a trend
        (window((5, 10), (5, 10)), 0, Status.UNKNOWN),
        (window((5, 10)), 1, Status.UNKNOWN),
        ([], 1, Status.OK),
    ],
)
def test_partition_status(samples: list[Sample], members: int | None, expected: Status) -> None:
    assert partition_status(samples, members, SIZE) is expected


def test_status_looks_only_at_the_last_window() -> None:
    # An old rewind and old zero lag slide out; the last 4 samples are a stall.
    samples = window((9, 9), (2, 9), (2, 10), (2, 11), (2, 11), (2, 12))
    assert partition_status(samples, 1, SIZE) is Status.STALL


def test_lag_is_never_negative() -> None:
    assert Sample(0.0, committed=12, end=10).lag == 0


def test_group_status_is_the_worst_partition() -> None:
    assert worst([Status.OK, Status.WARN, Status.UNKNOWN]) is Status.WARN
    assert worst([Status.STALL, Status.STOP, Status.REWIND]) is Status.STOP
    assert worst([]) is Status.OK


def test_monitor_builds_lag_seconds_and_status_over_rounds() -> None:
    from agents.lag.monitor import LagMonitor, lag_json, lag_table

    source = ScriptedOffsets()
    now = [1000.0]
    monitor = LagMonitor(source, ["workers", "idle"], window=3, clock=lambda: now[0])
    tp = ("chat.messages", 0)
    source.member_count["workers"] = 1
    # The log grows 10 records/s; the group is stuck at offset 100, 10 records behind at first.
    for end in (110, 160, 210):
        source.ends[tp] = end
        source.committed_offsets["workers"] = {tp: 100}
        reports = monitor.sample()
        now[0] += 5.0
    workers, idle = reports
    [p] = workers.partitions
    assert (p.committed, p.end, p.lag) == (100, 210, 110)
    assert p.lag_seconds == pytest.approx(11.0)  # offset 100 was written 1 s before the first sample
    assert p.status is Status.STALL and workers.status is Status.STALL
    assert (workers.max_lag, workers.sum_lag, workers.max_lag_seconds) == (110, 110, pytest.approx(11.0))
    assert idle.partitions == () and idle.status is Status.NOTFOUND and not idle.found  # never committed

    source.member_count["workers"] = 0  # the worker left
    source.ends[tp] = 250
    [workers, _] = monitor.sample()
    now[0] += 5.0
    assert workers.status is Status.STOP and workers.members == 0

    source.committed_offsets["workers"] = {tp: 250}  # caught up
    [workers, _] = monitor.sample()
    assert workers.status is Status.OK and workers.max_lag_seconds == 0.0
    assert b'"status":"OK"' in lag_json([workers], "scripted")
    assert "workers: OK, empty with 0 members, 1 partitions, max lag 0" in lag_table([workers])
