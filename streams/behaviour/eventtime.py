"""Event time for the behaviour rules: epoch seconds in state, and the out-of-order tolerance.

State stores times as epoch seconds (a JSON number); an event's own offset is kept only where a
finding reports a time. The tolerance (policy `[event_time] out_of_order_seconds`) is how late,
behind the newest event time a key has seen, an event may arrive and still count; later ones are
ignored by stateful behaviour rules, which is also what bounds how long their state is kept.
"""

from __future__ import annotations

from datetime import datetime

from streams.core.policy import Policy
from topics.events import Event, MessageEvent

DEFAULT_TOLERANCE = 60.0
DEFAULT_IDLE_EXPIRY = 3600.0
DEFAULT_SOURCE_IDLE = 120.0


def utc_seconds(ts: datetime) -> float:
    return ts.timestamp()


def tolerance_seconds(policy: Policy) -> float:
    return float(policy.section("event_time").get("out_of_order_seconds", DEFAULT_TOLERANCE))


def source_idle_seconds(policy: Policy) -> float:
    """How long (wall clock) a source partition may stay quiet and still hold the watermark back
    (streams.core.watermark)."""
    return float(policy.section("event_time").get("source_idle_seconds", DEFAULT_SOURCE_IDLE))


def idle_expiry_seconds(policy: Policy) -> float:
    return float(policy.section("event_time").get("idle_expiry_seconds", DEFAULT_IDLE_EXPIRY))


class EventClock:
    """The newest event time this process has seen, for expiry in a sweep.

    A sweep's `now` is the wall clock live, so expiry is capped by the newest event seen (a
    backlog consumed live keeps its state) and held back by `grace` (a partition lagging behind
    another by less than that loses nothing). Replay sweeps once, at the last event's time.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.latest: float | None = None

    def saw(self, ts: float) -> None:
        if self.latest is None or ts > self.latest:
            self.latest = ts

    def expiry_horizon(self, now: datetime) -> float | None:
        """State idle since before this event time may go; None before any event."""
        if self.latest is None:
            return None
        return min(utc_seconds(now), self.latest) - self.grace


def reference_time(newest: float, watermark: float | None) -> float:
    """What lateness is judged against: a key's newest event time, or the watermark of the input
    the event came from when that is older (streams.core.watermark; None in replay)."""
    return newest if watermark is None else min(newest, watermark)


def behaviour_message(event: Event) -> bool:
    """A message a person sent; platform-generated system messages are no one's behaviour."""
    return isinstance(event, MessageEvent) and event.msg_type != "system"
