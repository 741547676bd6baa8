"""agents.runtime.stall_guard: which partitions count as stalled, and what a re-read resets.

The guard reads Faust's consumer bookkeeping; these tests give it a stand-in with the same
attributes. tests/e2e/test_chaos.py runs it for real (a worker SIGKILLed and restarted).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace

from faust.types import TP

from agents.runtime.stall_guard import StallGuard

INPUT = TP("chat.messages", 1)
CHANGELOG = TP("qg-membership.groups-changelog", 1)


class FakeConsumer:
    def __init__(self, committed: int | None, end: int, log_start: int | None = None) -> None:
        self._committed_offset = {INPUT: committed}
        self._log_start = {} if log_start is None else {INPUT: log_start}
        self._acked = defaultdict(list)
        self._acked_index = defaultdict(set)
        self._gap = {INPUT: "gap"}
        self.acks_total = 0
        self.unacked: list = []
        self.end = end
        self.seeks: list[tuple[TP, int]] = []
        self.resumed: set[TP] = set()

    def resume_offset(self, tp: TP) -> int | None:
        committed = self._committed_offset.get(tp)
        return committed if committed is not None else self._log_start.get(tp)

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.end for tp in tps}

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))

    def resume_partitions(self, tps) -> None:
        self.resumed |= set(tps)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def guard_for(consumer: FakeConsumer, clock: Clock, rebalancing: bool = False) -> StallGuard:
    completed = asyncio.Event()
    completed.set()
    app = SimpleNamespace(
        consumer=consumer,
        rebalancing=rebalancing,
        tables=SimpleNamespace(
            changelog_topics={CHANGELOG.topic}, recovery=SimpleNamespace(completed=completed)
        ),
        assignor=SimpleNamespace(assigned_actives=lambda: {INPUT, CHANGELOG}),
    )
    return StallGuard(app, stall_after=10.0, clock=clock)


def run(guard: StallGuard) -> list[TP]:
    return asyncio.run(guard.check())


def test_a_partition_behind_its_end_without_progress_is_read_again_from_its_committed_offset() -> None:
    consumer, clock = FakeConsumer(committed=19, end=80), Clock()
    consumer._acked[INPUT] = [30, 31, 32]  # records 19..29 never reached the agent
    consumer._acked_index[INPUT] = {30, 31, 32}
    guard = guard_for(consumer, clock)
    assert run(guard) == []
    clock.now = 10.0
    assert run(guard) == [INPUT]
    assert consumer.seeks == [(INPUT, 19)]
    assert consumer.resumed == {INPUT}
    assert consumer._acked[INPUT] == [] and consumer._acked_index[INPUT] == set()
    assert INPUT not in consumer._gap


def test_nothing_committed_reads_from_the_beginning() -> None:
    consumer, clock = FakeConsumer(committed=None, end=5), Clock()
    guard = guard_for(consumer, clock)
    run(guard)
    clock.now = 11.0
    assert run(guard) == [INPUT]
    assert consumer.seeks == [(INPUT, 0)]


def test_a_lost_head_of_a_partition_with_nothing_committed_is_read_again_under_load() -> None:
    consumer, clock = FakeConsumer(committed=None, end=80, log_start=0), Clock()
    consumer._acked[INPUT] = [39, 40]  # records 0..38 were dropped before reaching the agent
    guard = guard_for(consumer, clock)
    for step in range(2):  # busy elsewhere all along
        consumer.acks_total += 100
        clock.now = 5.0 * step
        assert run(guard) == []
    consumer.acks_total += 100
    clock.now = 10.0
    assert run(guard) == [INPUT]
    assert consumer.seeks == [(INPUT, 0)]


def test_a_record_held_at_the_committed_offset_is_not_a_stall() -> None:
    consumer, clock = FakeConsumer(committed=10, end=80), Clock()
    consumer._acked[INPUT] = [11, 12]  # acknowledged out of order around the held one
    consumer.unacked = [SimpleNamespace(tp=INPUT, offset=10)]
    guard = guard_for(consumer, clock)
    run(guard)
    clock.now = 30.0
    assert run(guard) == []
    consumer.unacked = []
    clock.now = 60.0
    assert run(guard) == [INPUT]


def test_a_moving_commit_resets_the_clock_and_an_idle_worker_is_read_again() -> None:
    consumer, clock = FakeConsumer(committed=10, end=80), Clock()
    guard = guard_for(consumer, clock)
    run(guard)
    clock.now = 12.0
    consumer._committed_offset[INPUT] = 12
    assert run(guard) == []
    clock.now = 21.0
    assert run(guard) == []
    clock.now = 22.0
    assert run(guard) == [INPUT]


def test_a_worker_holding_on_purpose_is_not_idle_until_it_stops_holding() -> None:
    consumer, clock = FakeConsumer(committed=10, end=80), Clock()
    guard = guard_for(consumer, clock)
    held = [True]
    guard.holding = lambda: held[0]
    run(guard)
    clock.now = 30.0
    assert run(guard) == []  # reference data refused: the worker waits, it did not lose records
    held[0] = False
    clock.now = 39.0
    assert run(guard) == []
    clock.now = 40.0
    assert run(guard) == [INPUT]


def test_a_worker_busy_elsewhere_is_not_idle_but_a_gap_is_read_again_under_load() -> None:
    consumer, clock = FakeConsumer(committed=10, end=80), Clock()
    guard = guard_for(consumer, clock)
    for step in range(1, 6):  # acks elsewhere every 5 s: a tick queued behind a backlog, say
        consumer.acks_total += 100
        clock.now = 5.0 * step
        assert run(guard) == []
    consumer._acked[INPUT] = [11, 12]  # the record at offset 10 never reached the agent
    consumer.acks_total += 100
    clock.now = 30.0
    assert run(guard) == [INPUT]


def test_a_caught_up_partition_is_left_alone() -> None:
    consumer, clock = FakeConsumer(committed=80, end=80), Clock()
    guard = guard_for(consumer, clock)
    run(guard)
    clock.now = 100.0
    assert run(guard) == [] and consumer.seeks == []
    assert guard.progress[INPUT].since == 100.0  # looked at again only after another 10 s


def test_nothing_happens_while_rebalancing() -> None:
    consumer, clock = FakeConsumer(committed=1, end=80), Clock()
    guard = guard_for(consumer, clock, rebalancing=True)
    run(guard)
    clock.now = 100.0
    assert run(guard) == [] and consumer.seeks == []


def consumer_with(committed: int | None, acked: list[int]):
    from agents.runtime.transport import Consumer

    consumer = object.__new__(Consumer)  # only the offset bookkeeping, no broker
    consumer._committed_offset = {INPUT: committed}
    consumer._acked = defaultdict(list, {INPUT: list(acked)})
    consumer._acked_index = defaultdict(set, {INPUT: set(acked)})
    consumer._gap = defaultdict(dict)
    return consumer


def test_the_worker_never_commits_past_a_record_it_did_not_acknowledge() -> None:
    assert consumer_with(18, [19, 20, 21])._new_offset(INPUT) is None  # one record missing
    assert consumer_with(17, [19, 20, 21])._new_offset(INPUT) is None
    assert consumer_with(18, [18, 19, 20])._new_offset(INPUT) == 21
    assert consumer_with(None, [0, 1, 2])._new_offset(INPUT) == 3
    headless = consumer_with(None, [39, 40])  # nothing committed, and the log starts at 0
    headless._log_start = {INPUT: 0}
    assert headless._new_offset(INPUT) is None
    headless._log_start = {INPUT: 39}  # older records deleted by retention
    assert headless._new_offset(INPUT) == 41
    assert consumer_with(10, [12, 10, 11])._new_offset(INPUT) == 13  # acknowledged out of order
    assert consumer_with(10, [12, 10])._new_offset(INPUT) == 11  # 11 still held


def test_a_jump_in_offsets_is_not_recorded_as_a_compacted_range() -> None:
    consumer = consumer_with(10, [10, 11])
    consumer.log = SimpleNamespace(warning=lambda *a, **k: None)
    asyncio.run(consumer._add_gap(INPUT, 12, 20))
    assert not consumer._gap[INPUT]
    assert consumer._new_offset(INPUT) == 12
