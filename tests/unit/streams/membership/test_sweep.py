"""The membership sweep: group.zombie, group.expired, member.required_missing (SPEC §4, §6)."""

from __future__ import annotations

from streams.core.policy import load_policy
from streams.membership.detector import MembershipDetector
from tests.membership_world import World, rules_of
from topics.timeutil import parse_ts

LEADERS_PRESENT = {"wx_boss": "总经办-周总", "wx_wang_work": "销售部-王经理", "wx_lina": "销售部-李娜"}


def company_with(world: World, accounts: dict[str, str], ts: str = "2026-09-01T09:00:00+08:00") -> None:
    for account, nickname in accounts.items():
        world.feed(world.member("member_present", "g-all", account, ts=ts, nickname=nickname))


def test_required_missing_per_active_leader_once() -> None:
    world = World()
    company_with(world, LEADERS_PRESENT)
    found = world.sweep("2026-09-02T10:00:00+08:00")
    # 林峰 (team_lead) is missing; 王经理 is present through his second account; 田甜 has departed;
    # staff are not required
    assert rules_of(found) == [("member.required_missing", "wx_linfeng")]
    assert found[0].group_id == "g-all" and found[0].employee_id == "E6"
    assert world.sweep("2026-09-03T10:00:00+08:00") == []  # once per condition
    world.feed(world.member("member_joined", "g-all", "wx_linfeng", actor="wx_boss", nickname="研发部-林峰",
                            ts="2026-09-03T11:00:00+08:00"))  # fmt: skip
    assert world.sweep("2026-09-04T10:00:00+08:00") == []
    world.feed(world.member("member_left", "g-all", "wx_linfeng", ts="2026-09-05T11:00:00+08:00"))
    assert rules_of(world.sweep("2026-09-06T10:00:00+08:00")) == [("member.required_missing", "wx_linfeng")]


def test_required_missing_needs_shown_membership() -> None:
    world = World()
    world.feed(world.message("g-all", "wx_boss", "2026-09-01T10:00:00+08:00"))  # messages show no membership
    assert world.sweep("2026-09-02T10:00:00+08:00") == []


def test_replay_sweep_judges_only_groups_seen_in_events() -> None:
    world = World()
    world.feed(world.message("g-sales", "wx_lina", "2026-06-01T10:00:00+08:00"))
    found = world.sweep("2026-12-01T10:00:00+08:00")
    # g-old expired and every other ledger group is quiet, but none of them appeared in the events
    assert rules_of(found) == [("group.zombie", None)] and found[0].group_id == "g-sales"


def test_zombie_after_idle_days_and_again_only_after_new_activity() -> None:
    world = World(groups=[])  # repeated sweeps would also meet and judge every ledger group
    sweep = world.sweep
    world.feed(world.message("g-proj", "wx_lina", "2026-08-01T10:00:00+08:00", event_id="m-last"))
    assert sweep("2026-08-31T09:59:59+08:00") == []
    found = sweep("2026-08-31T10:00:00+08:00")
    assert rules_of(found) == [("group.zombie", None)]
    assert found[0].source_event_ids == ("m-last",) and found[0].evidence["idle_days"] == 30.0
    assert sweep("2026-09-15T10:00:00+08:00") == []
    world.feed(world.message("g-proj", "wx_lina", "2026-09-16T10:00:00+08:00", event_id="m-back"))
    assert sweep("2026-10-15T10:00:00+08:00") == []
    again = sweep("2026-10-16T10:00:00+08:00")
    assert rules_of(again) == [("group.zombie", None)] and again[0].source_event_ids == ("m-back",)
    assert again[0].violation_id != found[0].violation_id


def test_zombie_counts_from_first_observation_without_messages() -> None:
    world = World()
    world.feed(world.member("member_present", "g-proj", "wx_lina", ts="2026-08-01T10:00:00+08:00",
                            nickname="销售部-李娜"))  # fmt: skip
    world.feed(world.member("member_joined", "g-proj", "wx_zhangwei", ts="2026-08-20T10:00:00+08:00",
                            actor="wx_lina", nickname="销售部-张伟"))  # fmt: skip
    assert rules_of(world.sweep("2026-09-01T10:00:00+08:00")) == [("group.zombie", None)]


