"""A violation record (SPEC §5) as the notifier reads it: strict about the fields it needs."""

from __future__ import annotations

from typing import Any

from topics.codec import DecodeError, loads
from topics.violation import Violation


def decode_violation_record(data: bytes | str | None) -> Violation:
    """Decode one record of moderation.violations; raise DecodeError naming the bad field."""
    if data is None:
        raise DecodeError("-", "empty record (no value)")
    obj = loads(data)
    actions = obj.get("actions")
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise DecodeError("actions", "expected a list of action names")
    source = obj.get("source_event_ids") or []
    if not isinstance(source, list) or not all(isinstance(s, str) for s in source):
        raise DecodeError("source_event_ids", "expected a list of event ids")
    evidence = obj.get("evidence") or {}
    if not isinstance(evidence, dict):
        raise DecodeError("evidence", "expected an object")
    return Violation(
        violation_id=_required(obj, "violation_id"),
        rule=_required(obj, "rule"),
        severity=_required(obj, "severity"),
        actions=tuple(actions),
        group_id=_optional(obj, "group_id"),
        subject_id=_optional(obj, "subject_id"),
        employee_id=_optional(obj, "employee_id"),
        source_event_ids=tuple(source),
        event_ts=_optional(obj, "event_ts") or "",
        detected_at=_optional(obj, "detected_at") or "",
        clause=_optional(obj, "clause") or "",
        evidence=evidence,
        policy_version=_optional(obj, "policy_version") or "",
    )


def _required(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if value is None:
        raise DecodeError(name, "missing required field")
    if not isinstance(value, str) or not value:
        raise DecodeError(name, "expected a non-empty string")
    return value


def _optional(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise DecodeError(name, "expected a string or null")
    return value
