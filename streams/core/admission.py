"""Admission: what a decoded input event must satisfy before any detector judges it.

`check_event` is the one check the live worker (at the door: input topics only, where a record's
Kafka key is the producer's), `qunguard feed` and the offline commands (`replay`, `report groups`,
`discipline --events`, `scan --file`) all run after the codec has accepted a record:

- the record as produced is at most `[input] max_record_bytes` (key + value + headers) and a
  message names at most `[input] max_mentions` accounts;
- the record's key is the event's partition key (`group_id`, `employee_id` on `hr.roster`), so one
  group's state never splits across partitions; a record without a key is refused too (it would
  land on an arbitrary partition). A file line has no key: feed and the offline commands check it
  keyed as feed produces it, by its own `group_id` / `employee_id`;
- `ts` lies within datetime arithmetic's safe range (SAFE_EARLIEST..SAFE_LATEST: no detector adding
  or subtracting a window overflows) and within the policy's window around the wall clock:
  at most `[event_time] max_ahead_seconds` ahead, at most `max_behind_days` behind. So no single
  event moves a key's event time (a behaviour window's watermark, a ladder's newest violation)
  beyond `now + max_ahead_seconds`.

A refusal names the field the way the codec's DecodeError does (docs/contract.md, dead letters).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from streams.core.policy import Policy, PolicyError
from topics.events import Event, MessageEvent

# Far enough inside datetime's years 1..9999 that any window a policy can sensibly name (days to
# centuries) and any UTC offset still fit, so an admitted event never overflows a detector.
SAFE_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
SAFE_LATEST = datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
DAY = 86400
UNITS = (("day", DAY), ("hour", 3600), ("minute", 60), ("second", 1))

Check = Literal["size", "key", "event_time"]  # which check refused; the worker's metric label


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    """The policy's `[input]` and `[event_time]` bounds; the defaults are the shipped policy's."""

    max_record_bytes: int = 524_288
    max_mentions: int = 500
    max_ahead_seconds: float = DAY
    max_behind_days: float = 3650

    @classmethod
    def from_policy(cls, policy: Policy) -> AdmissionLimits:
        inputs, event_time, default = policy.section("input"), policy.section("event_time"), cls()
        return cls(
            max_record_bytes=int(_number(inputs, "input", "max_record_bytes", default.max_record_bytes)),
            max_mentions=int(_number(inputs, "input", "max_mentions", default.max_mentions)),
            max_ahead_seconds=_number(
                event_time, "event_time", "max_ahead_seconds", default.max_ahead_seconds
            ),
            max_behind_days=_number(event_time, "event_time", "max_behind_days", default.max_behind_days),
        )

    def oversized(self, record_bytes: int) -> bool:
        return record_bytes > self.max_record_bytes


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event is not admitted: the check, the offending field ('-' for the whole record), why."""

    check: Check
    field: str
    reason: str

    def __str__(self) -> str:
        return self.reason if self.field == "-" else f"field {self.field!r}: {self.reason}"


def record_size(key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]] = ()) -> int:
    """A record's size as the size limit counts it: key, value and header names and values."""
    size = len(key or b"") + len(value or b"")
    return size + sum(len(name.encode("utf-8")) + len(data or b"") for name, data in headers)


def check_event(
    event: Event, raw_size: int, key: bytes | None, limits: AdmissionLimits, now: datetime
) -> Refusal | None:
    """The first reason `event` (its record `raw_size` bytes, keyed `key`, seen at wall clock
    `now`) may not be judged, or None when it may."""
    if limits.oversized(raw_size):
        return Refusal("size", "-", f"record is {raw_size} bytes (limit {limits.max_record_bytes})")
    if isinstance(event, MessageEvent) and len(event.mentions) > limits.max_mentions:
        reason = f"{len(event.mentions)} mentions (limit {limits.max_mentions})"
        return Refusal("size", "mentions", reason)
    return _check_key(event, key) or _check_ts(event.ts, limits, now)


def check_line(event: Event, line: bytes, limits: AdmissionLimits, now: datetime) -> Refusal | None:
    """`check_event` for a line of an events file as `qunguard feed` produces it: the line without
    its line ending as the value, keyed by the event's own partition key."""
    key = event.key.encode("utf-8")
    return check_event(event, record_size(key, line.rstrip(b"\r\n")), key, limits, now)


def _check_key(event: Event, key: bytes | None) -> Refusal | None:
    field = "employee_id" if event.kind == "roster" else "group_id"
    if key is None:
        return Refusal("key", field, f"the record has no key (expected {event.key!r})")
    if key != event.key.encode("utf-8"):
        shown = key.decode("utf-8", "replace")
        return Refusal("key", field, f"{event.key!r} differs from the record key {shown!r}")
    return None


def _check_ts(ts: datetime, limits: AdmissionLimits, now: datetime) -> Refusal | None:
    if not SAFE_EARLIEST <= ts <= SAFE_LATEST:  # aware comparisons never overflow
        supported = f"{SAFE_EARLIEST.date()} to {SAFE_LATEST.date()} UTC"
        return Refusal("event_time", "ts", f"{ts.isoformat()} is outside the supported range ({supported})")
    ahead = (ts - now).total_seconds()
    if ahead > limits.max_ahead_seconds:
        amount, limit = _span(ahead, limits.max_ahead_seconds)
        return Refusal("event_time", "ts", f"{ts.isoformat()} is {amount} in the future (limit {limit})")
    behind_limit = limits.max_behind_days * DAY
    if -ahead > behind_limit:
        amount, limit = _span(-ahead, behind_limit)
        return Refusal("event_time", "ts", f"{ts.isoformat()} is {amount} in the past (limit {limit})")
    return None


def _span(seconds: float, limit_seconds: float) -> tuple[str, str]:
    """`seconds` and the limit it exceeds, both in the limit's unit (days, hours, minutes or
    seconds), the amount rounded up so it never reads as equal to the limit."""
    unit, size = next(
        (unit, size)
        for unit, size in UNITS
        if size == 1 or (limit_seconds >= size and limit_seconds % size == 0)
    )
    value = seconds / size
    amount = math.ceil(value * 10) / 10 if value < 10 else math.ceil(value)
    return _plural(amount, unit), _plural(limit_seconds / size, unit)


def _plural(value: float, unit: str) -> str:
    text = f"{value:g}" if value != int(value) else str(int(value))
    return f"{text} {unit}" if text == "1" else f"{text} {unit}s"


def _number(section: dict[str, Any], name: str, key: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PolicyError(f"[{name}] {key}: expected a non-negative number, got {value!r}")
    return float(value)
