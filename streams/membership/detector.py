"""Membership reconciliation per group (SPEC §4 `member.*`, `group.*`): the group-partitioned detector.

Every event of a group (messages and membership events; key = group id) updates what qunguard
knows about the group (streams.membership.group_state) and is checked against the roster and the ledger
(streams.membership.checks). The sweep judges idle, expired and incomplete company groups
(streams.membership.sweep). Roster changes reach groups through the member index (streams.membership.member_index).

The detector is the one writer of the group map, which is also the one model of membership the
behaviour rules read: it serves them the members in event time (`members`, `count`: the
streams.behaviour.members.GroupMembership they receive) and forgets what that view keeps of idle
groups when their sweep asks (`forget_idle`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from datetime import datetime
from typing import Any

from streams.behaviour.eventtime import tolerance_seconds
from streams.core.detector import Context, Detector, FansOut, Finding, Sweeper
from streams.core.policy import Policy
from streams.core.state import Partition, StateMap, StateSource
from streams.membership.checks import (
    GROUP_RULES,
    MEMBER_RULES,
    Lookup,
    MemberPolicy,
    member_findings,
    name_finding,
    owner_finding,
    unregistered_reason,
)
from streams.membership.group_state import (
    ActivityValue,
    activity_moved,
    apply_membership,
    forget_idle,
    member_account,
    member_accounts,
    members_in_event_time,
    merged_activity,
    owner_account,
    touch_activity,
)
from streams.membership.sweep import SWEEP_RULES, SweepPolicy, sweep_groups
from topics.events import Event, MembershipEvent, MessageEvent
from topics.reference import Group

GROUPS_MAP = "membership.groups"
ACTIVITY_MAP = "membership.activity"
DEFAULT_SWEEP_INTERVAL = 86400.0  # seconds; policy [membership] sweep_interval_seconds
DEFAULT_ACTIVITY_RESOLUTION = 3600.0  # seconds; policy [membership] activity_resolution_seconds


class ActivityView(MutableMapping[str, Any]):
    """The activity map with the times not yet written (streams.membership.group_state) merged in; a value
    assigned here is written and supersedes them."""

    def __init__(self, stored: StateMap) -> None:
        self.stored = stored
        self.recent: dict[str, ActivityValue] = {}

    def __getitem__(self, key: str) -> Any:
        value = merged_activity(self.stored.get(key), self.recent.get(key))
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.stored[key] = value
        self.recent.pop(key, None)

    def __delitem__(self, key: str) -> None:
        del self.stored[key]
        self.recent.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.stored)

    def __len__(self) -> int:
        return len(self.stored)


class MembershipDetector(Detector, FansOut, Sweeper):
    partition = "group"
    rules = (*MEMBER_RULES, *GROUP_RULES, *SWEEP_RULES)

    def __init__(self, policy: Policy, state: StateSource) -> None:
        self.groups = state.map(GROUPS_MAP, "group")
        self.stored_activity = state.map(ACTIVITY_MAP, "group")
        self.activity = ActivityView(self.stored_activity)
        self.member_policy = MemberPolicy.from_policy(policy)
        self.sweep_policy = SweepPolicy.from_policy(policy)
        # How often the live timer should run `sweep` (the lead's tick reads this attribute).
        section = policy.section("membership")
        self.sweep_interval = float(section.get("sweep_interval_seconds", DEFAULT_SWEEP_INTERVAL))
        self.resolution = float(section.get("activity_resolution_seconds", DEFAULT_ACTIVITY_RESOLUTION))
        self.tolerance = tolerance_seconds(policy)  # of the event-time view (streams.membership.group_state)

    def members(self, group_id: str) -> frozenset[str]:
        """The group's members in event time (the behaviour rules' view; the member rules and
        `fanout` know them in arrival order, streams.membership.group_state)."""
        return members_in_event_time(self.groups.get(group_id))

    def count(self, group_id: str) -> int:
        return len(self.members(group_id))

    def forget_idle(self, horizon: float) -> None:
        """Forget what the event-time view keeps of groups idle since before event time `horizon`
        (streams.membership.group_state.forget_idle); the arrival-order state stays."""
        for key, value in list(self.groups.items()):
            after = forget_idle(value, horizon, self.tolerance)
            if after is not value:
                self.groups[key] = after

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        if not isinstance(event, MessageEvent | MembershipEvent):
            return []
        ledger = ctx.ledger.group(key)
        findings = self._activity(event, key, ledger)
        if isinstance(event, MembershipEvent):
            findings.extend(self._membership(event, key, ledger, ctx))
        return findings

    def fanout(self, event: Event, key: str) -> dict[Partition, tuple[str, ...]]:
        """Member keys beyond streams.core.routing (which routes by `member_id` only), to be read before
        `detect`: a `group_dissolved` names no member, so the member index learns of it only if
        the event is also delivered to each current member; a `group_created` without `member_id`
        makes its creator (`actor_id`) a member."""
        if not isinstance(event, MembershipEvent):
            return {}
        if event.action == "group_dissolved":
            return {"member": tuple(sorted(member_accounts(self.groups.get(key))))}
        if event.action == "group_created" and not event.member_id and event.actor_id:
            return {"member": (event.actor_id,)}
        return {}

    def sweep(self, now: datetime, ctx: Context) -> Iterable[Finding]:
        return list(sweep_groups(now, ctx, self.groups, self.activity, self.sweep_policy))

    def _activity(
        self, event: MessageEvent | MembershipEvent, key: str, ledger: Group | None
    ) -> list[Finding]:
        """Record the activity; group.unregistered once per group (again only after it was
        registered in between). The event that raised it raises it again when redelivered, so an
        at-least-once redelivery cannot lose the violation (its id is the same)."""
        stored = self.stored_activity.get(key)
        before = merged_activity(stored, self.activity.recent.get(key))
        after = touch_activity(before, event)
        findings = []
        reason = unregistered_reason(ledger)
        if reason is None:
            after.pop("unregistered", None)
        elif not (isinstance(event, MembershipEvent) and event.action == "group_dissolved"):
            raised = after.get("unregistered")
            if raised is None or raised == event.event_id:
                after["unregistered"] = event.event_id
                findings.append(
                    Finding(
                        rule="group.unregistered",
                        event_ts=event.ts,
                        source_event_ids=(event.event_id,),
                        group_id=key,
                        evidence={"reason": reason},
                    )
                )
        if activity_moved(stored, after, self.resolution):
            self.activity[key] = after
        elif after != before:
            self.activity.recent[key] = after
        return findings

    def _membership(
        self, event: MembershipEvent, key: str, ledger: Group | None, ctx: Context
    ) -> list[Finding]:
        before = self.groups.get(key)
        account = member_account(event)
        employee = ctx.roster.by_account(account) if account else None
        lookup = Lookup(
            employee=employee,
            inviter=ctx.roster.by_account(event.actor_id) if event.actor_id else None,
            group=ledger,
        )
        findings = list(member_findings(event, account, lookup, self.member_policy)) if account else []
        owner = owner_account(event)
        if owner:
            owner_employee = employee if owner == account else ctx.roster.by_account(owner)
            found = owner_finding(event, owner, owner_employee, ledger)
            if found is not None:
                findings.append(found)
        if event.action in ("group_created", "group_renamed"):
            found = name_finding(event, ledger)
            if found is not None:
                findings.append(found)
        after = apply_membership(before, event, self.tolerance)
        if after != before:
            self.groups[key] = after
        return findings