def test_out_of_order_message_does_not_move_activity_back() -> None:
    world = World()
    world.feed(world.message("g-proj", "wx_lina", "2026-09-10T10:00:00+08:00"))
    world.feed(world.message("g-proj", "wx_lina", "2026-08-01T10:00:00+08:00"))
    assert world.sweep("2026-10-01T10:00:00+08:00") == []


def test_expired_once_and_not_when_dissolved() -> None:
    world = World(groups=[g for g in World().ledger.groups() if g.group_id == "g-old"])
    world.feed(world.message("g-old", "wx_lina", "2026-09-29T10:00:00+08:00"))
    assert world.sweep("2026-09-30T17:59:59+08:00") == []
    found = world.sweep("2026-09-30T18:00:00+08:00")
    assert rules_of(found) == [("group.expired", None)] and found[0].evidence["expires_at"].startswith(
        "2026-09-30"
    )
    assert world.sweep("2026-10-01T10:00:00+08:00") == []

    dissolved = World()
    dissolved.feed(dissolved.message("g-old", "wx_lina", "2026-09-29T10:00:00+08:00"))
    dissolved.feed(
        dissolved.member("group_dissolved", "g-old", None, ts="2026-10-02T10:00:00+08:00", actor="wx_wang")
    )
    assert dissolved.sweep("2026-12-01T10:00:00+08:00") == []  # neither expired nor zombie


def test_live_sweep_meets_unseen_ledger_groups_then_judges_them() -> None:
    world = World()
    assert world.sweep("2026-10-01T10:00:00+08:00") == []  # first meeting: activity unknown
    found = world.sweep("2026-10-02T10:00:00+08:00")
    assert rules_of(found) == [("group.expired", None)] and found[0].group_id == "g-old"
    later = world.sweep("2026-10-31T10:00:00+08:00")
    assert len(later) == len(world.ledger) and {v.rule for v in later} == {"group.zombie"}


def test_live_sweep_skips_ledger_groups_it_does_not_own() -> None:
    world = World()
    mine = {"g-old"}
    world.engine.sweep(parse_ts("2026-10-01T10:00:00+08:00"), owns=mine.__contains__)
    assert set(world.state.maps["membership.activity"]) == mine


def test_sweep_interval_comes_from_the_policy(tmp_path) -> None:
    from streams.core.policy import DEFAULT_POLICY
    from streams.core.state import MemoryState

    assert MembershipDetector(load_policy(), MemoryState()).sweep_interval == 86400
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace("sweep_interval_seconds = 86400",
                                                               "sweep_interval_seconds = 60")  # fmt: skip
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    assert MembershipDetector(load_policy(tmp_path / "p.toml"), MemoryState()).sweep_interval == 60


def test_activity_is_stored_again_only_when_it_moved_a_resolution_yet_zombie_uses_exact_times() -> None:
    world = World(groups=[])
    stored = world.state.maps["membership.activity"]
    world.feed(world.message("g-proj", "wx_lina", "2026-08-01T10:00:00+08:00", event_id="m-1"))
    first = stored["g-proj"]
    world.feed(world.message("g-proj", "wx_lina", "2026-08-01T10:30:00+08:00", event_id="m-2"))
    assert stored["g-proj"] is first  # 30 min < the 1 h resolution: not rewritten
    # the sweep judges the exact last message all the same
    assert world.sweep("2026-08-31T10:29:59+08:00") == []
    found = world.sweep("2026-08-31T10:30:00+08:00")
    assert rules_of(found) == [("group.zombie", None)] and found[0].source_event_ids == ("m-2",)
    world.feed(world.message("g-proj", "wx_lina", "2026-09-16T10:00:00+08:00", event_id="m-3"))
    assert stored["g-proj"]["last_message_id"] == "m-3"  # moved by more than the resolution
