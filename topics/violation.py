"""The violation record (SPEC §5)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def violation_id(rule: str, subject_id: str | None, group_id: str | None, event_ids: Iterable[str]) -> str:
    """Deterministic id: the same rule, subject, group and source events always give the same id."""
    material = "\x1f".join([rule, subject_id or "", group_id or "", *sorted(event_ids)])
    return "v-" + hashlib.blake2b(material.encode("utf-8"), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class Violation:
    violation_id: str
    rule: str
    severity: str
    actions: tuple[str, ...]
    group_id: str | None
    subject_id: str | None
    employee_id: str | None
    source_event_ids: tuple[str, ...]
    event_ts: str
    detected_at: str
    clause: str
    evidence: dict[str, Any] = field(default_factory=dict)
    policy_version: str = ""

    @property
    def key(self) -> str:
        """Topic key (SPEC §1): the group, or the employee when there is no group."""
        return self.group_id or self.employee_id or self.subject_id or ""
