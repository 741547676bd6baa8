"""chat.private_in_group and the membership it counts (streams.behaviour.members)."""

from __future__ import annotations

from datetime import timedelta

from streams.behaviour.members import GroupMembership
from tests.behaviour_world import T0, World, only

CROWD = [f"wx_m{n}" for n in range(8)] + ["wx_lina", "wx_zhaolei"]  # 10 members


def chat(world: World, pattern: str, start: float = 0, step: float = 30, group_id: str = "g-sales"):
    """Messages in order, one per letter: a → wx_lina, b → wx_zhaolei, c → wx_chenjing."""
    who = {"a": "wx_lina", "b": "wx_zhaolei", "c": "wx_chenjing"}
    return [world.message(who[ch], start + i * step, group_id) for i, ch in enumerate(pattern)]


def test_twelve_consecutive_messages_of_two_people_in_a_big_group() -> None:
    world = World()
    world.members("g-sales", CROWD)
    events = chat(world, "ab" * 6)  # 12 in 5.5 min
    (v,) = only(world.feed(*events), "chat.private_in_group")
    assert v.subject_id is None and v.group_id == "g-sales"
    assert v.source_event_ids == tuple(e.event_id for e in events)
    assert v.evidence["pair"] == ["wx_lina", "wx_zhaolei"]


def test_the_run_need_not_alternate() -> None:
    world = World()
    world.members("g-sales", CROWD)
    (v,) = only(world.feed(*chat(world, "aaaaaaaabbbb")), "chat.private_in_group")
    assert v.evidence["messages_each"] == {"wx_lina": 8, "wx_zhaolei": 4}


def test_near_misses() -> None:
    world = World()
    world.members("g-sales", CROWD[:9])  # 9 members
    assert not only(world.feed(*chat(world, "ab" * 6)), "chat.private_in_group")

    world = World()
    world.members("g-sales", CROWD)
    interrupted = chat(world, "ab" * 5 + "a" + "c" + "b")  # a third person after 11
    lopsided = chat(world, "aaaaaaaaabbb", start=1000)  # one side has 3
    slow = chat(world, "ab" * 6, start=2000, step=60)  # 11 minutes
    assert not only(world.feed(*interrupted, *lopsided, *slow), "chat.private_in_group")


def test_a_third_sender_starts_a_run_with_the_previous_sender() -> None:
    world = World()
    world.members("g-sales", CROWD)
    # a/b chat, then c answers b: the run is b…, c, and b and c go on
    found = world.feed(*chat(world, "abab" + "bcbcbcbcbcb"))
    (v,) = only(found, "chat.private_in_group")
    assert v.evidence["pair"] == ["wx_chenjing", "wx_zhaolei"] and v.evidence["count"] == 12


def test_once_per_run_then_a_cooldown() -> None:
    world = World()
    world.members("g-sales", CROWD)
    found = only(world.feed(*chat(world, "ab" * 15, step=10)), "chat.private_in_group")  # 30 in 5 min
    assert len(found) == 1


def test_membership_counts_joins_and_snapshots_minus_leaves() -> None:
    world = World()
    members: GroupMembership = world.membership
    world.members("g-sales", CROWD)
    world.feed(world.member("member_left", "wx_m0", -100), world.member("member_removed", "wx_m1", -90))
    world.feed(world.member("member_present", "wx_m2", -80))  # already known: no change
    world.feed(world.member("member_joined", "wx_new", -70, actor_id="wx_lina"))
    assert members.count("g-sales") == 9
    assert not only(world.feed(*chat(world, "ab" * 6)), "chat.private_in_group")
    # a leave older than the join that followed it (out of order) does not remove the member
    world.feed(world.member("member_joined", "wx_m0", -60), world.member("member_left", "wx_m0", -65))
    assert "wx_m0" in members.members("g-sales")
    world.feed(world.member("group_dissolved", None, -50))
    assert members.count("g-sales") == 0


def test_the_rules_read_the_one_group_map_whose_idle_dissolved_groups_the_sweep_forgets() -> None:
    world = World()
    world.members("g-sales", CROWD)
    assert "membership.groups" in world.state.maps and "behaviour.members" not in world.state.maps
    world.feed(world.member("group_dissolved", None, -50))
    world.sweep(T0 + timedelta(hours=2))  # the newest event is the dissolution: not idle yet
    assert world.membership.count("g-sales") == 0
    assert world.feed(world.member("member_joined", "wx_m0", -55)) == []  # older than the dissolution
    assert world.membership.count("g-sales") == 0
    world.feed(world.message("wx_lina", 4000, group_id="g-proj"))  # event time moves on elsewhere
    world.sweep(T0 + timedelta(hours=2))
    group = world.state.maps["membership.groups"]["g-sales"]
    assert "event_time" not in group and group["dissolved"]  # forgotten in event time only
    world.feed(world.member("member_joined", "wx_m0", -55))  # now as in a group never seen
    assert world.membership.members("g-sales") == {"wx_m0"}
