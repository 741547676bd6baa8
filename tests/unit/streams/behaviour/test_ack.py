"""ack.missing: who must acknowledge, what acknowledges, and when the deadline fires."""

from __future__ import annotations

from datetime import timedelta

from tests.behaviour_world import T0, World, only, policy_with

# in g-sales: a manager with two accounts, two team leads, a departed team lead, staff, an executive
MEMBERS = ["wx_wang", "wx_wang_work", "wx_lina", "wx_zhaolei", "wx_tiantian", "wx_zhangwei", "wx_boss"]
HOUR = 3600


def world_with_notice(**kw):
    world = World(**kw)
    world.members("g-sales", MEMBERS)
    notice = world.message("wx_chenjing", 0, text="【通知】周五前提交季度报表")
    assert world.feed(notice) == []
    return world, notice


def missing(found) -> list[tuple[str | None, tuple[str, ...]]]:
    return sorted((v.subject_id, v.source_event_ids) for v in only(found, "ack.missing"))


def test_who_must_acknowledge_and_the_sweep_at_the_deadline() -> None:
    world, notice = world_with_notice()
    # nobody acknowledges: the manager (once, for both accounts) and the two active team leads
    assert world.sweep(T0 + timedelta(hours=3, minutes=59)) == []
    found = world.sweep(T0 + timedelta(hours=4))
    assert missing(found) == [(a, (notice.event_id,)) for a in ["wx_lina", "wx_wang", "wx_zhaolei"]]
    v = found[0]
    assert v.group_id == "g-sales" and v.event_ts == (T0 + timedelta(hours=4)).isoformat()
    assert world.sweep(T0 + timedelta(hours=9)) == []  # once per notice and member
    assert (
        world.state.maps["ack.missing"].get("g-sales") is None
        or not world.state.maps["ack.missing"]["g-sales"]["n"]
    )


def test_reply_or_ack_words_acknowledge_before_the_deadline() -> None:
    world, notice = world_with_notice()
    world.feed(
        world.message("wx_lina", 600, reply_to=notice.event_id, text="好的"),
        world.message("wx_wang_work", 1200, text="已阅,按时提交"),  # the manager's second account
        world.message("wx_zhaolei", 1800, text="今天下午开会吗"),  # unrelated
    )
    assert missing(world.sweep(T0 + timedelta(hours=5))) == [("wx_zhaolei", (notice.event_id,))]


def test_an_ack_after_the_deadline_does_not_count_nor_cancel() -> None:
    world, _notice = world_with_notice()
    late = world.message("wx_lina", 4 * HOUR + 1, text="收到")
    found = world.feed(late, world.message("wx_zhangwei", 4 * HOUR + 120))  # 120 s ≥ the tolerance
    assert [s for s, _ in missing(found)] == ["wx_lina", "wx_wang", "wx_zhaolei"]
    assert world.feed(world.message("wx_zhaolei", 4 * HOUR + 130, text="收到")) == []


def test_deadlines_fire_as_event_time_passes_them() -> None:
    world, _notice = world_with_notice()
    world.feed(world.message("wx_lina", 60, text="收到"), world.message("wx_wang", 70, text="已读"))
    # an event just past the deadline is not enough: an ack up to the deadline may still arrive
    assert world.feed(world.message("wx_zhangwei", 4 * HOUR + 30)) == []
    assert world.feed(world.message("wx_zhaolei", 4 * HOUR - 5, text="收到")) == []  # late but in time
    world2, _notice2 = world_with_notice()
    found = world2.feed(world2.member("member_present", "wx_m9", 4 * HOUR + 60))  # any event of the group
    assert [s for s, _ in missing(found)] == ["wx_lina", "wx_wang", "wx_zhaolei"]
    assert world2.sweep(T0 + timedelta(hours=6)) == []


def test_the_sender_executives_staff_and_members_who_are_not_there_are_exempt() -> None:
    world = World()
    world.members("g-sales", ["wx_lina", "wx_zhaolei", "wx_boss", "wx_zhangwei"])
    world.feed(world.member("member_left", "wx_zhaolei", -60))
    notice = world.message("wx_lina", 0, msg_type="notice", text="下周一全员培训")
    world.feed(notice, world.member("member_joined", "wx_wang", 60, actor_id="wx_lina"))
    assert world.sweep(T0 + timedelta(hours=4)) == []  # only wx_lina's own notice; wx_wang joined after


def test_notice_forms() -> None:
    world = World()
    world.members("g-sales", ["wx_lina"])
    forms = [
        world.message("wx_zhangwei", 0, msg_type="notice", text="放假安排"),
        world.message("wx_zhangwei", 10, text="  【公告】新的报销流程"),
        world.message("wx_zhangwei", 20, text="关于【通知】的格式"),  # not at the start: not a notice
    ]
    world.feed(*forms)
    found = world.sweep(T0 + timedelta(hours=5))
    assert sorted(v.source_event_ids[0] for v in found) == [forms[0].event_id, forms[1].event_id]


def test_an_ack_that_arrives_before_its_notice_counts() -> None:
    world = World()
    world.members("g-sales", ["wx_lina", "wx_zhaolei"])
    notice = world.message("wx_zhangwei", 0, text="【通知】明天九点开会")
    ack = world.message("wx_lina", 20, text="收到")
    world.feed(ack, notice)  # 20 s out of order, within the tolerance
    assert missing(world.sweep(T0 + timedelta(hours=4))) == [("wx_zhaolei", (notice.event_id,))]


def test_a_redelivered_notice_or_ack_changes_nothing() -> None:
    world, notice = world_with_notice()
    ack = world.message("wx_lina", 30, text="收到")
    world.feed(ack, notice, ack)
    found = world.feed(world.message("wx_zhangwei", 4 * HOUR + 61))
    assert [s for s, _ in missing(found)] == ["wx_wang", "wx_zhaolei"]
    assert world.feed(notice) == []  # redelivered after it fired: late, ignored
    assert world.sweep(T0 + timedelta(hours=8)) == []


def test_state_is_dropped_once_settled() -> None:
    world, _notice = world_with_notice()
    world.feed(
        *(world.message(a, 60 + i, text="收到") for i, a in enumerate(["wx_lina", "wx_wang", "wx_zhaolei"]))
    )
    assert world.state.maps["ack.missing"]["g-sales"]["n"] == {}
    world.feed(world.message("wx_zhangwei", 400))  # past the tolerance: only the watermark is left
    value = world.state.maps["ack.missing"]["g-sales"]
    assert value == {"wm": value["wm"], "n": {}, "done": {}, "acks": []}
    world.feed(world.message("wx_zhangwei", 2 * HOUR, group_id="g-proj"))
    world.sweep(T0 + timedelta(hours=2))  # idle for longer than idle_expiry_seconds: dropped
    assert "g-sales" not in world.state.maps["ack.missing"]


def test_deadline_from_the_policy(tmp_path) -> None:
    policy = policy_with(tmp_path, '[rules."ack.missing"]', "deadline_hours = 4", "deadline_hours = 0.5")
    world, _notice = world_with_notice(policy=policy)
    assert [s for s, _ in missing(world.sweep(T0 + timedelta(minutes=30)))] == [
        "wx_lina",
        "wx_wang",
        "wx_zhaolei",
    ]
