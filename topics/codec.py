"""orjson codecs for every record on qunguard's topics, with validation that names the bad field."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

import orjson

from topics.events import (
    MEMBERSHIP_ACTIONS,
    MSG_TYPES,
    ROSTER_CHANGES,
    Attachment,
    Event,
    MembershipEvent,
    MessageEvent,
    RosterEvent,
)
from topics.reference import Employee, FieldError
from topics.timeutil import parse_ts
from topics.violation import Violation

MAX_TEXT_BYTES = 64 * 1024


class DecodeError(ValueError):
    """A record that cannot be processed. `field` is the offending field, or '-' for the whole record."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{reason}" if field == "-" else f"field {field!r}: {reason}")


def encode(record: Any) -> bytes:
    """Serialize a record (dataclass or mapping) to one JSON object; datetimes as RFC 3339.

    Copied out of orjson's buffer, which keeps at least 4 KB allocated for any output (orjson
    3.12+): a 100,000-event roster load held 400 MB more for its outbox alone."""
    return bytes(memoryview(orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)))


def loads(data: bytes | str) -> dict[str, Any]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("-", f"not UTF-8 at byte {exc.start}") from None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("-", f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise DecodeError("-", f"expected a JSON object, got {type(obj).__name__}")
    return obj


def decode_event(data: bytes | str | Mapping[str, Any]) -> Event:
    """Decode and validate one input event (SPEC §2); raise DecodeError naming the bad field."""
    obj = data if isinstance(data, Mapping) else loads(data)
    kind = obj.get("kind")
    builder = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise DecodeError("kind", f"unknown kind {kind!r}; expected message, membership or roster")
    return builder(obj)


def decode_violation(data: bytes | str | None, require: Iterable[str] = ()) -> Violation:
    """Decode one violation record (SPEC §5); raise DecodeError naming the bad field.

    `violation_id`, `rule` and `severity` are always required; `require` names the optional
    fields a reader cannot do without (the ladder: `employee_id` and `event_ts`). An `event_ts`
    that is present must be an RFC 3339 time.
    """
    if data is None:
        raise DecodeError("-", "empty record (no value)")
    obj = loads(data)
    evidence = obj.get("evidence") or {}
    if not isinstance(evidence, dict):
        raise DecodeError("evidence", "expected an object")
    violation = Violation(
        violation_id=read_str(obj, "violation_id"),
        rule=read_str(obj, "rule"),
        severity=read_str(obj, "severity"),
        actions=_strings(obj, "actions"),
        group_id=read_opt_str(obj, "group_id"),
        subject_id=read_opt_str(obj, "subject_id"),
        employee_id=read_opt_str(obj, "employee_id"),
        source_event_ids=_strings(obj, "source_event_ids", missing_ok=True),
        event_ts=read_opt_str(obj, "event_ts") or "",
        detected_at=read_opt_str(obj, "detected_at") or "",
        clause=read_opt_str(obj, "clause") or "",
        evidence=evidence,
        policy_version=read_opt_str(obj, "policy_version") or "",
    )
    for name in require:
        read_str(obj, name)
    if violation.event_ts:
        read_ts(obj, "event_ts")
    return violation


def _message(obj: Mapping[str, Any]) -> MessageEvent:
    text = read_text(obj, "text")
    msg_type = read_opt_str(obj, "msg_type") or "text"
    if msg_type not in MSG_TYPES:
        raise DecodeError("msg_type", f"unknown msg_type {msg_type!r}")
    mentions = obj.get("mentions") or []
    if not isinstance(mentions, list) or not all(isinstance(m, str) for m in mentions):
        raise DecodeError("mentions", "expected a list of account ids")
    return MessageEvent(
        event_id=read_str(obj, "event_id"),
        ts=read_ts(obj, "ts"),
        group_id=read_str(obj, "group_id"),
        sender_id=read_str(obj, "sender_id"),
        sender_name=read_opt_str(obj, "sender_name") or "",
        msg_type=msg_type,
        text=text,
        mentions=tuple(mentions),
        mention_all=_bool(obj, "mention_all"),
        reply_to=read_opt_str(obj, "reply_to"),
        urgent=_bool(obj, "urgent"),
        attachment=_attachment(obj.get("attachment")),
    )


def _membership(obj: Mapping[str, Any]) -> MembershipEvent:
    action = read_str(obj, "action")
    if action not in MEMBERSHIP_ACTIONS:
        raise DecodeError("action", f"unknown action {action!r}")
    member_id = read_opt_str(obj, "member_id")
    if member_id is None and action not in ("group_created", "group_renamed", "group_dissolved"):
        raise DecodeError("member_id", f"required for {action}")
    return MembershipEvent(
        event_id=read_str(obj, "event_id"),
        ts=read_ts(obj, "ts"),
        group_id=read_str(obj, "group_id"),
        action=action,
        member_id=member_id,
        actor_id=read_opt_str(obj, "actor_id"),
        nickname=read_opt_str(obj, "nickname"),
        group_name=read_opt_str(obj, "group_name"),
    )


def _roster(obj: Mapping[str, Any]) -> RosterEvent:
    change = read_str(obj, "change")
    if change not in ROSTER_CHANGES:
        raise DecodeError("change", f"unknown change {change!r}")
    employee_id = read_str(obj, "employee_id")
    record = obj.get("record")
    if change == "upsert" and not isinstance(record, dict):
        raise DecodeError("record", "an upsert needs the employee record")
    if isinstance(record, dict):
        try:
            employee = Employee.from_mapping(record)
        except FieldError as exc:
            raise DecodeError(f"record.{exc.field}", exc.reason) from None
        if employee.employee_id != employee_id:
            raise DecodeError("record.employee_id", "differs from the event's employee_id")
    elif record is not None:
        raise DecodeError("record", "expected an object")
    return RosterEvent(
        event_id=read_str(obj, "event_id"),
        ts=read_ts(obj, "ts"),
        employee_id=employee_id,
        change=change,
        record=record,
    )


def _attachment(value: Any) -> Attachment | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise DecodeError("attachment", "expected an object or null")
    size = value.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise DecodeError("attachment.size", "expected a non-negative integer")
    name, url = value.get("name") or "", value.get("url") or ""
    if not isinstance(name, str) or not isinstance(url, str):
        raise DecodeError("attachment", "name and url must be strings")
    return Attachment(name=name, size=size, url=url)


def read_str(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    if value is None:
        raise DecodeError(name, "missing required field")
    if not isinstance(value, str) or not value:
        raise DecodeError(name, "expected a non-empty string")
    return value


def read_opt_str(obj: Mapping[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise DecodeError(name, "expected a string or null")
    return value


def read_text(obj: Mapping[str, Any], name: str) -> str:
    """Free text (a message, a reviewer's note): optional, at most MAX_TEXT_BYTES of UTF-8."""
    value = read_opt_str(obj, name) or ""
    if len(value.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise DecodeError(name, f"longer than {MAX_TEXT_BYTES} bytes")
    return value


def _strings(obj: Mapping[str, Any], name: str, missing_ok: bool = False) -> tuple[str, ...]:
    value = obj.get(name)
    if value is None and missing_ok:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DecodeError(name, "expected a list of strings")
    return tuple(value)


def _bool(obj: Mapping[str, Any], name: str) -> bool:
    value = obj.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DecodeError(name, "expected true or false")
    return value


def read_ts(obj: Mapping[str, Any], name: str) -> datetime:
    if obj.get(name) is None:
        raise DecodeError(name, "missing required field")
    try:
        return parse_ts(obj[name])
    except ValueError as exc:
        raise DecodeError(name, str(exc)) from None


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    "message": _message,
    "membership": _membership,
    "roster": _roster,
}


def to_dict(record: Any) -> dict[str, Any]:
    return asdict(record) if is_dataclass(record) else dict(record)


# The field readers (read_*) are shared with topics.feedback, so every record names its bad field alike.
__all__ = [
    "MAX_TEXT_BYTES",
    "DecodeError",
    "decode_event",
    "decode_violation",
    "encode",
    "loads",
    "read_opt_str",
    "read_str",
    "read_text",
    "read_ts",
]
