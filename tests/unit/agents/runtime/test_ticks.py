"""The tick timer both apps use: one tick per actively owned partition of the given topics."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from agents.runtime.records import RawRecord
from agents.runtime.ticks import TICK, TICK_HEADER, is_tick, register_ticks


class FakeTopic:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[bytes, int, list]] = []

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, value: bytes, partition: int, headers: list) -> None:
        self.sent.append((value, partition, headers))


class FakeApp:
    def __init__(self, owned: set[TP]) -> None:
        self.rebalancing = False
        self.assignor = SimpleNamespace(assigned_actives=lambda: owned)
        self.timers: dict[str, tuple[float, object]] = {}

    def timer(self, interval: float, name: str):
        def register(fn):
            self.timers[name] = (interval, fn)
            return fn

        return register


async def test_ticks_go_to_owned_partitions_of_the_given_topics_only() -> None:
    app = FakeApp({TP("qg-sender", 1), TP("qg-sender", 4), TP("chat.messages", 1), TP("qg-member", 0)})
    sender = FakeTopic("qg-sender")
    register_ticks(app, 30.0, "qunguard.tick", [sender], lambda: b"now")
    interval, tick = app.timers["qunguard.tick"]
    await tick()
    assert interval == 30.0
    assert sorted(sender.sent) == [(b"now", 1, [(TICK_HEADER, TICK)]), (b"now", 4, [(TICK_HEADER, TICK)])]
    app.rebalancing = True
    await tick()
    assert len(sender.sent) == 2


def test_no_timer_without_topics() -> None:
    app = FakeApp(set())
    register_ticks(app, 30.0, "qunguard.tick", [], lambda: b"")
    assert app.timers == {}


def test_a_tick_is_known_by_its_header() -> None:
    assert is_tick(RawRecord("t", 0, 0, None, b"", (("qg-control", b"tick"),)))
    assert not is_tick(RawRecord("t", 0, 0, None, b"tick"))
