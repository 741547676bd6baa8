"""streams.core.admission: the one check a decoded event passes before any detector judges it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from streams.core.admission import (
    SAFE_EARLIEST,
    SAFE_LATEST,
    AdmissionLimits,
    check_event,
    check_line,
    record_size,
)
from streams.core.policy import Policy, PolicyError, load_policy
from topics.codec import decode_event
from topics.events import Event

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
LIMITS = AdmissionLimits()


def event(ts: str = "2026-12-02T10:00:00+08:00", **fields: Any) -> Event:
    doc = {"kind": "message", "event_id": "e1", "ts": ts, "group_id": "g-rd", "sender_id": "wx_a", **fields}
    return decode_event(orjson.dumps(doc))


def refused(ts: str, limits: AdmissionLimits = LIMITS) -> str | None:
    refusal = check_event(event(ts), 200, b"g-rd", limits, NOW)
    return None if refusal is None else str(refusal)


def test_an_ordinary_event_is_admitted() -> None:
    assert check_event(event(), 200, b"g-rd", LIMITS, NOW) is None


def test_far_future_timestamp_is_refused_with_how_far_and_the_limit() -> None:
    reason = refused("2126-01-01T00:00:00+08:00")
    assert reason == "field 'ts': 2126-01-01T00:00:00+08:00 is 36189 days in the future (limit 1 day)"
    assert check_event(event("2126-01-01T00:00:00+08:00"), 200, b"g-rd", LIMITS, NOW).check == "event_time"


def test_the_bounds_are_inclusive_and_relative_to_now() -> None:
    assert refused("2026-12-03T02:00:00+00:00") is None  # exactly max_ahead_seconds ahead
    assert refused("2026-12-03T02:00:01+00:00") == (
        "field 'ts': 2026-12-03T02:00:01+00:00 is 1.1 days in the future (limit 1 day)"
    )
    oldest = NOW - timedelta(days=3650)
    assert refused(oldest.isoformat()) is None  # exactly max_behind_days behind
    assert refused((oldest - timedelta(seconds=1)).isoformat()) == (
        "field 'ts': 2016-12-04T01:59:59+00:00 is 3651 days in the past (limit 3650 days)"
    )


def test_the_amount_is_shown_in_the_limits_unit() -> None:
    hour = AdmissionLimits(max_ahead_seconds=3600)
    assert refused("2026-12-02T04:30:00+00:00", hour) == (
        "field 'ts': 2026-12-02T04:30:00+00:00 is 2.5 hours in the future (limit 1 hour)"
    )
    odd = AdmissionLimits(max_ahead_seconds=90)
    assert refused("2026-12-02T02:05:00+00:00", odd) == (
        "field 'ts': 2026-12-02T02:05:00+00:00 is 300 seconds in the future (limit 90 seconds)"
    )


@pytest.mark.parametrize(
    "ts", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-05:00", "1899-12-31T23:59:59Z"]
)
def test_timestamps_outside_the_safe_range_are_refused_whatever_the_policy(ts: str) -> None:
    anything = AdmissionLimits(max_ahead_seconds=1e15, max_behind_days=1e9)
    assert refused(ts, anything) == (
        f"field 'ts': {event(ts).ts.isoformat()} is outside the supported range (1900-01-01 to 8999-12-31 UTC)"
    )
    assert refused(SAFE_EARLIEST.isoformat(), anything) is None
    assert refused(SAFE_LATEST.isoformat(), anything) is None


def test_key_must_be_the_events_partition_key() -> None:
    mismatch = check_event(event(), 200, b"g-sales", LIMITS, NOW)
    assert mismatch is not None and mismatch.check == "key"
    assert str(mismatch) == "field 'group_id': 'g-rd' differs from the record key 'g-sales'"
    assert str(check_event(event(), 200, None, LIMITS, NOW)) == (
        "field 'group_id': the record has no key (expected 'g-rd')"
    )
    roster = decode_event(orjson.dumps({"kind": "roster", "event_id": "r1", "ts": "2026-12-02T02:00:00Z",
                                        "employee_id": "E0001", "change": "departed"}))  # fmt: skip
    assert check_event(roster, 200, b"E0001", LIMITS, NOW) is None
    assert str(check_event(roster, 200, b"g-rd", LIMITS, NOW)) == (
        "field 'employee_id': 'E0001' differs from the record key 'g-rd'"
    )


def test_size_limits_come_first() -> None:
    big = check_event(event("2126-01-01T00:00:00Z"), 3_145_728, b"other", LIMITS, NOW)
    assert big is not None and big.check == "size" and str(big) == "record is 3145728 bytes (limit 524288)"
    assert check_event(event(), LIMITS.max_record_bytes, b"g-rd", LIMITS, NOW) is None
    mentions = [f"wx_{n}" for n in range(501)]
    crowded = check_event(event(mentions=mentions), 200, b"g-rd", LIMITS, NOW)
    assert str(crowded) == "field 'mentions': 501 mentions (limit 500)"
    assert check_event(event(mentions=mentions[:500]), 200, b"g-rd", LIMITS, NOW) is None


def test_record_size_counts_key_value_and_headers() -> None:
    assert record_size(None, None) == 0
    assert record_size(b"g-rd", b"{}", [("trace", b"abc"), ("x", b"")]) == 4 + 2 + 5 + 3 + 1


def test_a_file_line_is_checked_as_feed_produces_it() -> None:
    line = orjson.dumps({"kind": "message", "event_id": "e1", "ts": "2026-12-02T10:00:00+08:00",
                         "group_id": "g-rd", "sender_id": "wx_a"})  # fmt: skip
    decoded = decode_event(line)
    assert check_line(decoded, line + b"\r\n", LIMITS, NOW) is None
    exact = AdmissionLimits(max_record_bytes=len(line) + len(b"g-rd"))
    assert check_line(decoded, line + b"\n", exact, NOW) is None
    assert check_line(decoded, line, AdmissionLimits(max_record_bytes=len(line)), NOW) is not None


def policy_with(**sections: dict[str, Any]) -> Policy:
    return replace(load_policy(), sections=sections)


def test_limits_come_from_the_policy_with_the_shipped_defaults() -> None:
    assert AdmissionLimits.from_policy(load_policy()) == AdmissionLimits()
    assert AdmissionLimits.from_policy(policy_with()) == AdmissionLimits()
    custom = policy_with(input={"max_mentions": 20}, event_time={"max_ahead_seconds": 600})
    assert AdmissionLimits.from_policy(custom) == AdmissionLimits(max_mentions=20, max_ahead_seconds=600)


@pytest.mark.parametrize(
    "bad", [{"max_record_bytes": "1MB"}, {"max_record_bytes": -1}, {"max_mentions": True}]
)
def test_a_malformed_limit_is_a_policy_error(bad: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match=r"\[input\] max_"):
        AdmissionLimits.from_policy(policy_with(input=bad))
