"""member.* and group.* on membership events and roster changes (SPEC §4), through the rule engine."""

from __future__ import annotations

from tests.membership_world import World, group, rules_of

NICE = {"wx_lina": "销售部-李娜", "wx_zhangwei": "销售部-张伟", "wx_wang": "销售部-王经理"}


def join(world: World, group_id: str, member: str, actor: str | None = None, **kw):
    return world.feed(world.member("member_joined", group_id, member, actor=actor,
                                   nickname=kw.pop("nickname", NICE.get(member)), **kw))  # fmt: skip


def test_outsider_invited_by_an_employee_blames_the_inviter() -> None:
    world = World()
    found = join(world, "g-sales", "wx_client", actor="wx_zhangwei", nickname="华鑫-陈总")
    assert rules_of(found) == [("member.invited_outsider", "wx_zhangwei"), ("member.outsider", "wx_client")]
    invited = next(v for v in found if v.rule == "member.invited_outsider")
    assert invited.employee_id == "E4" and invited.evidence["invited"] == "wx_client"
    assert next(v for v in found if v.rule == "member.outsider").employee_id is None


def test_outsider_without_invitation() -> None:
    world = World()
    assert rules_of(join(world, "g-proj", "wx_qr", actor=None)) == [("member.outsider", "wx_qr")]
    assert rules_of(join(world, "g-proj", "wx_self", actor="wx_self")) == [("member.outsider", "wx_self")]
    # an outsider inviting an outsider: no employee to blame
    assert rules_of(join(world, "g-proj", "wx_friend", actor="wx_stranger")) == [
        ("member.outsider", "wx_friend")
    ]
    present = world.member("member_present", "g-proj", "wx_crew", actor="wx_zhangwei")
    assert rules_of(world.feed(present)) == [("member.outsider", "wx_crew")]


def test_departed_employee_joining_is_departed_not_outsider() -> None:
    world = World()
    found = join(world, "g-sales", "wx_pantao", actor="wx_lina", nickname="销售部-潘涛")
    assert rules_of(found) == [("member.departed", "wx_pantao")]
    assert found[0].employee_id == "E7" and found[0].evidence["left_at"].startswith("2026-05-31")
    present = world.member("member_present", "g-proj", "wx_tiantian", nickname="乱写的")
    assert rules_of(world.feed(present)) == [("member.departed", "wx_tiantian")]  # no nickname rule either


def test_roster_departure_reports_every_group_of_every_account() -> None:
    world = World()
    world.feed(world.member("member_present", "g-all", "wx_dongming", nickname="生产部-董明", event_id="e-a"))
    world.feed(world.member("member_present", "g-proj", "wx_dm_2", nickname="生产部-董明", event_id="e-b"))
    world.feed(world.member("member_present", "g-fun", "wx_dongming", nickname="生产部-董明", event_id="e-c"))
    world.feed(world.member("member_left", "g-fun", "wx_dongming", actor="wx_dongming"))  # interest: fine
    departure = world.departed("E8")
    found = world.feed(departure)
    got = sorted((v.group_id, v.subject_id, v.source_event_ids) for v in found)
    assert got == [
        ("g-all", "wx_dongming", (departure.event_id, "e-a")),
        ("g-proj", "wx_dm_2", (departure.event_id, "e-b")),
    ]
    assert {v.rule for v in found} == {"member.departed"} and {v.employee_id for v in found} == {"E8"}
    # leaving after the departure is not an unauthorized leave
    assert world.feed(world.member("member_left", "g-all", "wx_dongming", actor="wx_dongming")) == []


def test_roster_departure_of_someone_in_no_group_is_silent() -> None:
    world = World()
    assert world.feed(world.departed("E5")) == []


def test_removed_member_is_not_reported_on_departure() -> None:
    world = World()
    join(world, "g-sales", "wx_zhangwei", actor="wx_wang")
    world.feed(world.member("member_removed", "g-sales", "wx_zhangwei", actor="wx_wang"))
    assert world.feed(world.departed("E4")) == []


