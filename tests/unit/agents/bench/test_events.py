"""agents.bench.events: the benchmark's input is deterministic and every record is a valid event."""

from __future__ import annotations

from agents.bench.events import generate
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
