"""Retraction (SPEC §4 `discipline.retracted`): a violation judged a false positive counts for nothing in
its employee's ladder any more, and the steps that stood on it fall.

Given the employee's ladder entries (streams.ladder.steps) and the violation judged false positive:

- its entry is marked retracted: every step it issued (warning, demerit, review) is withdrawn, and it
  no longer counts (pending warnings, the content.ad 2nd offence);
- a demerit converted from warnings falls when one of them is retracted (the judged violation's own
  conversion included); the conversion's other warnings count as pending again;
- a dismissal review falls when the demerit that issued it falls, or when the demerits it counted
  drop below `demerits_per_dismissal_review`;
- nothing is issued: a verdict only withdraws. (Restored warnings can bring the pending count to the
  threshold or past it; the employee's next warning then converts them all into one demerit.)

Each withdrawn step is written on the entry that issued it (`withdrawn`: the step, why, the judged
violation, feedback id, reviewer and time, the counts after) for `qunguard discipline show`, and gives one
`discipline.retracted` record. Idempotent: retracting a violation already retracted changes nothing,
and the records are rebuilt from what was written, so a redelivered verdict gives back the same records
(same ids). A violation the ladder never counted, or no longer holds (out of the window), gives none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.core.policy import Policy
from streams.ladder.steps import (
    DEMERIT,
    RETRACTED,
    REVIEW,
    Entry,
    Ladder,
    LadderPolicy,
    demerits,
    pending_warnings,
    retracted,
    step_id,
)
from topics.feedback import Verdict
from topics.timeutil import format_ts
from topics.violation import Violation, violation_id

# Why a step was withdrawn.
FALSE_POSITIVE = "false_positive"  # the violation that issued it was judged a false positive
CONVERSION = "conversion"  # one of the warnings it was converted from was judged a false positive
THRESHOLD = "threshold"  # a review whose demerits dropped below demerits_per_dismissal_review
REASONS = (FALSE_POSITIVE, CONVERSION, THRESHOLD)


@dataclass(frozen=True, slots=True)
class Cause:
    """Who retracted, when (RFC 3339, the verdict's time) and through which feedback record."""

    feedback_id: str
    reviewer_id: str
    at: str

    @classmethod
    def of(cls, verdict: Verdict) -> Cause:
        return cls(verdict.feedback_id, verdict.reviewer_id, format_ts(verdict.ts))


def retract(
    entries: list[Entry], judged_id: str, cause: Cause, rules: LadderPolicy
) -> tuple[list[Entry], bool]:
    """The entries after retracting violation `judged_id`, and whether anything changed. `entries` is
    not modified."""
    entries = [dict(e) for e in entries]
    at = next((i for i, e in enumerate(entries) if e["id"] == judged_id), None)
    if at is None or retracted(entries[at]):
        return entries, False
    judged = entries[at]
    who = {"feedback_id": cause.feedback_id, "reviewer_id": cause.reviewer_id, "at": cause.at}
    judged["retracted"] = who
    fallen: list[dict[str, Any]] = []

    def fall(index: int, step: str, reason: str) -> None:
        entry = entries[index]
        if step not in entry["steps"]:
            return
        item = {
            "step": step,
            "reason": reason,
            "retracted": judged_id,
            "retracted_rule": judged["rule"],
            **who,
        }
        entry["steps"] = [s for s in entry["steps"] if s != step]
        entry["withdrawn"] = [*entry.get("withdrawn", ()), item]
        fallen.append(item)
        if step != DEMERIT:
            return
        fall(index, REVIEW, reason)  # a review falls with the demerit that issued it
        # the demerit no longer counts towards the reviews issued after it
        for later in range(index + 1, len(entries)):
            entries[later]["demerits"] -= 1
            if entries[later]["demerits"] < rules.demerits_per_review:
                fall(later, REVIEW, THRESHOLD)

    conversion = _conversion_of(entries, at) if judged["ladder"] == "warning" else None
    for step in list(judged["steps"]):
        fall(at, step, FALSE_POSITIVE)
    if conversion is not None:
        converter, converted = conversion
        fall(converter, DEMERIT, CONVERSION)
        for index in converted:
            if index != at:
                entries[index]["converted"] = False
    for item in fallen:
        item["warnings"], item["demerits"] = pending_warnings(entries), demerits(entries)
    return entries, True


def _conversion_of(entries: list[Entry], at: int) -> tuple[int, list[int]] | None:
    """The standing conversion that converted warning `at`: its converter's index and the indexes of
    the warnings it converted. None when `at` is pending or its converter left the window."""
    if not entries[at]["converted"]:
        return None
    for index in range(at, len(entries)):
        if not _converts(entries[index]):
            continue
        converts = entries[index].get("converts")
        if converts is None:
            # written before conversions listed their warnings: the first standing conversion from
            # `at` on converted it, with the warnings counted since the standing conversion before
            start = max((i for i in range(at) if _converts(entries[i])), default=-1) + 1
            return index, [i for i in range(start, index + 1) if entries[i]["ladder"] == "warning"]
        if entries[at]["id"] in converts:
            return index, [i for i, e in enumerate(entries) if e["id"] in converts]
    return None


def _converts(entry: Entry) -> bool:
    return entry["ladder"] == "warning" and DEMERIT in entry["steps"]


def retraction_records(
    employee_id: str,
    entries: list[Entry],
    judged_id: str,
    policy: Policy,
    rules: LadderPolicy,
    clock: Callable[[], datetime] | None = None,
) -> list[Violation]:
    """One `discipline.retracted` record per step the retraction of `judged_id` withdrew, in ladder
    order (none for a step whose rule, or discipline.retracted, is disabled). `clock` None: replay
    semantics, detected_at is the verdict's time."""
    if not policy.enabled(RETRACTED):
        return []
    rule = policy.rule(RETRACTED)
    out = []
    for entry in entries:
        for item in entry.get("withdrawn", ()):
            if item["retracted"] != judged_id or not policy.enabled(item["step"]):
                continue
            withdrawn_id = step_id(item["step"], employee_id, entry["id"])
            out.append(
                Violation(
                    violation_id=violation_id(RETRACTED, employee_id, None, (withdrawn_id,)),
                    rule=RETRACTED,
                    severity=rule.severity,
                    actions=rule.actions,
                    group_id=entry["group"],
                    subject_id=entry["subject"],
                    employee_id=employee_id,
                    source_event_ids=tuple(entry["events"]),
                    event_ts=item["at"],
                    detected_at=format_ts(clock()) if clock else item["at"],
                    clause=rule.clause,
                    evidence={
                        "step": item["step"],
                        "step_violation_id": withdrawn_id,
                        "violation_id": entry["id"],
                        "rule": entry["rule"],
                        "reason": item["reason"],
                        "retracted_violation_id": judged_id,
                        "retracted_rule": item["retracted_rule"],
                        "feedback_id": item["feedback_id"],
                        "reviewer_id": item["reviewer_id"],
                        "warnings": item["warnings"],
                        "demerits": item["demerits"],
                        "window_days": rules.window_days,
                    },
                    policy_version=policy.version,
                )
            )
    return out


def retract_violation(ladder: Ladder, employee_id: str, judged_id: str, cause: Cause) -> list[Violation]:
    """Retract `judged_id` in `employee_id`'s ladder state (the worker's table, replay's map) and give
    the `discipline.retracted` records; the same again on a repeat, with the state unchanged."""
    stored = ladder.state.get(employee_id)
    if not stored:
        return []
    entries, changed = retract(stored["entries"], judged_id, cause, ladder.rules)
    if changed:
        ladder.state[employee_id] = {**stored, "entries": entries}
    return retraction_records(employee_id, entries, judged_id, ladder.policy, ladder.rules, ladder.clock)


__all__ = [
    "CONVERSION",
    "FALSE_POSITIVE",
    "REASONS",
    "THRESHOLD",
    "Cause",
    "retract",
    "retract_violation",
    "retraction_records",
]
