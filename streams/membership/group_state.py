"""What qunguard knows about one chat group, as the JSON values of two group-partitioned maps.

`membership.groups` is the one model of group membership: the member rules read it in arrival
order, the behaviour rules (streams.behaviour.members) in event time, and `apply_membership` keeps
both. It changes on membership events (so a busy group's messages never rewrite its member list)
and when the behaviour rules' sweep forgets an idle event-time view (`forget_idle`):

    {"members": {account: {"nick": str|None, "since": ts, "by": account|None, "event": event_id}},
     "known": bool,        # membership events have shown members (SPEC §6 required_missing)
     "owner": account|None, "name": str|None, "created": ts|None, "dissolved": ts|None,
     "event_time": {       # the members in event time, epoch seconds (absent until an event changes it)
         "wm": t,          # newest event time that changed this view
         "m": {account: <joined at>}, "x": {account: <left at>}, "d": <dissolved at>}}

The two views differ where docs/membership.md says ("Two views of one group"): the event-time
view decides between a join and a leave that arrive out of order by their times, ignores events
more than the out-of-order tolerance behind its watermark, keeps its departure (`x`) and
dissolution (`d`) markers only that long, and is forgotten or stripped of its markers once the
group is idle (`forget_idle`, the behaviour rules' sweep).

`membership.activity` (small; touched by every event and by the sweep):

    {"first": ts,          # first observation: an event, or a sweep that met a ledger group
     "last_event": ts,     # absent when only a sweep has met the group
     "last_message": ts|None, "last_message_id": event_id|None,
     "unregistered": event_id,  # group.unregistered raised by this event (once per group)
     "zombie": ts,         # the quiet-since time a group.zombie was raised for
     "expired": ts,        # the expires_at a group.expired was raised for
     "missing": [employee_id, …]}  # member.required_missing raised and not yet resolved

Every event moves `last_event` (and a message `last_message`), but the stored value is rewritten
only when something else changed or a time moved by at least a resolution (policy `[membership]
activity_resolution_seconds`, far below group.zombie's idle days): live, each write is a changelog
record. The exact newer times are kept in process (`merged_activity`), so a running worker and
replay judge exact times; after a restart the stored times are at most that resolution behind.

Timestamps are RFC 3339 strings. Functions here return new values and never mutate their input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams.behaviour.eventtime import utc_seconds
from topics.events import MembershipEvent, MessageEvent
from topics.timeutil import format_ts, parse_ts

GroupValue = dict[str, Any]
ActivityValue = dict[str, Any]

# Actions that name a current member in `member_id` (group_created: the creator).
JOINING = frozenset({"member_joined", "member_present", "group_created"})
LEAVING = frozenset({"member_left", "member_removed"})
EVENT_TIME = "event_time"  # the event-time view's field in a group value
# Actions whose `member_id` joins the event-time view (a group_created's creator does not).
EVENT_TIME_JOINING = frozenset({"member_joined", "member_present", "group_created", "owner_changed"})


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


def apply_membership(value: GroupValue | None, event: MembershipEvent, tolerance: float) -> GroupValue:
    """The group after `event`, in both views; `tolerance`: how far behind the event-time view's
    watermark an event may arrive and still count there."""
    after = _in_arrival_order(value, event)
    in_event_time = _in_event_time((value or {}).get(EVENT_TIME), event, tolerance)
    if in_event_time is not None:
        after[EVENT_TIME] = in_event_time
    return after


def _in_arrival_order(value: GroupValue | None, event: MembershipEvent) -> GroupValue:
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


def _in_event_time(
    view: dict[str, Any] | None, event: MembershipEvent, tolerance: float
) -> dict[str, Any] | None:
    """The event-time view after `event` (the same object when the event changes nothing)."""
    ts = utc_seconds(event.ts)
    wm = float(view["wm"]) if view else ts
    if ts < wm - tolerance:
        return view  # late beyond the tolerance
    members: dict[str, float] = view["m"] if view else {}
    gone: dict[str, float] = view.get("x", {}) if view else {}
    dissolved: float | None = view.get("d") if view else None
    account = event.member_id
    if event.action == "group_dissolved":
        members, gone, dissolved = {}, {}, max(ts, dissolved or ts)
    elif event.action in EVENT_TIME_JOINING and account:
        if account in members or ts < gone.get(account, float("-inf")):
            return view  # known already, or a join older than the leave that followed it
        if dissolved is not None and ts < dissolved:
            return view
        members = {**members, account: ts}
        gone = {k: v for k, v in gone.items() if k != account}
    elif event.action in LEAVING and account:
        if ts < members.get(account, float("-inf")):
            return view  # a leave older than the join that followed it
        members = {k: v for k, v in members.items() if k != account}
        gone = {**gone, account: ts}
    else:
        return view
    wm = max(wm, ts)
    horizon = wm - tolerance  # markers older than this can no longer decide anything
    pruned: dict[str, Any] = {"wm": wm, "m": members}
    gone = {k: v for k, v in gone.items() if v >= horizon}
    if gone:
        pruned["x"] = gone
    if dissolved is not None and dissolved >= horizon:
        pruned["d"] = dissolved
    return pruned


def forget_idle(value: GroupValue, horizon: float, tolerance: float) -> GroupValue:
    """`value` once its event-time view has been idle since before event time `horizon`: an empty
    view is forgotten (as if the group had never been seen) and a non-empty one drops its markers.
    The same object when nothing changes."""
    view = value.get(EVENT_TIME)
    if view is None or float(view["wm"]) >= horizon - tolerance:
        return value  # not idle: its own events prune it
    if not view["m"]:
        return {k: v for k, v in value.items() if k != EVENT_TIME}
    if "x" in view or "d" in view:
        return {**value, EVENT_TIME: {"wm": view["wm"], "m": view["m"]}}
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


TIME_FIELDS = ("last_event", "last_message", "last_message_id")


def activity_moved(stored: ActivityValue | None, after: ActivityValue, resolution: float) -> bool:
    """Whether `after` must be written over `stored`: anything but the times changed, a time was
    set for the first time, or moved by `resolution` seconds or more."""
    if stored is None:
        return True
    if any(after.get(k) != stored.get(k) for k in after.keys() | stored.keys() if k not in TIME_FIELDS):
        return True
    for name in ("last_event", "last_message"):
        old, new = stored.get(name), after.get(name)
        if new == old:
            continue
        if old is None or new is None:
            return True
        if (parse_ts(new) - parse_ts(old)).total_seconds() >= resolution:
            return True
    return False


def merged_activity(stored: ActivityValue | None, recent: ActivityValue | None) -> ActivityValue | None:
    """`stored` with the later times of `recent` (not yet written); never mutates either."""
    if stored is None or recent is None:
        return stored
    value = dict(stored)
    if _later(recent.get("last_event"), stored.get("last_event")):
        value["last_event"] = recent["last_event"]
    if _later(recent.get("last_message"), stored.get("last_message")):
        value["last_message"] = recent["last_message"]
        value["last_message_id"] = recent.get("last_message_id")
    return value


def _later(a: str | None, b: str | None) -> bool:
    return a is not None and a != b and (b is None or parse_ts(a) > parse_ts(b))


def quiet_since(activity: ActivityValue) -> datetime:
    """Since when the group has had no message: its last message, else its first observation."""
    return parse_ts(activity.get("last_message") or activity["first"])


def member_accounts(group: GroupValue | None) -> frozenset[str]:
    """The members in arrival order (what the member rules know)."""
    return frozenset((group or {}).get("members") or {})


def members_in_event_time(group: GroupValue | None) -> frozenset[str]:
    """The members in event-time order (what the behaviour rules know)."""
    return frozenset(((group or {}).get(EVENT_TIME) or {}).get("m") or {})


def is_dissolved(group: GroupValue | None) -> bool:
    return bool((group or {}).get("dissolved"))


def _earliest(current: str | None, ts: datetime) -> str:
    return format_ts(ts) if current is None or ts < parse_ts(current) else current


def _latest(current: str | None, ts: datetime) -> str:
    return format_ts(ts) if current is None or ts > parse_ts(current) else current
