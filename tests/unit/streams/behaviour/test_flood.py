"""flood.rate, flood.duplicate, flood.mention_all, flood.broadcast through the rule engine."""

from __future__ import annotations

import random

import pytest

from streams.behaviour.detectors import SENDER_IN_GROUP_MAP as PER_SENDER
from streams.behaviour.flood import normalized_text
from streams.core.state import state_key
from tests.behaviour_world import T0, World, only, policy_with


def burst(world: World, sender: str, times: list[float], group_id: str = "g-sales", **kw):
    return [world.message(sender, t, group_id, **kw) for t in times]


def test_ten_messages_in_a_minute_fire_once_with_the_burst_ids() -> None:
    world = World()
    events = burst(world, "wx_zhangwei", [i * 5 for i in range(10)])  # 45 s
    found = only(world.feed(*events), "flood.rate")
    assert len(found) == 1
    (v,) = found
    assert v.source_event_ids == tuple(e.event_id for e in events)
    assert (v.group_id, v.subject_id, v.employee_id) == ("g-sales", "wx_zhangwei", "E4")
    assert v.event_ts == events[-1].ts.isoformat() and v.actions == ("remind",)


def test_nine_messages_or_ten_over_more_than_a_minute_do_not_fire() -> None:
    world = World()
    assert not only(world.feed(*burst(world, "wx_zhangwei", [i * 5 for i in range(9)])), "flood.rate")
    world = World()
    spread = [i * 6.8 for i in range(10)]  # 61.2 s from first to last
    assert not only(world.feed(*burst(world, "wx_zhangwei", spread)), "flood.rate")


def test_one_violation_per_burst_then_a_cooldown_of_one_window() -> None:
    world = World()
    # 30 messages in 58 s: one burst; the cooldown covers the rest
    found = only(world.feed(*burst(world, "wx_zhangwei", [i * 2 for i in range(30)])), "flood.rate")
    assert len(found) == 1
    # a new burst after the cooldown (one window past the first burst's end) fires again
    later = burst(world, "wx_zhangwei", [200 + i for i in range(10)])
    again = only(world.feed(*later), "flood.rate")
    assert len(again) == 1 and again[0].source_event_ids == tuple(e.event_id for e in later)


def test_a_flood_that_goes_on_fires_once_per_window() -> None:
    world = World()
    found = only(world.feed(*burst(world, "wx_zhangwei", [i * 2 for i in range(90)])), "flood.rate")  # 3 min
    ends = [v.event_ts for v in found]
    assert len(found) == 3, ends
    assert not set(found[0].source_event_ids) & set(found[1].source_event_ids)  # no message counted twice


def test_senders_and_groups_are_counted_apart() -> None:
    world = World()
    mixed = [world.message("wx_zhangwei" if i % 2 else "wx_lina", i * 2) for i in range(18)]
    other_group = burst(world, "wx_zhangwei", [40 + i for i in range(5)], group_id="g-proj")
    assert not only(world.feed(*mixed, *other_group), "flood.rate")


def test_out_of_order_within_the_tolerance_gives_the_same_burst() -> None:
    world = World()
    events = burst(world, "wx_zhangwei", [i * 5 for i in range(10)])
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    found = only(world.feed(*shuffled), "flood.rate")
    assert len(found) == 1 and set(found[0].source_event_ids) == {e.event_id for e in events}


def test_an_event_later_than_the_tolerance_is_not_counted() -> None:
    world = World()
    events = burst(world, "wx_zhangwei", [100 + i for i in range(9)])
    world.feed(*events, world.message("wx_zhangwei", 300))  # the sender's event time is at 300 s
    late = world.message("wx_zhangwei", 105.5)  # 194.5 s behind: beyond the 60 s tolerance
    assert not world.feed(late)


def test_the_tolerance_is_measured_per_sender_in_a_group() -> None:
    # per-sender windows are kept under (group, sender) keys: another sender's newer events do
    # not make this sender's slightly delayed messages late
    world = World()
    events = burst(world, "wx_zhangwei", [100 + i for i in range(10)])
    world.feed(world.message("wx_lina", 300))
    assert len(only(world.feed(*events), "flood.rate")) == 1


