"""streams.core.merge: what a partition's sources may release, and when."""

from __future__ import annotations

from streams.core.merge import EventTimeMerge

MESSAGES, MEMBERSHIP = "chat.messages:1", "chat.membership:1"


def reading(source: str) -> bool:
    """Neither source has read to its end yet."""
    return False


def test_a_source_with_a_backlog_holds_younger_items_of_the_other_until_it_passes_them() -> None:
    merge = EventTimeMerge([MESSAGES, MEMBERSHIP], idle_after=120)
    for ts in (10, 20, 30):
        merge.add(MESSAGES, ts, f"m{ts}", wall=0)
    assert merge.release(reading, wall=0) == []
    merge.add(MEMBERSHIP, 15, "j15", wall=0)
    assert merge.release(reading, wall=0) == ["m10", "j15"]  # membership may still bring 15..
    merge.add(MEMBERSHIP, 25, "j25", wall=0)
    assert merge.release(reading, wall=0) == ["m20", "j25"]
    assert merge.release(lambda source: True, wall=0) == ["m30"]  # membership read to its end


def test_caught_up_sources_hold_nothing_back() -> None:
    merge = EventTimeMerge([MESSAGES, MEMBERSHIP], idle_after=120)
    merge.add(MESSAGES, 50, "m50", wall=0)
    assert merge.release(lambda source: True, wall=0) == ["m50"]


def test_each_source_keeps_its_own_order() -> None:
    merge = EventTimeMerge([MESSAGES, MEMBERSHIP], idle_after=120)
    merge.add(MESSAGES, 30, "m30", wall=0)
    merge.add(MESSAGES, 10, "m10", wall=0)  # out of order within its partition
    merge.add(MEMBERSHIP, 20, "j20", wall=0)
    assert merge.release(lambda source: True, wall=0) == ["j20", "m30", "m10"]


def test_a_quiet_source_stops_holding_after_idle_after() -> None:
    merge = EventTimeMerge([MESSAGES, MEMBERSHIP], idle_after=120, wall=0)
    merge.add(MESSAGES, 10, "m10", wall=5)
    assert merge.release(reading, wall=119) == []
    assert merge.release(reading, wall=120) == ["m10"]


def test_past_the_limit_the_oldest_goes_regardless() -> None:
    merge = EventTimeMerge([MESSAGES, MEMBERSHIP], idle_after=120, limit=2)
    for ts in (1, 2, 3):
        merge.add(MESSAGES, ts, ts, wall=0)
    assert merge.release(reading, wall=0) == [1]
    assert merge.held == 2


def test_dropping_a_source_forgets_what_it_held() -> None:
    merge = EventTimeMerge([MESSAGES, MEMBERSHIP], idle_after=120)
    merge.add(MESSAGES, 10, "m10", wall=0)
    merge.add(MEMBERSHIP, 20, "j20", wall=0)
    assert merge.drop(MESSAGES) == ["m10"] and merge.held == 1
    assert merge.release(lambda source: True, wall=0) == ["j20"]


def test_a_progress_report_counts_as_delivery() -> None:
    merge = EventTimeMerge([MESSAGES, "chat.messages:2"], idle_after=120)
    merge.add(MESSAGES, 30, "m30", wall=0)
    assert merge.release(reading, wall=0) == []
    merge.saw("chat.messages:2", 40, wall=0)
    assert merge.release(reading, wall=0) == ["m30"]
