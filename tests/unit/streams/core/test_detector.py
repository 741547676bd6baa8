"""The detector contract: each built detector declares exactly the capabilities it has, and the
engine finds them (and times detector calls) through the declared classes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.behaviour.flood import BurstDetector
from streams.behaviour.hours import HoursDetector
from streams.content.detector import ContentDetector
from streams.core.detector import (
    CAPABILITIES,
    Calendared,
    Detector,
    FansOut,
    Finding,
    Reloadable,
    Selective,
    Sweeper,
)
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RuleEngine
from streams.core.policy import load_policy
from streams.detectors import build_detectors
from streams.membership.detector import MembershipDetector
from streams.membership.member_index import MemberIndexDetector
from topics.codec import decode_event

POLICY = load_policy()
DETECTORS = build_detectors(POLICY)


def declared(detector: object) -> set[type]:
    return {capability for capability in CAPABILITIES if capability in type(detector).__mro__}


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: type(d).__name__)
def test_every_built_detector_has_exactly_the_capabilities_it_declares(detector: object) -> None:
    assert Detector in type(detector).__mro__
    assert isinstance(detector, Detector)
    assert {capability for capability in CAPABILITIES if isinstance(detector, capability)} == declared(
        detector
    )


def test_the_capabilities_of_the_detectors() -> None:
    expected = {
        ContentDetector: {Reloadable},
        MembershipDetector: {FansOut, Sweeper},
        MemberIndexDetector: set(),
        BurstDetector: {Selective, Sweeper},
        HoursDetector: {Calendared},
    }
    by_class = {type(d): declared(d) for d in DETECTORS}
    assert {cls: by_class[cls] for cls in expected} == expected


def test_a_declared_sweeper_without_an_interval_is_swept_every_tick() -> None:
    class Deadlines(Detector, Sweeper):
        rules = ("ack.missing",)
        partition = "group"

        def detect(self, event, key, ctx):
            return ()

        def sweep(self, now, ctx):
            return ()

    assert Deadlines().sweep_interval == 0.0
    assert isinstance(Deadlines(), Sweeper)


class Plain:
    """An undeclared test double with the members of a detector only."""

    rules = ("flood.rate",)
    partition = "group"

    def detect(self, event, key, ctx):
        yield Finding("flood.rate", event.ts, (event.event_id,), event.group_id, event.sender_id)


def test_the_engine_finds_sweepers_through_the_protocol() -> None:
    engine = RuleEngine(POLICY, MemoryRoster(), MemoryLedger(), [*DETECTORS, Plain()])
    assert engine.sweepers() == [d for d in DETECTORS if Sweeper in type(d).__mro__]
    assert engine.sweepers("sender") == [
        d for d in DETECTORS if Sweeper in type(d).__mro__ and d.partition == "sender"
    ]
    assert not isinstance(Plain(), Sweeper | FansOut | Selective | Reloadable | Calendared)


def test_the_timer_is_asked_once_per_detector_and_phase_and_records_each_call() -> None:
    asked: list[tuple[str, str]] = []
    recorded: list[tuple[str, str, float]] = []

    def timer(detector, phase):
        asked.append((type(detector).__name__, phase))
        return lambda seconds: recorded.append((type(detector).__name__, phase, seconds))

    sweeper = next(d for d in build_detectors(POLICY) if isinstance(d, MembershipDetector))
    engine = RuleEngine(POLICY, MemoryRoster(), MemoryLedger(), [Plain(), sweeper], timer=timer)
    assert asked == [("Plain", "detect"), ("MembershipDetector", "detect"), ("MembershipDetector", "sweep")]
    event = decode_event(
        b'{"kind": "message", "event_id": "m-1", "ts": "2026-11-23T09:00:00+08:00", "group_id": "g-x",'
        b' "sender_id": "wx_a"}'
    )
    assert [v.rule for v in engine.process(event)] == ["flood.rate", "group.unregistered"]
    engine.sweep(datetime(2026, 11, 24, tzinfo=UTC))
    assert [(name, phase) for name, phase, _ in recorded] == [
        ("Plain", "detect"),
        ("MembershipDetector", "detect"),
        ("MembershipDetector", "sweep"),
    ]
    assert all(seconds >= 0 for _, _, seconds in recorded)
