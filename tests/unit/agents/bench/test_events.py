"""agents.bench.events: the benchmark's input is deterministic and every record is a valid event."""

from __future__ import annotations

from datetime import timedelta

from agents.bench.events import START, WORKDAY_SECONDS, event_time, generate
from streams.behaviour.worktime import WorkingCalendar
from streams.core.policy import load_policy
from topics.codec import decode_event


def test_generated_events_are_deterministic_and_valid() -> None:
    first, again = generate(300, seed=3), generate(300, seed=3)
    assert first == again
    assert first != generate(300, seed=4)
    events = [decode_event(r.value) for r in first]
    assert {e.kind for e in events} == {"message", "membership"}
    texts = [e.text for e in events if e.kind == "message"]
    assert all(10 <= len(t) <= 130 for t in texts)
    assert len({e.event_id for e in events}) == len(events)


def test_event_times_stay_inside_working_time() -> None:
    """Past 18:00 every message would be an hours.off_hours violation: the line goes on at 09:00
    of the next working day, and a whole working day is one second a record from START."""
    calendar = WorkingCalendar.from_policy(load_policy().section("working_time"))
    assert event_time(WORKDAY_SECONDS - 1) == START + timedelta(seconds=WORKDAY_SECONDS - 1)
    assert event_time(WORKDAY_SECONDS) == START + timedelta(days=1)
    assert event_time(5 * WORKDAY_SECONDS) == START + timedelta(days=7)  # Friday's end: Monday
    times = [event_time(n) for n in range(0, 12 * WORKDAY_SECONDS, 997)]
    assert times == sorted(times)
    assert all(calendar.is_working_time(t) for t in times)