def test_a_redelivered_event_counts_once_and_a_redelivered_trigger_repeats_the_same_violation() -> None:
    world = World()
    events = burst(world, "wx_zhangwei", [i * 5 for i in range(10)])
    assert not only(world.feed(*events[:9], events[3], events[8]), "flood.rate")
    (first,) = only(world.feed(events[9]), "flood.rate")
    (again,) = only(world.feed(events[9]), "flood.rate")  # at-least-once: same violation id
    assert again.violation_id == first.violation_id
    assert not only(world.feed(events[4]), "flood.rate")


def test_state_expires_and_the_sweep_drops_idle_keys() -> None:
    world = World()
    for n in range(200):  # 200 senders in 50 groups post once each
        world.feed(world.message(f"wx_s{n}", n, group_id=f"g-{n % 50}"))
    assert len(world.state.maps[PER_SENDER]) == 200  # one key per (group, sender)
    per_key = world.state_bytes(PER_SENDER) / 200
    assert per_key < 250, per_key  # one entry in each rule's window
    # expiry follows event time: the wall clock alone expires nothing
    world.sweep(T0.replace(hour=23))
    assert len(world.state.maps[PER_SENDER]) == 200
    # once event time has moved on past window + tolerance + idle_expiry_seconds, it does
    world.feed(world.message("wx_lina", 2 * 3600, group_id="g-late"))
    world.sweep(T0.replace(hour=23))
    assert world.state.maps[PER_SENDER].keys() == {state_key("g-late", "wx_lina")}
    # a burst's state is gone once its cooldown is over and a later event passes by
    world.feed(*burst(world, "wx_zhangwei", [1000 + i for i in range(10)]))
    world.feed(world.message("wx_zhangwei", 1200))
    (track,) = world.state.maps[PER_SENDER][state_key("g-sales", "wx_zhangwei")]["flood.rate"]["t"].values()
    assert "f" not in track and len(track["e"]) == 1


def test_duplicate_text_after_nfkc_casefold_and_whitespace_removal() -> None:
    world = World()
    texts = ["请把ＰＰＴ发我 谢谢", "请把ppt发我谢谢 ", "  请把PPT 发我谢谢"]
    events = [world.message("wx_lina", i * 120, text=t) for i, t in enumerate(texts)]
    (v,) = only(world.feed(*events), "flood.duplicate")
    assert v.source_event_ids == tuple(e.event_id for e in events) and v.subject_id == "wx_lina"
    assert normalized_text("请把ＰＰＴ 发我\u3000谢谢") == "请把ppt发我谢谢"


@pytest.mark.parametrize(
    ("texts", "times"),
    [
        (["马上就到"] * 3, [0, 60, 120]),  # 4 characters: too short to count
        (["今天下午三点开会"] * 3, [0, 420, 840]),  # 14 minutes
        (["今天下午三点开会", "今天下午四点开会", "今天下午三点开会"], [0, 60, 120]),
    ],
)
def test_duplicate_near_misses(texts: list[str], times: list[int]) -> None:
    world = World()
    events = [world.message("wx_lina", t, text=x) for t, x in zip(times, texts, strict=True)]
    assert not only(world.feed(*events), "flood.duplicate")


def test_mention_all_more_than_twice_an_hour() -> None:
    world = World()
    events = burst(world, "wx_lina", [0, 1200, 2400], mention_all=True)
    (v,) = only(world.feed(*events), "flood.mention_all")
    assert v.source_event_ids == tuple(e.event_id for e in events)
    world = World()
    spaced = burst(world, "wx_lina", [0, 3700, 7400], mention_all=True)  # pairwise > 1 h
    two = burst(world, "wx_zhaolei", [0, 600], mention_all=True)
    plain = burst(world, "wx_zhaolei", [700, 800])
    assert not only(world.feed(*spaced, *two, *plain), "flood.mention_all")


def test_broadcast_same_text_in_three_groups() -> None:
    world = World()
    text = "本周五下午三点消防演练,请各部门准时参加"
    events = [
        world.message("wx_lina", i * 60, g, text=text) for i, g in enumerate(["g-sales", "g-proj", "g-all"])
    ]
    (v,) = only(world.feed(*events), "flood.broadcast")
    assert v.group_id is None and v.subject_id == "wx_lina" and v.actions == ("recall_message",)
    assert v.source_event_ids == tuple(e.event_id for e in events)
    assert [m["group_id"] for m in v.evidence["messages"]] == ["g-sales", "g-proj", "g-all"]
    assert world.state.maps["flood.broadcast"].keys() == {"wx_lina"}  # keyed by the sender