def test_dissolution_fanned_out_to_members_drops_the_group_from_the_index() -> None:
    world = World()
    join(world, "g-proj", "wx_zhangwei", actor="wx_wang")
    join(world, "g-proj", "wx_lina", actor="wx_wang")
    join(world, "g-sales", "wx_zhangwei", actor="wx_wang")
    groups, index = world.detectors
    dissolved = world.member("group_dissolved", "g-proj", None, actor="wx_wang")
    fanout = groups.fanout(dissolved, "g-proj")  # read before the group detector clears the members
    assert fanout == {"member": ("wx_lina", "wx_zhangwei")}
    world.feed(dissolved)
    for account in fanout["member"]:  # what the runtime does with the extra routing keys
        world.engine.process_keyed(dissolved, "member", account)
    assert index.groups_of("wx_zhangwei") == {"g-sales": "e-0003"} and index.groups_of("wx_lina") == {}
    assert [v.group_id for v in world.feed(world.departed("E4"))] == ["g-sales"]
    assert groups.fanout(world.message("g-sales", "wx_lina", "2026-09-02T10:00:00+08:00"), "g-sales") == {}


def test_creator_without_member_id_reaches_the_index_through_the_fanout() -> None:
    world = World()
    groups, index = world.detectors
    created = world.member("group_created", "g-proj", None, actor="wx_zhangwei", name="CRM项目组")
    assert groups.fanout(created, "g-proj") == {"member": ("wx_zhangwei",)}
    world.feed(created)
    world.engine.process_keyed(created, "member", "wx_zhangwei")
    assert index.groups_of("wx_zhangwei") == {"g-proj": created.event_id}
    named = world.member("group_created", "g-fun", "wx_lina", actor="wx_lina", name="羽毛球")
    assert groups.fanout(named, "g-fun") == {}  # routing already delivers it to wx_lina


def test_a_dissolved_group_leaves_its_members_index_entries() -> None:
    # group_dissolved names no member: the engine fans it out to the members the group state knows
    world = World()
    join(world, "g-proj", "wx_zhangwei", actor="wx_wang")
    world.feed(world.member("group_dissolved", "g-proj", None, actor="wx_wang"))
    assert world.detectors[1].groups_of("wx_zhangwei") == {}


def test_unauthorized_leave_only_for_active_employees_leaving_work_groups_by_themselves() -> None:
    world = World()
    for group_id in ("g-all", "g-sales", "g-proj", "g-fun"):
        join(world, group_id, "wx_zhangwei", actor="wx_wang")
    left = [world.feed(world.member("member_left", g, "wx_zhangwei", actor="wx_zhangwei"))
            for g in ("g-all", "g-sales", "g-proj", "g-fun")]  # fmt: skip
    assert [rules_of(found) for found in left] == [[("member.unauthorized_leave", "wx_zhangwei")]] * 3 + [[]]
    join(world, "g-sales", "wx_lina", actor="wx_wang")
    assert world.feed(world.member("member_removed", "g-sales", "wx_lina", actor="wx_wang")) == []
    assert world.feed(world.member("member_left", "g-sales", "wx_nobody", actor="wx_nobody")) == []


