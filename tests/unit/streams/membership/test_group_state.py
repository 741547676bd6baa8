"""One group value, two views of its members (streams.membership.group_state): arrival order for the
member rules, event time for the behaviour rules; where they differ (docs/membership.md)."""

from __future__ import annotations

from datetime import timedelta

from streams.membership.group_state import (
    EVENT_TIME,
    GroupValue,
    apply_membership,
    forget_idle,
    is_dissolved,
    member_accounts,
    members_in_event_time,
)
from topics.events import MembershipEvent
from topics.timeutil import parse_ts

T0 = parse_ts("2026-09-01T10:00:00+08:00")
TOLERANCE = 60.0


def event(action: str, member: str | None, at: float, actor: str | None = None) -> MembershipEvent:
    return MembershipEvent(
        event_id=f"e-{action}-{member}-{at}",
        ts=T0 + timedelta(seconds=at),
        group_id="g-proj",
        action=action,
        member_id=member,
        actor_id=actor,
    )


def applied(*events: MembershipEvent, value: GroupValue | None = None) -> GroupValue:
    for e in events:
        value = apply_membership(value, e, TOLERANCE)
    assert value is not None
    return value


def both(value: GroupValue) -> tuple[frozenset[str], frozenset[str]]:
    return member_accounts(value), members_in_event_time(value)


def test_in_order_events_give_the_same_members_in_both_views() -> None:
    value = applied(
        event("member_joined", "wx_a", 0),
        event("member_present", "wx_b", 10),
        event("owner_changed", "wx_c", 20),
        event("member_left", "wx_a", 30),
        event("member_removed", "wx_b", 40),
    )
    assert both(value) == ({"wx_c"}, {"wx_c"})


def test_a_leave_and_a_join_out_of_order_count_in_event_time_only_for_the_behaviour_view() -> None:
    value = applied(event("member_joined", "wx_a", 0), event("member_left", "wx_a", -5))
    assert both(value) == (frozenset(), {"wx_a"})  # the leave is older than the join it follows
    value = applied(event("member_left", "wx_b", 0), event("member_joined", "wx_b", -5), value=value)
    assert both(value) == ({"wx_b"}, {"wx_a"})  # the join is older than the leave it follows


def test_an_event_later_than_the_tolerance_counts_in_arrival_order_only() -> None:
    value = applied(event("member_joined", "wx_a", 0), event("member_joined", "wx_b", -61))
    assert both(value) == ({"wx_a", "wx_b"}, {"wx_a"})


def test_a_dissolved_group_is_empty_and_an_older_join_does_not_refill_the_event_time_view() -> None:
    value = applied(event("member_joined", "wx_a", 0), event("group_dissolved", None, 10))
    assert is_dissolved(value) and both(value) == (frozenset(), frozenset())
    value = applied(event("member_joined", "wx_b", 5), value=value)
    assert both(value) == ({"wx_b"}, frozenset())


def test_a_creator_and_a_nickname_change_name_members_in_arrival_order_only() -> None:
    value = applied(event("group_created", None, 0, actor="wx_owner"), event("nickname_changed", "wx_n", 1))
    assert both(value) == ({"wx_owner", "wx_n"}, frozenset())
    assert EVENT_TIME not in value  # no event has touched the event-time view yet


def test_markers_are_kept_for_the_tolerance_only() -> None:
    value = applied(event("member_joined", "wx_a", 0), event("member_left", "wx_a", 10))
    assert value[EVENT_TIME]["x"] == {"wx_a": (T0 + timedelta(seconds=10)).timestamp()}
    value = applied(event("member_joined", "wx_b", 71), value=value)
    assert "x" not in value[EVENT_TIME]


def test_forget_idle_drops_an_empty_view_and_strips_the_markers_of_others() -> None:
    dissolved = applied(event("member_joined", "wx_a", 0), event("group_dissolved", None, 10))
    wm = dissolved[EVENT_TIME]["wm"]
    assert forget_idle(dissolved, wm + TOLERANCE, TOLERANCE) is dissolved  # not idle yet
    forgotten = forget_idle(dissolved, wm + TOLERANCE + 1, TOLERANCE)
    assert EVENT_TIME not in forgotten and is_dissolved(forgotten)  # the arrival-order state stays
    # forgotten, a late join counts again, as in a group never seen
    assert both(applied(event("member_joined", "wx_b", 5), value=forgotten)) == ({"wx_b"}, {"wx_b"})

    left = applied(event("member_joined", "wx_a", 0), event("member_joined", "wx_b", 1),
                   event("member_left", "wx_b", 2))  # fmt: skip
    stripped = forget_idle(left, left[EVENT_TIME]["wm"] + TOLERANCE + 1, TOLERANCE)
    assert stripped[EVENT_TIME] == {"wm": left[EVENT_TIME]["wm"], "m": left[EVENT_TIME]["m"]}
    assert forget_idle(stripped, stripped[EVENT_TIME]["wm"] + 10 * TOLERANCE, TOLERANCE) is stripped


def test_apply_never_mutates_its_input() -> None:
    value = applied(event("member_joined", "wx_a", 0))
    snapshot = repr(value)
    applied(event("member_left", "wx_a", 1), event("group_dissolved", None, 2), value=value)
    assert repr(value) == snapshot