def test_broadcast_near_misses() -> None:
    world = World()
    text = "本周五下午三点消防演练,请各部门准时参加"
    two_groups = [
        world.message("wx_lina", i * 60, g, text=text) for i, g in enumerate(["g-sales", "g-proj", "g-proj"])
    ]
    slow = [
        world.message("wx_zhaolei", i * 750, g, text=text)
        for i, g in enumerate(["g-sales", "g-proj", "g-all"])
    ]
    short = [
        world.message("wx_chenjing", i, g, text="收到谢谢大家")
        for i, g in enumerate(["g-sales", "g-proj", "g-all"])
    ]
    assert not only(world.feed(*two_groups, *slow, *short), "flood.broadcast")


def test_system_messages_are_nobodys_flood() -> None:
    world = World()
    assert not world.feed(*burst(world, "wx_zhangwei", list(range(12)), msg_type="system"))


def test_thresholds_come_from_the_policy(tmp_path) -> None:
    policy = policy_with(tmp_path, '[rules."flood.rate"]', "count = 10", "count = 3")
    world = World(policy)
    assert len(only(world.feed(*burst(world, "wx_zhangwei", [0, 1, 2])), "flood.rate")) == 1


def test_a_burst_redelivered_after_its_state_was_pruned_stays_quiet() -> None:
    world = World()
    events = burst(world, "wx_zhangwei", [i * 5 for i in range(10)])
    assert len(only(world.feed(*events), "flood.rate")) == 1
    world.feed(world.message("wx_zhangwei", 600))  # the sender's window and cooldown are pruned
    (track,) = world.state.maps[PER_SENDER][state_key("g-sales", "wx_zhangwei")]["flood.rate"]["t"].values()
    assert "f" not in track
    assert not world.feed(*events)  # older than the key's watermark minus the tolerance


def test_only_messages_a_sender_keyed_rule_counts_are_routed_to_the_sender() -> None:
    world = World()
    long = world.message("wx_lina", 0, text="请大家今天下午三点前提交本周的周报")
    assert world.engine.routes(long, "sender") == ("wx_lina",)
    assert world.engine.routes(world.message("wx_lina", 1, text="好的收到"), "sender") == ()  # < min_chars
    system = world.message("wx_lina", 2, text="请大家今天下午三点前提交本周的周报", msg_type="system")
    assert world.engine.routes(system, "sender") == ()
    assert world.engine.routes(long, "group") == ("g-sales",)  # detectors without `wants` take all


def test_a_watermark_behind_the_keys_newest_event_keeps_a_slower_sources_event() -> None:
    # Live, the sender topic merges forwards from several group partitions read at different paces:
    # the broadcast's first message arrives after the sender's later ones, 5 minutes behind.
    world = World()
    text = "本周五下午三点消防演练,请各部门准时参加"
    first, second, third = (
        world.message("wx_lina", t, g, text=text) for t, g in ((0, "g-sales"), (60, "g-proj"), (120, "g-all"))
    )
    later = world.message("wx_lina", 420, "g-proj", text="另一条通知,与演练无关的内容")

    def judged(event, watermark):
        return only(world.engine.process_keyed(event, "sender", "wx_lina", watermark), "flood.broadcast")

    start = first.ts.timestamp()
    assert (
        not judged(second, start + 60) and not judged(third, start + 120) and not judged(later, start + 420)
    )
    (v,) = judged(first, start)  # the slower partition's watermark is still at its own newest event
    assert v.source_event_ids == (first.event_id, second.event_id, third.event_id)
    [detector] = [d for d in world.detectors if "flood.broadcast" in d.rules]
    assert detector.late["flood.broadcast"] == 0


def test_without_a_watermark_the_same_order_is_late_and_counted_as_such() -> None:
    world = World()
    text = "本周五下午三点消防演练,请各部门准时参加"
    events = [
        world.message("wx_lina", t, g, text=text)
        for t, g in ((60, "g-proj"), (120, "g-all"), (420, "g-proj"))
    ]
    first = world.message("wx_lina", 0, "g-sales", text=text)
    assert not only(
        world.feed(*events, first), "flood.broadcast"
    )  # replay: the key's newest is the reference
    [detector] = [d for d in world.detectors if "flood.broadcast" in d.rules]
    assert detector.late["flood.broadcast"] == 1
