"""Which partition key(s) an event is routed to, for each partitioning of detector state.

Input topics are keyed by group (SPEC §1), so "group" detectors run where the event arrives.
Live, the worker forwards each event to an internal topic per other partitioning, keyed by the
keys below; replay calls the same function and runs every detector in-process.
"""

from __future__ import annotations

from streams.core.directory import RosterView
from streams.core.state import Partition
from topics.events import Event, MembershipEvent, MessageEvent, RosterEvent


def route(event: Event, partition: Partition, roster: RosterView) -> tuple[str, ...]:
    if partition == "group":
        group_id = getattr(event, "group_id", None)
        return (group_id,) if group_id else ()
    if partition == "sender":
        if isinstance(event, MessageEvent) and event.sender_id:
            return (event.sender_id,)
        return ()
    if partition == "employee":  # the escalation ladder is fed violations, not events
        return ()
    # "member": membership events by the member, roster changes by each account of the employee
    if isinstance(event, MembershipEvent):
        return (event.member_id,) if event.member_id else ()
    if isinstance(event, RosterEvent):
        return roster_accounts(event, roster)
    return ()


def roster_accounts(event: RosterEvent, roster: RosterView) -> tuple[str, ...]:
    """Accounts a roster change concerns: the record's, else the roster's current ones."""
    accounts: list[str] = []
    if event.record is not None:
        accounts.extend(str(a) for a in event.record.get("accounts", ()) or ())
    employee = roster.employee(event.employee_id)
    if employee is not None:
        accounts.extend(employee.accounts)
    return tuple(dict.fromkeys(accounts))
