"""The reverse index member → groups (member-partitioned), and `member.departed` on roster changes.

Membership events reach this detector keyed by their `member_id` (streams.core.routing), roster
changes once per account of the employee. The value per account is

    {"groups": {group_id: event_id}}   # the membership event that made the account a member

so a `departed` roster change finds every group the employee is in and emits one
`member.departed` per group and account, citing the roster event and that membership event.

A dissolved group: `group_dissolved` carries no member, so it is routed to no member key and the
index cannot see it by itself. The index drops a group on `member_left` / `member_removed`, and
on a `group_dissolved` delivered to a member key (the runtime may fan a dissolution out to the
group's members, see docs/membership.md). Until then a dissolved group stays in the index.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.core.detector import Context, Detector, Finding
from streams.core.policy import Policy
from streams.core.state import StateSource
from streams.membership.group_state import JOINING, LEAVING
from topics.events import Event, MembershipEvent, RosterEvent
from topics.timeutil import format_ts

INDEX_MAP = "membership.member_groups"
# Actions after which `member_id` is (still) a member of the group.
MEMBER_NAMED = JOINING | {"nickname_changed", "owner_changed"}


class MemberIndexDetector(Detector):
    partition = "member"
    rules = ("member.departed",)

    def __init__(self, policy: Policy, state: StateSource) -> None:
        self.index = state.map(INDEX_MAP, "member")

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        if isinstance(event, MembershipEvent):
            self._update(event, key)
            return []
        if isinstance(event, RosterEvent) and event.change == "departed":
            return self._departed(event, key, ctx)
        return []

    def groups_of(self, account: str) -> dict[str, str]:
        return dict((self.index.get(account) or {}).get("groups") or {})

    def _update(self, event: MembershipEvent, account: str) -> None:
        groups = self.groups_of(account)
        if event.action in MEMBER_NAMED:
            if event.group_id in groups:
                return
            groups[event.group_id] = event.event_id
        elif event.action in LEAVING or event.action == "group_dissolved":
            if groups.pop(event.group_id, None) is None:
                return
        else:
            return
        if groups:
            self.index[account] = {"groups": groups}
        elif account in self.index:
            del self.index[account]

    def _departed(self, event: RosterEvent, account: str, ctx: Context) -> list[Finding]:
        employee = ctx.roster.employee(event.employee_id)
        left_at = employee.left_at if employee is not None else None
        return [
            Finding(
                rule="member.departed",
                event_ts=event.ts,
                source_event_ids=(event.event_id, membership_event),
                group_id=group_id,
                subject_id=account,
                evidence={"employee_id": event.employee_id, "via": "roster change"}
                | ({"left_at": format_ts(left_at)} if left_at else {}),
            )
            for group_id, membership_event in sorted(self.groups_of(account).items())
        ]
