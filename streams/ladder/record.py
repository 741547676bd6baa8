"""An employee's disciplinary record, read from their ladder state (streams.ladder.steps) as of a time.

The live worker writes each employee's ladder state to Redis as a read model; `qunguard discipline`
reads it there, or rebuilds it offline from an events file. Both judge it here, as of `now`:
counts cover the policy window ending at `now`, and every step names the violation that caused it.

"At or near a threshold" (`flags`): `review` — a dismissal review was issued inside the window;
`near review` — one more demerit (a demerit-ladder violation, or the warning that completes a
conversion) issues a dismissal review; `near demerit` — one more warning converts to a demerit.

Steps withdrawn because a violation was judged a false positive (streams.ladder.retraction) are
not steps any more: they are listed apart (`withdrawn`), each with why, and a retracted violation
counts for nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from streams.ladder.steps import REVIEW, LadderPolicy, demerits, in_window, pending_warnings, retracted
from topics.timeutil import format_ts


@dataclass(frozen=True, slots=True)
class Step:
    """One discipline record and the violation that triggered it."""

    step: str
    event_ts: str
    rule: str
    group_id: str | None
    subject_id: str | None
    violation_id: str
    event_ids: tuple[str, ...]
    warnings: int
    demerits: int


@dataclass(frozen=True, slots=True)
class WithdrawnStep:
    """A step that fell: the violation that had issued it, and why (streams.ladder.retraction)."""

    step: str
    event_ts: str
    rule: str
    group_id: str | None
    subject_id: str | None
    violation_id: str
    event_ids: tuple[str, ...]
    reason: str  # false_positive | conversion | threshold
    retracted_violation_id: str  # the violation judged a false positive
    retracted_rule: str
    feedback_id: str
    reviewer_id: str
    at: str  # the verdict's time


@dataclass(frozen=True, slots=True)
class EmployeeRecord:
    employee_id: str
    as_of: str
    warnings: int  # unconverted warnings in the window
    demerits: int  # demerits in the window, converted ones included
    reviews: int  # dismissal reviews in the window
    steps: tuple[Step, ...]
    flags: tuple[str, ...]
    violations: int  # ladder violations in the window, retracted ones not included
    withdrawn: tuple[WithdrawnStep, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _trigger(entry: dict[str, Any]) -> dict[str, Any]:
    """The fields of a step that describe the violation behind it (a ladder entry)."""
    return {
        "event_ts": entry["event_ts"],
        "rule": entry["rule"],
        "group_id": entry["group"],
        "subject_id": entry["subject"],
        "violation_id": entry["id"],
        "event_ids": tuple(entry["events"]),
    }


def employee_record(
    employee_id: str, value: dict[str, Any] | None, now: datetime, rules: LadderPolicy
) -> EmployeeRecord:
    entries = in_window((value or {}).get("entries", []), now.timestamp(), rules)
    steps = tuple(
        Step(step=step, **_trigger(e), warnings=e["warnings"], demerits=e["demerits"])
        for e in entries
        for step in e["steps"]
    )
    withdrawn = tuple(
        WithdrawnStep(
            step=w["step"],
            **_trigger(e),
            reason=w["reason"],
            retracted_violation_id=w["retracted"],
            retracted_rule=w["retracted_rule"],
            feedback_id=w["feedback_id"],
            reviewer_id=w["reviewer_id"],
            at=w["at"],
        )
        for e in entries
        for w in e.get("withdrawn", ())
    )
    warnings, total = pending_warnings(entries), demerits(entries)
    reviews = sum(1 for s in steps if s.step == REVIEW)
    return EmployeeRecord(
        employee_id=employee_id,
        as_of=format_ts(now),
        warnings=warnings,
        demerits=total,
        reviews=reviews,
        steps=steps,
        flags=flags(warnings, total, reviews, rules),
        violations=sum(1 for e in entries if not retracted(e)),
        withdrawn=withdrawn,
    )


def flags(warnings: int, total_demerits: int, reviews: int, rules: LadderPolicy) -> tuple[str, ...]:
    found = []
    if reviews:
        found.append("review")
    one_more_demerit = total_demerits + 1 == rules.demerits_per_review
    completes = warnings + 1 >= rules.warnings_per_demerit
    if one_more_demerit:
        found.append("near review")
    if completes and warnings > 0:
        found.append("near demerit")
    return tuple(found)
