"""Watermarks per source partition (streams.core.watermark)."""

from __future__ import annotations

from streams.core.watermark import SourceWatermarks, Watermarks


def test_the_watermark_is_the_slowest_sources_newest_event() -> None:
    sources = SourceWatermarks(idle_after=30)
    sources.observe("chat.messages:0", 1_000, wall=0)
    assert sources.watermark(wall=0) == 1_000
    sources.observe("chat.membership:0", 400, wall=1)
    sources.observe("chat.messages:0", 2_000, wall=1)
    assert sources.watermark(wall=1) == 400
    sources.observe("chat.membership:0", 300, wall=2)  # out of order within its source: no step back
    assert sources.watermark(wall=2) == 400


def test_a_quiet_source_stops_holding_the_watermark_back() -> None:
    sources = SourceWatermarks(idle_after=30)
    sources.observe("a", 100, wall=0)
    sources.observe("b", 5_000, wall=0)
    sources.observe("b", 5_100, wall=29)
    assert sources.watermark(wall=29) == 100
    assert sources.watermark(wall=31) == 5_100  # "a" quiet for 31 s
    sources.observe("a", 200, wall=32)  # heard again: it holds the watermark back again
    assert sources.watermark(wall=32) == 200
    assert SourceWatermarks(idle_after=30).watermark(wall=0) is None


def test_each_partition_of_each_partitioning_has_its_own_sources() -> None:
    marks = Watermarks(idle_after=30)
    assert marks.observe("sender", 1, "chat.messages:0", 500, wall=0) == 500
    assert marks.observe("sender", 1, "chat.messages:3", 900, wall=0) == 500
    assert marks.observe("sender", 2, "chat.messages:3", 900, wall=0) == 900
    assert marks.observe("group", 1, "chat.messages:1", 50, wall=0) == 50


def test_an_expected_source_not_heard_yet_holds_the_watermark_until_it_is_quiet_too_long() -> None:
    marks = Watermarks(
        idle_after=120, expected=lambda partitioning, n: ("a", "b") if partitioning == "sender" else ()
    )
    assert marks.observe("sender", 0, "a", 500, wall=0) == float("-inf")  # "b" may still send older events
    assert marks.observe("sender", 0, "b", 700, wall=5) == 500
    assert marks.observe("sender", 1, "a", 900, wall=10) == float("-inf")
    assert marks.observe("sender", 1, "a", 950, wall=131) == 950  # "b" never heard in 121 s
    assert marks.observe("group", 0, "a", 10, wall=0) == 10


def test_an_expected_source_known_to_be_empty_never_holds_the_watermark() -> None:
    marks = Watermarks(
        idle_after=120, expected=lambda partitioning, n: ("a", "b", "c"), vacant=lambda source: source == "c"
    )
    assert marks.observe("sender", 0, "a", 500, wall=0) == float("-inf")  # "b" still to be heard
    assert marks.observe("sender", 0, "b", 700, wall=1) == 500  # "c" is empty
