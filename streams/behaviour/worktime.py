"""Working time from the policy's [working_time] section (SPEC §4, default working time).

A day is a working day when, in order: the operator lists it in `extra_holidays` (no) or
`extra_workdays` (yes); China's statutory calendar (`chinesecalendar`) names it a holiday (no)
or a 调休 make-up working day (yes); otherwise its ISO weekday is in `weekdays`. Working hours
are [start, end) in the policy timezone, whatever offset an event carries.

`chinesecalendar` ships data for a limited range of years (to 2026 in 1.11). For a date outside
it the calendar falls back to the weekly hours plus the operator's dates: it logs that once per
year, counts the distinct dates judged that way in `fallback_days_seen`, and calls `on_fallback`
(the agents layer hooks a metric there; streams/ cannot import Prometheus).

Per-group overrides: `[working_time.groups."<group id>"]` with `always = true` (a 24×7 group:
never outside working time), or any of timezone/weekdays/start/end to replace the defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import chinese_calendar

from streams.core.policy import PolicyError
from streams.core.policy_schema import clock_of, dates_of, end_clock_of, weekdays_of, zone_of

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Hours:
    timezone: ZoneInfo
    weekdays: frozenset[int]
    start: time
    end: time | None  # None: until midnight ("24:00")
    always: bool = False


@dataclass
class WorkingCalendar:
    hours: Hours
    statutory: bool = True
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    groups: dict[str, Hours] = field(default_factory=dict)
    exempt_group_kinds: frozenset[str] = frozenset()
    on_fallback: Callable[[date], None] | None = None
    fallback_days_seen: int = 0
    _fallback_dates: set[date] = field(default_factory=set, repr=False)
    _fallback_years: set[int] = field(default_factory=set, repr=False)
    _statutory_days: dict[date, bool | None] = field(default_factory=dict, repr=False)

    @classmethod
    def from_policy(cls, section: Mapping[str, Any]) -> WorkingCalendar:
        where = "working_time"
        base = _hours(section, None, where)
        groups = {
            str(group_id): _hours(spec, base, f"{where}.groups.{group_id}")
            for group_id, spec in (section.get("groups") or {}).items()
        }
        return cls(
            hours=base,
            statutory=bool(section.get("statutory_holidays", True)),
            extra_holidays=_dates(section.get("extra_holidays", ()), f"{where}.extra_holidays"),
            extra_workdays=_dates(section.get("extra_workdays", ()), f"{where}.extra_workdays"),
            groups=groups,
            exempt_group_kinds=frozenset(section.get("exempt_group_kinds", ())),
        )

    @property
    def fallback_active(self) -> bool:
        return self.fallback_days_seen > 0

    def exempt(self, group_id: str, kind: str | None) -> bool:
        """Groups where working time does not apply: exempt kinds and 24×7 groups."""
        hours = self.groups.get(group_id)
        return kind in self.exempt_group_kinds or (hours is not None and hours.always)

    def is_working_time(self, ts: datetime, group_id: str | None = None) -> bool:
        hours = self.groups.get(group_id, self.hours) if group_id else self.hours
        if hours.always:
            return True
        local = ts.astimezone(hours.timezone)
        if not self.is_working_day(local.date(), hours.weekdays):
            return False
        clock = local.time().replace(tzinfo=None)
        return hours.start <= clock and (hours.end is None or clock < hours.end)

    def is_working_day(self, day: date, weekdays: Iterable[int] | None = None) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        if self.statutory:
            statutory = self._statutory(day)
            if statutory is not None:
                return statutory
        return day.isoweekday() in (self.hours.weekdays if weekdays is None else weekdays)

    def _statutory(self, day: date) -> bool | None:
        """True for a 调休 make-up day, False for a holiday, None for an ordinary day or when
        chinesecalendar has no data for the year (then recorded as a fallback). Remembered per
        day: every message asks (chinesecalendar's look-up was ~7 µs of each)."""
        if day not in self._statutory_days:
            self._statutory_days[day] = self._look_up(day)
        return self._statutory_days[day]

    def _look_up(self, day: date) -> bool | None:
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            self._fell_back(day)
            return None
        if name is None:
            return None  # an ordinary weekday or weekend: the weekly hours decide
        return not on_holiday

    def _fell_back(self, day: date) -> None:
        if day in self._fallback_dates:
            return
        self._fallback_dates.add(day)
        self.fallback_days_seen += 1
        if day.year not in self._fallback_years:
            self._fallback_years.add(day.year)
            log.warning(
                "chinesecalendar has no statutory holidays for %d: working days in %d follow the "
                "weekly hours and the operator's extra_holidays/extra_workdays only",
                day.year,
                day.year,
            )
        if self.on_fallback is not None:
            self.on_fallback(day)


def _hours(spec: Mapping[str, Any], base: Hours | None, where: str) -> Hours:
    timezone = _parsed(zone_of, spec["timezone"], f"{where}.timezone") if "timezone" in spec else None
    weekdays = _parsed(weekdays_of, spec["weekdays"], f"{where}.weekdays") if "weekdays" in spec else None
    if base is None:
        hours = Hours(
            timezone=timezone or ZoneInfo("Asia/Shanghai"),
            weekdays=frozenset(weekdays if weekdays is not None else (1, 2, 3, 4, 5)),
            start=_clock(spec.get("start", "09:00"), f"{where}.start"),
            end=_end(spec.get("end", "18:00"), f"{where}.end"),
            always=bool(spec.get("always", False)),
        )
    else:
        hours = replace(
            base,
            timezone=timezone or base.timezone,
            weekdays=frozenset(weekdays) if weekdays is not None else base.weekdays,
            start=_clock(spec["start"], f"{where}.start") if "start" in spec else base.start,
            end=_end(spec["end"], f"{where}.end") if "end" in spec else base.end,
            always=bool(spec.get("always", False)),
        )
    if hours.end is not None and hours.start >= hours.end:
        raise PolicyError(f"{where}: start {hours.start} is not before end {hours.end}")
    return hours


def _parsed(parse: Callable[[Any], T], value: Any, where: str) -> T:
    """`parse(value)` (streams.core.policy_schema, which validates policies with the same parsers)."""
    try:
        return parse(value)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _clock(value: Any, where: str) -> time:
    return _parsed(clock_of, value, where)


def _end(value: Any, where: str) -> time | None:
    return _parsed(end_clock_of, value, where)


def _dates(values: Any, where: str) -> frozenset[date]:
    return _parsed(dates_of, list(values), where)
