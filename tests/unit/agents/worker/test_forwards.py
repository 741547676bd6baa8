"""Batched forwards (agents.worker.forwards): one record per destination partition, read back as
the single forwards they stand for."""

from __future__ import annotations

import orjson

from agents.runtime.records import RawRecord
from agents.runtime.tables import partition_of
from agents.worker.forwards import (
    BATCH_HEADER,
    SOURCE_HEADER,
    BatchingForwarder,
    Progress,
    source_of,
    unbatch,
)
from topics.catalog import MEMBERSHIP, MESSAGES


class FakeTopic:
    def __init__(self) -> None:
        self.soon: list[dict] = []
        self.sent: list[dict] = []

    def send_soon(self, **kwargs) -> None:
        self.soon.append(kwargs)

    async def send(self, **kwargs) -> None:
        self.sent.append(kwargs)


def event(n: int, topic: str = MESSAGES.name, partition: int = 2) -> RawRecord:
    value = orjson.dumps({"kind": "message", "event_id": f"m-{n}", "text": "含\t制表符\n和换行"})
    return RawRecord(topic, partition, n, b"g-sales", value)


async def test_forwards_go_out_as_one_record_per_destination_partition_at_a_flush() -> None:
    sender, employee = FakeTopic(), FakeTopic()
    forwarder = BatchingForwarder(
        {"sender": sender, "employee": employee}, {"sender": 6, "employee": 6}, ["sender"]
    )
    keys = ["wx_a", "wx_b", "wx_c", "wx_a"]
    for n, key in enumerate(keys):
        await forwarder.send("sender", key, event(n))
    await forwarder.send("employee", "E0001", RawRecord("v", 0, 0, None, b"{}", (("qg-ladder", b"x"),)))
    assert sender.soon == [] and employee.sent[0]["headers"] == (("qg-ladder", b"x"),)  # not batched
    assert forwarder.flush() == len({partition_of(k, 6) for k in keys}) and forwarder.flush() == 0

    back = []
    for sent in sender.soon:
        assert sent["headers"] == [(BATCH_HEADER, b"1")] and sent["key"] is None
        batch = RawRecord(
            "qunguard-sender", sent["partition"], 7, None, sent["value"], tuple(sent["headers"])
        )
        for forwarded in unbatch(batch):
            assert partition_of(forwarded.key.decode(), 6) == sent["partition"]
            back.append(
                (forwarded.key.decode(), orjson.loads(forwarded.value)["event_id"], source_of(forwarded))
            )
    assert sorted(back) == sorted((k, f"m-{n}", f"{MESSAGES.name}:2") for n, k in enumerate(keys))


async def test_a_full_batch_goes_out_at_once() -> None:
    member = FakeTopic()
    forwarder = BatchingForwarder({"member": member}, {"member": 1}, ["member"], max_events=3)
    for n in range(7):
        await forwarder.send("member", "wx_a", event(n, MEMBERSHIP.name))
    assert [
        len(unbatch(RawRecord("t", 0, 0, None, s["value"], tuple(s["headers"])))) for s in member.soon
    ] == [3, 3]
    forwarder.flush()
    assert len(member.soon) == 3


def test_a_record_without_the_batch_header_is_a_single_forward() -> None:
    single = RawRecord("qunguard-sender", 1, 5, b"wx_a", b"{}", ((SOURCE_HEADER, b"chat.messages:4"),))
    assert unbatch(single) == [single] and source_of(single) == "chat.messages:4"
    assert source_of(event(1, partition=3)) == f"{MESSAGES.name}:3"


def test_a_broken_line_stays_whole_for_the_decoder_to_dead_letter() -> None:
    good = orjson.dumps(["wx_a", "chat.messages:0"]) + b"\t" + b'{"kind":"message"}'
    batch = RawRecord(
        "qunguard-sender", 0, 9, None, b"\n".join([good, b"garbage", b"[1,2]\t{}"]), ((BATCH_HEADER, b"1"),)
    )
    found = unbatch(batch)
    assert [(r.key, r.value) for r in found] == [
        (b"wx_a", b'{"kind":"message"}'),
        (None, b"garbage"),
        (None, b"[1,2]\t{}"),
    ]
    assert all(r.offset == 9 and r.topic == "qunguard-sender" for r in found)


async def test_progress_goes_to_every_ordered_partition_behind_the_forwards_it_covers() -> None:
    sender = FakeTopic()
    clock = [0.0]
    forwarder = BatchingForwarder(
        {"sender": sender}, {"sender": 2}, ["sender"], ordered=["sender"], wall=lambda: clock[0]
    )
    await forwarder.send("sender", "wx_a", event(1))
    forwarder.progress(Progress(f"{MESSAGES.name}:2", 1700.5, False))
    forwarder.flush()
    lines = {
        s["partition"]: unbatch(RawRecord("s", s["partition"], 0, None, s["value"], tuple(s["headers"])))
        for s in sender.soon
    }
    report = Progress(f"{MESSAGES.name}:2", 1700.5, False)
    assert sorted(lines) == [0, 1]
    assert lines[partition_of("wx_a", 2)][-1] == report and isinstance(
        lines[partition_of("wx_a", 2)][0], RawRecord
    )
    assert lines[1 - partition_of("wx_a", 2)] == [report]

    sender.soon.clear()
    forwarder.progress(Progress(f"{MESSAGES.name}:2", 1701.0, False))
    forwarder.flush()
    assert sender.soon == []  # unchanged end flag: not again within PROGRESS_SECONDS
    forwarder.progress(Progress(f"{MESSAGES.name}:2", None, True))
    forwarder.flush()  # read to its end: at once
    assert [unbatch(RawRecord("s", 0, 0, None, s["value"], tuple(s["headers"]))) for s in sender.soon] == [
        [Progress(f"{MESSAGES.name}:2", None, True)]
    ] * 2
