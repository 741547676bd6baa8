"""What qunguard knows about one chat group, as the JSON values of two group-partitioned maps.

`membership.groups` (changes on membership events only, so a busy group's messages never rewrite
its member list):

    {"members": {account: {"nick": str|None, "since": ts, "by": account|None, "event": event_id}},
     "known": bool,        # membership events have shown members (SPEC §6 required_missing)
     "owner": account|None, "name": str|None, "created": ts|None, "dissolved": ts|None}

`membership.activity` (small; touched by every event and by the sweep):

    {"first": ts,          # first observation: an event, or a sweep that met a ledger group
     "last_event": ts,     # absent when only a sweep has met the group
     "last_message": ts|None, "last_message_id": event_id|None,
     "unregistered": event_id,  # group.unregistered raised by this event (once per group)
     "zombie": ts,         # the quiet-since time a group.zombie was raised for
     "expired": ts,        # the expires_at a group.expired was raised for
     "missing": [employee_id, …]}  # member.required_missing raised and not yet resolved

Timestamps are RFC 3339 strings. Functions here return new values and never mutate their input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from topics.events import MembershipEvent, MessageEvent
from topics.timeutil import format_ts, parse_ts

GroupValue = dict[str, Any]
ActivityValue = dict[str, Any]

# Actions that name a current member in `member_id` (group_created: the creator).
JOINING = frozenset({"member_joined", "member_present", "group_created"})
LEAVING = frozenset({"member_left", "member_removed"})


def member_account(event: MembershipEvent) -> str | None:
    if event.action == "group_created":
        return event.member_id or event.actor_id
    return event.member_id


def owner_account(event: MembershipEvent) -> str | None:
    """The owner a group_created (the creator: actor_id) or owner_changed (member_id) event sets."""
    if event.action == "group_created":
        return event.actor_id or event.member_id
    if event.action == "owner_changed":
        return event.member_id
    return None


def apply_membership(value: GroupValue | None, event: MembershipEvent) -> GroupValue:
    """The group after `event`."""
    value = dict(value or {})
    members: dict[str, Any] = dict(value.get("members") or {})
    ts = format_ts(event.ts)
    account = member_account(event)
    action = event.action
    if action == "group_created":
        value.update(dissolved=None, created=ts, owner=owner_account(event), name=event.group_name)
    if action in JOINING and account:
        current = members.get(account)
        invited_by = event.actor_id if action == "member_joined" and event.actor_id != account else None
        if current is None:
            members[account] = {
                "nick": event.nickname,
                "since": ts,
                "by": invited_by,
                "event": event.event_id,
            }
        elif event.nickname is not None and current.get("nick") != event.nickname:
            members[account] = {**current, "nick": event.nickname}
        value["known"] = True
    elif action in LEAVING and account:
        members.pop(account, None)
    elif action == "nickname_changed" and account:
        current = members.get(account) or {"since": ts, "by": None, "event": event.event_id}
        members[account] = {**current, "nick": event.nickname}
    elif action == "owner_changed" and account:
        value["owner"] = account
        if account not in members:
            members[account] = {"nick": event.nickname, "since": ts, "by": None, "event": event.event_id}
    elif action == "group_renamed":
        value["name"] = event.group_name
    elif action == "group_dissolved":
        value["dissolved"] = ts
        members = {}
    value["members"] = members
    return value


def touch_activity(value: ActivityValue | None, event: MessageEvent | MembershipEvent) -> ActivityValue:
    """Activity after `event`; events may arrive slightly out of order, so times only move forward."""
    value = dict(value or {})
    ts = event.ts
    value["first"] = _earliest(value.get("first"), ts)
    value["last_event"] = _latest(value.get("last_event"), ts)
    if isinstance(event, MessageEvent):
        latest = _latest(value.get("last_message"), ts)
        if latest != value.get("last_message"):
            value["last_message"], value["last_message_id"] = latest, event.event_id
    return value


def quiet_since(activity: ActivityValue) -> datetime:
    """Since when the group has had no message: its last message, else its first observation."""
    return parse_ts(activity.get("last_message") or activity["first"])


def member_accounts(group: GroupValue | None) -> frozenset[str]:
    return frozenset((group or {}).get("members") or {})


def is_dissolved(group: GroupValue | None) -> bool:
    return bool((group or {}).get("dissolved"))


def _earliest(current: str | None, ts: datetime) -> str:
    return format_ts(ts) if current is None or ts < parse_ts(current) else current


def _latest(current: str | None, ts: datetime) -> str:
    return format_ts(ts) if current is None or ts > parse_ts(current) else current
