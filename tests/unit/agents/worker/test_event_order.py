"""agents.worker.event_order: holding records until their partition's merge releases them."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from types import SimpleNamespace

from agents.runtime.records import RawRecord
from agents.worker.event_order import EventOrder, ForwardProgress, Held
from agents.worker.forwards import Progress
from agents.worker.moderator import expected_sources

A, B = "chat.messages:0", "chat.messages:1"
sender_sources = partial(expected_sources, "sender")


class Message:
    def __init__(self) -> None:
        self.refcount = 1

    def incref(self) -> None:
        self.refcount += 1

    def decref(self) -> None:
        self.refcount -= 1


class Event:
    def __init__(self) -> None:
        self.message = Message()
        self.acked = 0

    def ack(self) -> None:
        self.acked += 1
        self.message.decref()


def held(source: str, second: int) -> Held:
    ts = datetime(2026, 12, 1, 9, 0, second, tzinfo=UTC)
    return Held(Event(), RawRecord("qg-sender", 0, second, b"wx_a", b"{}"), SimpleNamespace(ts=ts), source)


def test_a_progress_report_counts_only_for_the_partition_it_arrived_in() -> None:
    progress = ForwardProgress()
    progress.report(2, Progress(B, None, True))
    assert progress.of(2)(B) and not progress.of(5)(B)


def test_a_held_record_stays_unacknowledged_until_judged_and_progress_reports_what_was_judged() -> None:
    progress = ForwardProgress()
    order = EventOrder(sender_sources, progress.of, idle_after=120, wall=lambda: 0.0)
    for source in sender_sources(0):
        if source not in (A, B):
            progress.report(0, Progress(source, None, True))
    first = held(A, 30)
    assert order.hold(0, first) == [] and first.event.message.refcount == 2
    assert order.progress(A, read_to_end=True) == Progress(A, None, False)  # one left to judge
    progress.report(0, Progress(B, None, True))
    released = order.due(0)
    assert released == [first]
    order.done(first)
    assert first.event.acked == 1 and order.progress(A, read_to_end=True).caught_up


def test_forget_lets_go_of_held_records_unacknowledged() -> None:
    order = EventOrder(sender_sources, ForwardProgress().of, idle_after=120, wall=lambda: 0.0)
    waiting = held(A, 10)
    order.hold(0, waiting)
    unacked = {waiting.event.message}
    order.forget(unacked)
    assert unacked == set() and waiting.event.acked == 0 and order.merges == {}
