"""The one dead-letter step of the worker and the notifier: headers byte for byte, log, count, send."""

from __future__ import annotations

import logging

import pytest

from agents.runtime.deadletter import MemoryDeadLetterSink, dead_letter, dead_letter_headers
from agents.runtime.records import RawRecord

RECORD = RawRecord("chat.messages", 2, 41, b"g-sales", b"\xff not json", (("trace", b"t-1"),))


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []

    async def send(self, key, value, headers) -> None:
        self.sent.append((key, value, headers))


class Counted:
    def __init__(self) -> None:
        self.count = 0

    def inc(self, amount: float = 1) -> None:
        self.count += amount


def test_a_refused_record_keeps_its_headers_then_reason_and_position() -> None:
    assert dead_letter_headers("field 'ts': missing", RECORD) == [
        ("trace", b"t-1"),
        ("qg-reason", b"field 'ts': missing"),
        ("qg-source-topic", b"chat.messages"),
        ("qg-source-partition", b"2"),
        ("qg-source-offset", b"41"),
    ]


def test_the_notifier_adds_its_stage_after_the_position() -> None:
    headers = dead_letter_headers("unreadable message: x", RECORD, stage="decode")
    assert headers[-2:] == [("qg-source-offset", b"41"), ("qg-stage", b"decode")]


def test_a_message_given_up_has_no_source() -> None:
    extra = (("qg-sink", b"hook"), ("qg-role", b"owner"))
    assert dead_letter_headers("sink hook: HTTP 500 after 4 attempts", stage="deliver", extra=extra) == [
        ("qg-reason", b"sink hook: HTTP 500 after 4 attempts"),
        ("qg-stage", b"deliver"),
        ("qg-sink", b"hook"),
        ("qg-role", b"owner"),
    ]


async def test_dead_letter_logs_the_position_counts_and_sends_the_record_unchanged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink, counted = Recorder(), Counted()
    with caplog.at_level(logging.WARNING, logger="agents.runtime.deadletter"):
        await dead_letter(sink, RECORD, "invalid JSON", counted)
    [(key, value, headers)] = sink.sent
    assert (key, value) == (RECORD.key, RECORD.value)
    assert headers == dead_letter_headers("invalid JSON", RECORD)
    assert counted.count == 1
    [line] = caplog.records
    assert line.getMessage() == "dead letter chat.messages[2]@41: invalid JSON"
    assert (line.topic, line.partition, line.offset) == ("chat.messages", 2, 41)


async def test_memory_sink_keeps_each_letter_with_its_reason() -> None:
    sink = MemoryDeadLetterSink()
    await dead_letter(sink, RECORD, "invalid JSON", Counted(), stage="decode")
    [(letter, reason)] = sink.records
    assert reason == "invalid JSON"
    assert (letter.key, letter.value) == (RECORD.key, RECORD.value)
    assert list(letter.headers) == dead_letter_headers("invalid JSON", RECORD, stage="decode")
