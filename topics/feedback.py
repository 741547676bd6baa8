"""Reviewers' feedback on `moderation.feedback` (SPEC §1-2): a verdict on a violation, a missed message.

Stable API (review tools, the notifier's review links, the worker):

- build a record: ``Verdict(feedback_id, ts, violation_id, group_id, verdict, reviewer_id, note="")``
  with ``verdict`` one of ``CONFIRMED`` / ``FALSE_POSITIVE``, or ``MissedReport(feedback_id, ts,
  event_id, group_id, rule, reviewer_id, text="")``; ``ts`` is a timezone-aware ``datetime``;
- encode: ``record.to_bytes()`` (one UTF-8 JSON object, ``kind`` included, ``ts`` RFC 3339) or
  ``record.to_dict()`` (the same as a JSON-ready mapping); ``record.key`` is the topic key
  (``group_id``), ``FEEDBACK`` in ``topics.catalog`` the topic;
- decode: ``decode_feedback(bytes | str | Mapping) -> Verdict | MissedReport``; a bad record raises
  ``topics.codec.DecodeError`` naming the bad field (``"-"`` for the whole record), the one error the
  worker dead-letters on.

Field names are SPEC §2's. Required: every field but ``note`` / ``text`` (default ""), which hold at
most 64 KiB of UTF-8 like a message's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from topics.codec import DecodeError, encode, loads, read_str, read_text, read_ts
from topics.timeutil import format_ts

CONFIRMED = "confirmed"
FALSE_POSITIVE = "false_positive"
VERDICTS = frozenset({CONFIRMED, FALSE_POSITIVE})
KINDS = frozenset({"verdict", "missed"})  # the record kinds of moderation.feedback


class _Record:
    """What both kinds share: the topic key and the encoding (fields in declared order, `kind` first)."""

    __slots__ = ()

    @property
    def key(self) -> str:
        return self.group_id  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}  # type: ignore[attr-defined]
        for f in fields(self):  # type: ignore[arg-type]
            if f.name != "kind":
                value = getattr(self, f.name)
                out[f.name] = format_ts(value) if isinstance(value, datetime) else value
        return out

    def to_bytes(self) -> bytes:
        return encode(self.to_dict())


@dataclass(frozen=True, slots=True)
class Verdict(_Record):
    feedback_id: str
    ts: datetime
    violation_id: str
    group_id: str
    verdict: str
    reviewer_id: str
    note: str = ""
    kind: str = field(default="verdict", init=False)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {sorted(VERDICTS)}, not {self.verdict!r}")
        _require_offset(self.ts)


@dataclass(frozen=True, slots=True)
class MissedReport(_Record):
    feedback_id: str
    ts: datetime
    event_id: str
    group_id: str
    rule: str
    reviewer_id: str
    text: str = ""
    kind: str = field(default="missed", init=False)

    def __post_init__(self) -> None:
        _require_offset(self.ts)


Feedback = Verdict | MissedReport


def _require_offset(ts: datetime) -> None:
    if ts.tzinfo is None:
        raise ValueError(f"ts needs a UTC offset (RFC 3339), got the naive {ts.isoformat()}")


def decode_feedback(data: bytes | str | Mapping[str, Any] | None) -> Feedback:
    """Decode and validate one feedback record (SPEC §2); raise DecodeError naming the bad field."""
    if data is None:
        raise DecodeError("-", "empty record (no value)")
    obj = data if isinstance(data, Mapping) else loads(data)
    kind = obj.get("kind")
    if kind == "verdict":
        verdict = read_str(obj, "verdict")
        if verdict not in VERDICTS:
            raise DecodeError("verdict", f"unknown verdict {verdict!r}; expected confirmed or false_positive")
        return Verdict(
            feedback_id=read_str(obj, "feedback_id"),
            ts=read_ts(obj, "ts"),
            violation_id=read_str(obj, "violation_id"),
            group_id=read_str(obj, "group_id"),
            verdict=verdict,
            reviewer_id=read_str(obj, "reviewer_id"),
            note=read_text(obj, "note"),
        )
    if kind == "missed":
        return MissedReport(
            feedback_id=read_str(obj, "feedback_id"),
            ts=read_ts(obj, "ts"),
            event_id=read_str(obj, "event_id"),
            group_id=read_str(obj, "group_id"),
            rule=read_str(obj, "rule"),
            reviewer_id=read_str(obj, "reviewer_id"),
            text=read_text(obj, "text"),
        )
    raise DecodeError("kind", f"unknown kind {kind!r}; expected verdict or missed")


__all__ = [
    "CONFIRMED",
    "FALSE_POSITIVE",
    "KINDS",
    "VERDICTS",
    "Feedback",
    "MissedReport",
    "Verdict",
    "decode_feedback",
]