def test_nickname_checked_on_join_present_and_change() -> None:
    world = World()
    assert rules_of(join(world, "g-sales", "wx_lina", actor="wx_wang", nickname="Ryan")) == [
        ("member.nickname", "wx_lina")
    ]
    assert join(world, "g-sales", "wx_zhangwei", actor="wx_wang", nickname="销售部 张伟") == []
    present = world.member("member_present", "g-sales", "wx_wang_work", nickname="王经理")
    found = world.feed(present)
    assert rules_of(found) == [("member.nickname", "wx_wang_work")]
    assert found[0].evidence == {"nickname": "王经理", "expected": "销售部-王经理"}
    changed = world.member("nickname_changed", "g-sales", "wx_lina", actor="wx_lina", nickname="销售部-李娜")
    assert world.feed(changed) == []
    changed = world.member("nickname_changed", "g-sales", "wx_lina", actor="wx_lina", nickname="娜娜🌸")
    assert rules_of(world.feed(changed)) == [("member.nickname", "wx_lina")]
    # a removal or a departure carries a nickname too, but is not a naming event
    assert (
        world.feed(world.member("member_removed", "g-sales", "wx_lina", actor="wx_wang", nickname="x")) == []
    )
    # an outsider has no roster record to compare with
    assert rules_of(join(world, "g-proj", "wx_guest", nickname="Guest")) == [("member.outsider", "wx_guest")]


def test_wrong_department_only_in_department_groups() -> None:
    world = World()
    assert rules_of(join(world, "g-sales", "wx_sunhao", actor="wx_wang", nickname="财务部-孙浩")) == [
        ("member.wrong_department", "wx_sunhao")
    ]
    assert join(world, "g-proj", "wx_sunhao", actor="wx_wang", nickname="财务部-孙浩") == []
    assert join(world, "g-sales", "wx_lina", actor="wx_wang") == []
    present = world.member("member_present", "g-sales", "wx_boss", nickname="总经办-周总")
    assert rules_of(world.feed(present)) == [("member.wrong_department", "wx_boss")]


def test_wrong_department_exempt_ranks_are_policy(tmp_path) -> None:
    from streams.core.policy import DEFAULT_POLICY, load_policy

    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "exempt_ranks = []", 'exempt_ranks = ["executive"]'
    )
    (tmp_path / "policy.toml").write_text(text, encoding="utf-8")
    world = World(load_policy(tmp_path / "policy.toml"))
    assert world.feed(world.member("member_present", "g-sales", "wx_boss", nickname="总经办-周总")) == []


def test_unregistered_once_per_group_on_any_event() -> None:
    world = World()
    first = world.feed(world.message("g-vip", "wx_lina", "2026-09-01T10:00:00+08:00"))
    assert rules_of(first) == [("group.unregistered", None)]
    assert first[0].evidence == {"reason": "absent from the ledger"}
    assert world.feed(world.message("g-vip", "wx_lina", "2026-09-01T10:05:00+08:00")) == []
    assert rules_of(join(world, "g-vip", "wx_zhangwei", actor="wx_lina")) == []
    found = world.feed(world.member("member_present", "g-unapproved", "wx_lina", nickname="销售部-李娜"))
    assert rules_of(found) == [("group.unregistered", None)]
    assert found[0].evidence == {"reason": "not approved in the ledger"}
    assert world.feed(world.message("g-unapproved", "wx_lina", "2026-09-02T10:00:00+08:00")) == []
    assert world.feed(world.message("g-sales", "wx_lina", "2026-09-02T10:00:00+08:00")) == []


def test_unregistered_redelivery_raises_the_same_violation_again() -> None:
    world = World()
    event = world.message("g-vip", "wx_lina", "2026-09-01T10:00:00+08:00")
    first, again = world.feed(event), world.feed(event)
    assert [v.violation_id for v in first] == [v.violation_id for v in again]


def test_owner_must_be_ledger_owner_or_admin() -> None:
    world = World()
    created = world.member("group_created", "g-proj", "wx_zhangwei", actor="wx_zhangwei",
                           nickname="销售部-张伟", name="CRM项目组")  # fmt: skip
    found = world.feed(created)
    assert rules_of(found) == [("group.owner_invalid", None)]
    assert found[0].evidence["owner"] == "wx_zhangwei" and found[0].evidence["ledger_owner_id"] == "E2"
    to_owner = world.member(
        "owner_changed", "g-proj", "wx_wang_work", actor="wx_zhangwei", nickname="销售部-王经理"
    )
    assert world.feed(to_owner) == []  # the ledger owner, through a second account
    to_admin = world.member("owner_changed", "g-proj", "wx_lina", actor="wx_wang", nickname="销售部-李娜")
    assert world.feed(to_admin) == []
    to_outsider = world.member("owner_changed", "g-proj", "wx_client", actor="wx_lina")
    assert rules_of(world.feed(to_outsider)) == [("group.owner_invalid", None)]
    # an unregistered group has no ledger owner to compare with
    other = world.member("group_created", "g-vip", "wx_zhangwei", actor="wx_zhangwei", name="VIP")
    assert rules_of(world.feed(other)) == [("group.unregistered", None)]


