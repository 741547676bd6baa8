"""Group membership as the behaviour rules read it: `chat.private_in_group` counts a group's
members, `ack.missing` reads them at notice time.

There is one model of group membership (streams.membership.group_state, map "membership.groups",
written by streams.membership.detector.MembershipDetector, which runs before the behaviour rules,
so a membership event is applied before anything else sees the group). The behaviour rules read
its event-time view through `GroupMembership`: event time decides between a join and a leave that
arrive out of order within the tolerance, and a dissolved group is empty.

`MembershipExpiry` is that view's idle sweep: it runs on the behaviour rules' event clock every
600 s, not in the membership rules' daily sweep, because when a group's event-time view is
forgotten decides whether a late event still counts there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from streams.behaviour.eventtime import EventClock
from streams.core.detector import Context, Detector, Finding, Sweeper
from topics.events import Event


class GroupMembership(Protocol):
    """A group's members in event time."""

    def members(self, group_id: str) -> frozenset[str]: ...

    def count(self, group_id: str) -> int: ...


class ExpiringMembership(GroupMembership, Protocol):
    def forget_idle(self, horizon: float) -> None:
        """Forget the event-time view of groups idle since before event time `horizon` (an empty
        view entirely, a non-empty one its departure and dissolution markers)."""
        ...


class MembershipExpiry(Detector, Sweeper):
    """Sweeps the event-time membership of idle groups; emits nothing."""

    rules: tuple[str, ...] = ()
    partition = "group"
    sweep_interval = 600.0  # the sweep only forgets dissolved groups and stale markers

    def __init__(self, membership: ExpiringMembership, clock: EventClock) -> None:
        self.membership = membership
        self.clock = clock

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        return ()

    def sweep(self, now: datetime, ctx: Context) -> Iterable[Finding]:
        horizon = self.clock.expiry_horizon(now)
        if horizon is not None:
            self.membership.forget_idle(horizon)
        return ()
