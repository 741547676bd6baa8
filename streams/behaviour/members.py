"""Group membership as the behaviour rules know it, from `chat.membership` events.

`chat.private_in_group` needs a group's member count and `ack.missing` its members at notice
time. This detector emits nothing; it keeps, per group (map "behaviour.members", keyed by group
id, so it lives beside the rules that read it):

    {"wm": <newest event time>, "m": {<account>: <joined at>}, "x": {<account>: <left at>},
     "d": <dissolved at>}

`member_joined`/`member_present` (and the member named by `group_created`/`owner_changed`) add,
`member_left`/`member_removed` remove, `group_dissolved` clears. Event time decides between a
join and a leave that arrive out of order (within the tolerance); the departure and dissolution
markers are kept only that long. Snapshots of present members change nothing when already known.
A dissolved group keeps its watermark until a sweep finds it idle and deletes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from streams.behaviour.eventtime import EventClock, utc_seconds
from streams.core.engine import Context, Finding
from streams.core.state import StateMap, StateSource
from topics.events import Event, MembershipEvent

MAP_NAME = "behaviour.members"
ADDS = frozenset({"member_joined", "member_present", "group_created", "owner_changed"})
REMOVES = frozenset({"member_left", "member_removed"})


class GroupMembers:
    rules: tuple[str, ...] = ()
    partition = "group"
    sweep_interval = 600.0  # the sweep only forgets dissolved groups and stale markers

    def __init__(self, state: StateSource, tolerance: float, clock: EventClock) -> None:
        self.state: StateMap = state.map(MAP_NAME, "group")
        self.tolerance = tolerance
        self.clock = clock

    def members(self, group_id: str) -> frozenset[str]:
        value = self.state.get(group_id)
        return frozenset(value["m"]) if value else frozenset()

    def count(self, group_id: str) -> int:
        value = self.state.get(group_id)
        return len(value["m"]) if value else 0

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        if isinstance(event, MembershipEvent):
            self.clock.saw(utc_seconds(event.ts))
            old = self.state.get(key)
            new = self.apply(old, event)
            if new is not None and new is not old:
                self.state[key] = new
        return ()

    def apply(self, value: dict[str, Any] | None, event: MembershipEvent) -> dict[str, Any] | None:
        """The group's new value (the same object when the event changes nothing)."""
        ts = utc_seconds(event.ts)
        wm = float(value["wm"]) if value else ts
        if ts < wm - self.tolerance:
            return value  # late beyond the tolerance
        members: dict[str, float] = value["m"] if value else {}
        gone: dict[str, float] = value.get("x", {}) if value else {}
        dissolved: float | None = value.get("d") if value else None
        account = event.member_id
        if event.action == "group_dissolved":
            members, gone, dissolved = {}, {}, max(ts, dissolved or ts)
        elif event.action in ADDS and account:
            if account in members or ts < gone.get(account, float("-inf")):
                return value  # known already, or a join older than the leave that followed it
            if dissolved is not None and ts < dissolved:
                return value
            members = {**members, account: ts}
            gone = {k: v for k, v in gone.items() if k != account}
        elif event.action in REMOVES and account:
            if ts < members.get(account, float("-inf")):
                return value  # a leave older than the join that followed it
            members = {k: v for k, v in members.items() if k != account}
            gone = {**gone, account: ts}
        else:
            return value
        wm = max(wm, ts)
        return self._pruned(members, gone, dissolved, wm, wm - self.tolerance)

    def sweep(self, now: datetime, ctx: Context) -> Iterable[Finding]:
        """Forget groups left empty (dissolved) once idle; drop stale departure markers."""
        horizon = self.clock.expiry_horizon(now)
        if horizon is None:
            return ()
        for key, value in list(self.state.items()):
            if float(value["wm"]) >= horizon - self.tolerance:
                continue  # not idle: its own events prune it
            if not value["m"]:
                del self.state[key]
            elif "x" in value or "d" in value:
                self.state[key] = {"wm": value["wm"], "m": value["m"]}
        return ()

    def _pruned(
        self,
        members: dict[str, float],
        gone: dict[str, float],
        dissolved: float | None,
        wm: float,
        horizon: float,
    ) -> dict[str, Any]:
        gone = {k: v for k, v in gone.items() if v >= horizon}
        if dissolved is not None and dissolved < horizon:
            dissolved = None
        value: dict[str, Any] = {"wm": wm, "m": members}
        if gone:
            value["x"] = gone
        if dissolved is not None:
            value["d"] = dissolved
        return value
