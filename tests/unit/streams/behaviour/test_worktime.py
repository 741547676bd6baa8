"""WorkingCalendar (streams.behaviour.worktime) and the hours.* rules, including dates past chinesecalendar's data."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from streams.behaviour.worktime import WorkingCalendar
from streams.core.policy import PolicyError
from tests.behaviour_world import World, policy_with, rules_of
from topics.timeutil import parse_ts

DEFAULT = {"timezone": "Asia/Shanghai", "weekdays": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}


def calendar(**overrides) -> WorkingCalendar:
    return WorkingCalendar.from_policy({**DEFAULT, **overrides})


@pytest.mark.parametrize(
    ("ts", "working"),
    [
        ("2026-09-22T10:00:00+08:00", True),  # Tuesday
        ("2026-09-22T08:59:59+08:00", False),
        ("2026-09-22T09:00:00+08:00", True),
        ("2026-09-22T17:59:59+08:00", True),
        ("2026-09-22T18:00:00+08:00", False),
        ("2026-09-22T21:15:00+08:00", False),
        ("2026-09-26T10:00:00+08:00", False),  # Saturday
        ("2026-10-05T10:00:00+08:00", False),  # National Day holiday, a Monday
        ("2026-09-25T10:00:00+08:00", False),  # Mid-autumn holiday, a Friday
        ("2026-10-10T10:00:00+08:00", True),  # 调休: a Saturday worked
        ("2026-09-20T10:00:00+08:00", True),  # 调休: a Sunday worked
        # judged in the policy timezone whatever the offset
        ("2026-09-22T02:00:00+00:00", True),  # 10:00 in Shanghai
        ("2026-09-22T12:00:00+00:00", False),  # 20:00 in Shanghai
        ("2026-09-21T20:30:00-05:00", True),  # Tuesday 09:30 in Shanghai
    ],
)
def test_default_working_time(ts: str, working: bool) -> None:
    assert calendar().is_working_time(parse_ts(ts)) is working


def test_operator_dates_win_over_the_statutory_calendar() -> None:
    cal = calendar(extra_holidays=["2026-09-22"], extra_workdays=["2026-10-05"])
    assert not cal.is_working_time(parse_ts("2026-09-22T10:00:00+08:00"))
    assert cal.is_working_time(parse_ts("2026-10-05T10:00:00+08:00"))
    no_statutory = calendar(statutory_holidays=False)
    assert no_statutory.is_working_time(parse_ts("2026-10-05T10:00:00+08:00"))
    assert not no_statutory.is_working_time(parse_ts("2026-10-10T10:00:00+08:00"))


def test_per_group_overrides() -> None:
    cal = calendar(
        groups={"g-noc": {"always": True}, "g-shop": {"weekdays": [6, 7], "start": "10:00", "end": "24:00"}}
    )
    late_saturday = parse_ts("2026-09-19T23:30:00+08:00")  # an ordinary Saturday
    assert cal.is_working_time(late_saturday, "g-noc") and cal.exempt("g-noc", "department")
    assert cal.is_working_time(late_saturday, "g-shop")
    assert not cal.is_working_time(parse_ts("2026-09-22T11:00:00+08:00"), "g-shop")  # a Tuesday
    assert not cal.is_working_time(late_saturday, "g-other")
    assert cal.exempt("g-any", "interest") is False  # no exempt kinds configured here
    assert calendar(exempt_group_kinds=["interest"]).exempt("g-any", "interest")


def test_after_chinesecalendar_data_ends_the_weekly_hours_and_operator_dates_apply(caplog) -> None:
    seen: list[date] = []
    cal = calendar(extra_holidays=["2027-01-01"])
    cal.on_fallback = seen.append
    with caplog.at_level(logging.WARNING, logger="streams.behaviour.worktime"):
        assert cal.is_working_time(parse_ts("2027-01-04T10:00:00+08:00"))  # Monday
        assert not cal.is_working_time(parse_ts("2027-01-04T19:00:00+08:00"))
        assert not cal.is_working_time(parse_ts("2027-01-09T10:00:00+08:00"))  # Saturday
        assert not cal.is_working_time(parse_ts("2027-01-01T10:00:00+08:00"))  # operator holiday
        assert cal.is_working_time(parse_ts("2027-01-05T10:00:00+08:00"))
    assert seen == [date(2027, 1, 4), date(2027, 1, 9), date(2027, 1, 5)]  # each date once
    assert cal.fallback_days_seen == 3 and cal.fallback_active
    said = [
        r for r in caplog.records if "chinesecalendar has no statutory holidays for 2027" in r.getMessage()
    ]
    assert len(said) == 1  # said once
    assert not calendar().fallback_active


def test_hours_rules_on_2027_01_04_event_times() -> None:
    world = World()
    found = world.feed(
        world.message("wx_lina", parse_ts("2027-01-04T10:00:00+08:00")),
        world.message("wx_zhaolei", parse_ts("2027-01-04T20:00:00+08:00")),
        world.message("wx_chenjing", parse_ts("2027-01-04T20:05:00+08:00"), urgent=True),
    )
    assert rules_of(found) == [("hours.off_hours", "wx_zhaolei"), ("hours.urgent_needs_call", "wx_chenjing")]
    hours = next(d for d in world.detectors if hasattr(d, "calendar"))
    assert hours.calendar.fallback_days_seen == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "working_time.timezone"),
        ({"start": "9 am"}, "working_time.start"),
        ({"start": "18:00", "end": "09:00"}, "is not before end"),
        ({"weekdays": [0, 8]}, "working_time.weekdays"),
        ({"extra_holidays": ["2026/10/01"]}, "working_time.extra_holidays"),
        ({"groups": {"g-x": {"end": "25:00"}}}, "working_time.groups.g-x.end"),
    ],
)
def test_bad_settings_are_policy_errors(settings: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        calendar(**settings)


def test_off_hours_and_urgent_in_groups() -> None:
    world = World()
    evening = parse_ts("2026-09-22T21:15:00+08:00")
    found = world.feed(
        world.message("wx_lina", evening, "g-sales"),  # department group: off hours
        world.message("wx_lina", evening, "g-all"),  # company
        world.message("wx_lina", evening, "g-proj"),  # project
        world.message("wx_lina", evening, "g-fun"),  # interest: exempt
        world.message("wx_lina", evening, "g-unknown"),  # not in the ledger: no kind
        world.message("wx_lina", evening, "g-sales", msg_type="system"),
        world.message("wx_zhaolei", evening, "g-sales", urgent=True),  # urgent: a call, not off hours
        world.message("wx_zhaolei", parse_ts("2026-09-22T10:00:00+08:00"), "g-sales", urgent=True),
        world.message("wx_zhaolei", parse_ts("2026-09-22T10:00:00+08:00"), "g-sales", text="紧急:请回复"),
    )
    got = sorted((v.rule, v.group_id) for v in found)
    assert got == [
        ("hours.off_hours", "g-all"),
        ("hours.off_hours", "g-proj"),
        ("hours.off_hours", "g-sales"),
        ("hours.urgent_needs_call", "g-sales"),
        ("hours.urgent_needs_call", "g-sales"),
    ]


def test_a_24x7_group_and_exempt_kinds_from_the_policy(tmp_path) -> None:
    policy = policy_with(tmp_path, "[working_time]", "", 'groups."g-ops".always = true')
    world = World(policy)
    night = parse_ts("2026-09-22T03:00:00+08:00")
    assert world.feed(world.message("wx_lina", night, "g-ops")) == []
    assert rules_of(world.feed(world.message("wx_lina", night, "g-sales"))) == [
        ("hours.off_hours", "wx_lina")
    ]


def test_large_file_over_20_mib() -> None:
    world = World()
    mib = 1024 * 1024
    found = world.feed(
        world.message("wx_lina", 0, msg_type="video", attachment={"name": "a.mp4", "size": 75 * mib}),
        world.message("wx_lina", 60, msg_type="file", attachment={"name": "b.zip", "size": 20 * mib + 1}),
        world.message("wx_lina", 120, msg_type="file", attachment={"name": "c.pdf", "size": 20 * mib}),
        world.message("wx_lina", 180, msg_type="image", attachment={"name": "d.png", "size": 30 * mib}),
        world.message("wx_lina", 240, msg_type="link", text="https://pan.example-corp.com/s/abc"),
    )
    large = [v for v in found if v.rule == "media.large_file"]
    assert [v.evidence["size"] for v in large] == [75 * mib, 20 * mib + 1]
    assert all(v.actions == ("remind",) and v.severity == "info" for v in large)