def test_group_name_once_per_naming_event() -> None:
    world = World()
    created = world.member("group_created", "g-proj", "wx_wang", actor="wx_wang", nickname="销售部-王经理",
                           name="CRM项目组")  # fmt: skip
    assert world.feed(created) == []
    renamed = world.member("group_renamed", "g-proj", None, actor="wx_lina", name="CRM冲刺群🔥")
    found = world.feed(renamed)
    assert rules_of(found) == [("group.name", None)]
    assert found[0].evidence["reasons"] == ["differs from the ledger name"]
    assert world.feed(world.member("group_renamed", "g-proj", None, actor="wx_lina", name="CRM项目组")) == []
    assert (
        world.feed(world.member("group_renamed", "g-proj", None, actor="wx_lina", name="ＣＲＭ项目组")) == []
    )
    assert len(world.feed(world.member("group_renamed", "g-proj", None, actor="wx_lina", name="CRM群"))) == 1


def test_classified_group_must_be_named_by_a_code() -> None:
    world = World()
    ok = world.member(
        "group_created", "g-px", "wx_wang", actor="wx_wang", nickname="销售部-王经理", name="PX-01"
    )
    assert world.feed(ok) == []
    found = world.feed(world.member("group_renamed", "g-px", None, actor="wx_lina", name="PX-01芯片"))
    assert rules_of(found) == [("group.name", None)]
    assert len(found[0].evidence["reasons"]) == 2
    codes = World(groups=[group("g-px", "PX-01项目", "project", classified=True)])  # a CJK ledger name
    found = codes.feed(codes.member("group_renamed", "g-px", None, actor="wx_lina", name="PX-01项目"))
    assert found[0].evidence["reasons"] == [
        "a classified group must be named by a code, without CJK characters"
    ]


def test_redelivered_membership_event_changes_nothing() -> None:
    world = World()
    event = world.member("member_joined", "g-sales", "wx_client", actor="wx_zhangwei")
    first = world.feed(event)
    snapshot = {name: dict(m) for name, m in world.state.maps.items()}
    again = world.feed(event)
    assert [v.violation_id for v in first] == [v.violation_id for v in again]
    assert {name: dict(m) for name, m in world.state.maps.items()} == snapshot


def test_state_is_json_and_bounded() -> None:
    import orjson

    world = World()
    join(world, "g-sales", "wx_lina", actor="wx_wang")
    world.feed(world.message("g-sales", "wx_lina", "2026-09-01T11:00:00+08:00"))
    world.feed(world.member("member_left", "g-sales", "wx_lina", actor="wx_lina"))
    for name, values in world.state.maps.items():
        for value in values.values():
            assert orjson.loads(orjson.dumps(value)) == value, name
    assert "wx_lina" not in world.state.maps["membership.member_groups"]  # emptied keys are deleted


def test_group_created_owner_is_the_creator() -> None:
    world = World()
    # created by the ledger admin on behalf of a staff member who is named as the first member
    created = world.member("group_created", "g-proj", "wx_zhangwei", actor="wx_lina", nickname="销售部-张伟",
                           name="CRM项目组")  # fmt: skip
    assert world.feed(created) == []
    assert world.state.maps["membership.groups"]["g-proj"]["owner"] == "wx_lina"
    assert set(world.state.maps["membership.groups"]["g-proj"]["members"]) == {"wx_zhangwei"}
