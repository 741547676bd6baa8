"""Deliveries off the agent's loop (agents.notify.lanes, RecipientDesk): in order per recipient,
at most `limit` pending, the record acknowledged once its deliveries are over (not when one
failed), and a digest being delivered neither sent twice nor emptied of items added meanwhile."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import orjson
import pytest

from agents.notify.delivery import Deliverer
from agents.notify.flow import RecipientDesk
from agents.notify.lanes import DeliveryLanes, when_delivered
from agents.runtime.deadletter import MemoryDeadLetterSink
from agents.runtime.records import RawRecord
from streams.notify.backoff import DELIVERED, Outcome
from streams.notify.config import DeliveryPolicy, DigestPolicy, Role, SinkSpec, load_notify_config
from streams.notify.model import Recipient
from streams.notify.render import render_notice
from tests.support import SAMPLE_LEDGER as LEDGER
from tests.support import SAMPLE_ROSTER as ROSTER
from tests.support import sample_violation as violation


class Gate:
    """Work that records when it starts and ends and waits until it is opened."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.opened: dict[str, asyncio.Event] = {}

    def work(self, name: str):
        self.opened[name] = asyncio.Event()

        async def run() -> None:
            self.log.append(f"start {name}")
            await self.opened[name].wait()
            self.log.append(f"end {name}")

        return run

    def open(self, name: str) -> None:
        self.opened[name].set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_one_lane_runs_in_order_and_lanes_run_side_by_side() -> None:
    lanes, gate = DeliveryLanes(limit=4), Gate()
    a1 = await lanes.submit("a", gate.work("a1"))
    a2 = await lanes.submit("a", gate.work("a2"))
    b1 = await lanes.submit("b", gate.work("b1"))
    await settle()
    assert gate.log == ["start a1", "start b1"] and lanes.pending == 3  # a2 waits for a1
    gate.open("a2")
    await settle()
    assert "start a2" not in gate.log  # not overtaken, even when ready first
    gate.open("a1")
    await asyncio.wait_for(a2, 1)
    assert gate.log == ["start a1", "start b1", "end a1", "start a2", "end a2"]
    gate.open("b1")
    await lanes.drain()
    assert a1.done() and b1.done() and lanes.pending == 0


async def test_submit_waits_while_limit_deliveries_are_pending() -> None:
    lanes, gate = DeliveryLanes(limit=2), Gate()
    await lanes.submit("a", gate.work("a"))
    await lanes.submit("b", gate.work("b"))
    third = asyncio.create_task(lanes.submit("c", gate.work("c")))
    await settle()
    assert not third.done() and lanes.pending == 2
    gate.open("b")
    await asyncio.wait_for(third, 1)
    await settle()
    assert "start c" in gate.log
    gate.open("a")
    gate.open("c")
    await lanes.drain()


async def test_a_failed_delivery_does_not_stop_its_lane() -> None:
    lanes = DeliveryLanes(limit=2)
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("sink bug")

    async def fine() -> None:
        ran.append("fine")

    failed = await lanes.submit("a", boom)
    after = await lanes.submit("a", fine)
    await lanes.drain()
    assert isinstance(failed.exception(), RuntimeError) and after.exception() is None and ran == ["fine"]


async def test_the_record_is_acknowledged_once_its_deliveries_are_over() -> None:
    lanes, gate = DeliveryLanes(limit=4), Gate()
    acks: list[str] = []
    when_delivered([], lambda: acks.append("nothing started"))
    assert acks == ["nothing started"]
    started = [await lanes.submit("a", gate.work("a")), await lanes.submit("b", gate.work("b"))]
    when_delivered(started, lambda: acks.append("both"))
    gate.open("a")
    await settle()
    assert acks == ["nothing started"]
    gate.open("b")
    await lanes.drain()
    await settle()
    assert acks == ["nothing started", "both"]


async def test_a_record_whose_delivery_failed_stays_unacknowledged() -> None:
    lanes = DeliveryLanes(limit=1)

    async def boom() -> None:
        raise RuntimeError("sink bug")

    acks: list[str] = []
    when_delivered([await lanes.submit("a", boom)], lambda: acks.append("acked"))
    await lanes.drain()
    await settle()
    assert acks == []


async def test_drain_gives_up_after_its_timeout() -> None:
    lanes, gate = DeliveryLanes(limit=2), Gate()
    await lanes.submit("a", gate.work("a"))
    assert await lanes.drain(0.05) is False and lanes.pending == 1
    gate.open("a")
    assert await lanes.drain(1) is True and lanes.pending == 0


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        DeliveryLanes(limit=0)


class SlowSink:
    """A sink whose sends wait until released, recording what arrived."""

    name = "hook"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def send(self, notice) -> Outcome:
        await self.release.wait()
        self.sent.append(notice.message_id)
        return DELIVERED

    async def close(self) -> None:
        pass


class MemorySent:
    """SentStore in a dict (the Redis one is tested in tests/integration/test_notify_delivery.py)."""

    def __init__(self) -> None:
        self.marks: set[tuple[str, str]] = set()

    async def sent(self, message_id: str, sink: str) -> bool:
        return (message_id, sink) in self.marks

    async def mark(self, message_ids, sink: str) -> None:
        self.marks.update((m, sink) for m in message_ids)


OWNER = Recipient("owner", "E0004", "吴婷(群主)", "E0004", name="吴婷")


async def test_a_digest_being_delivered_is_not_sent_again_and_keeps_later_items() -> None:
    config = load_notify_config()
    config = replace(
        config,
        roles={**config.roles, "owner": Role("owner", "群主", "manager", ("hook",))},
        sinks={"hook": SinkSpec("hook", "log")},
        delivery=DeliveryPolicy(concurrency=4),
        digest=DigestPolicy(interval_seconds=60, max_items=2),
    )
    sink, table, now = SlowSink(), {}, [1000.0]
    deliverer = Deliverer(config, {"hook": sink}, MemorySent(), MemoryDeadLetterSink())
    desk = RecipientDesk(config, deliverer, table, owns=lambda key, p: True, clock=lambda: now[0])

    def record(vid: str) -> RawRecord:
        notice = render_notice(violation("flood.rate", violation_id=vid), OWNER, config, ROSTER, LEDGER)
        return RawRecord("t", 0, 0, b"owner|E0004", orjson.dumps(notice.to_dict()))

    assert await desk.handle(record("v-1")) == []
    (digest,) = await desk.handle(record("v-2"))  # max_items: sent, its items kept until delivered
    assert desk.pending_items() == 2
    assert await desk.handle(record("v-3")) == []  # joins the table, not the digest under way
    now[0] += 60
    assert await desk.flush(0) == []  # the recipient's digest is under way: not sent twice
    sink.release.set()
    await digest
    assert len(sink.sent) == 1 and desk.pending_items() == 1  # v-3 waits for the next digest
    assert await desk.flush(0) == []  # its interval starts when the previous digest went out
    now[0] += 60
    (following,) = await desk.flush(0)
    await following
    assert len(sink.sent) == 2 and table == {}
