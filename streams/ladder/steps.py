"""The escalation ladder (SPEC §4, D4.4): per employee, across all their accounts and groups.

A violation of a rule with a ladder (policy `Rule.ladder`) by a known employee is counted in that
employee's ladder state and turned into the records to emit: the violation itself (for a rule with
`repeat_offence_actions`, such as content.ad, the 2nd and later offence inside the window carries
those actions too; its violation_id is unchanged) and the `discipline.*` steps it triggers:

- a `warning`-ladder violation issues discipline.warning; the `warnings_per_demerit`-th unconverted
  warning also issues discipline.demerit and converts those warnings (the warning count resets);
- a `demerit`-ladder violation issues discipline.demerit;
- a demerit that brings the demerits in the window (converted ones included) to
  `demerits_per_dismissal_review` or more also issues discipline.dismissal_review; a review does
  not reset the count, so every further demerit in the window issues another.

Counts cover `[ladder] window_days` of event time ending at the newest violation seen for the
employee (docs/ladder.md has the readings SPEC leaves open). Outsiders (no employee_id) have no
ladder. A violation_id already counted never counts again: it gives back exactly the records it
gave the first time (same ids), so redelivery and replay are harmless.

State: one JSON value per employee id in the "employee"-partitioned map `LADDER_MAP`:
`{"newest": epoch seconds, "entries": [entry, ...]}`, entries older than the window dropped on
every write. An entry is one counted violation (see `_entry`); a violation judged a false positive
stays as a retracted entry, its fallen steps listed on the entries that issued them
(streams.ladder.retraction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from streams.core.policy import Policy, PolicyError
from streams.core.state import StateSource
from topics.timeutil import format_ts, parse_ts
from topics.violation import Violation, violation_id

LADDER_MAP = "ladder.employee"
WARNING = "discipline.warning"
DEMERIT = "discipline.demerit"
REVIEW = "discipline.dismissal_review"
RETRACTED = "discipline.retracted"
# The discipline.* rules the ladder emits: its steps, and the withdrawal of one (streams.ladder.retraction).
STEPS = (WARNING, DEMERIT, REVIEW, RETRACTED)

Clock = Callable[[], datetime]
Entry = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LadderPolicy:
    window_seconds: float = 365 * 86400.0
    warnings_per_demerit: int = 3
    demerits_per_review: int = 3

    @classmethod
    def from_policy(cls, policy: Policy) -> LadderPolicy:
        section = policy.section("ladder")
        values = {
            "window_days": section.get("window_days", 365),
            "warnings_per_demerit": section.get("warnings_per_demerit", 3),
            "demerits_per_dismissal_review": section.get("demerits_per_dismissal_review", 3),
        }
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise PolicyError(f"[ladder] {name}: expected a positive number, got {value!r}")
        for name in ("warnings_per_demerit", "demerits_per_dismissal_review"):
            if values[name] != int(values[name]):
                raise PolicyError(f"[ladder] {name}: expected a whole number, got {values[name]!r}")
        return cls(
            window_seconds=float(values["window_days"]) * 86400.0,
            warnings_per_demerit=int(values["warnings_per_demerit"]),
            demerits_per_review=int(values["demerits_per_dismissal_review"]),
        )

    @property
    def window_days(self) -> float:
        return self.window_seconds / 86400.0


def in_window(entries: list[Entry], now: float, rules: LadderPolicy) -> list[Entry]:
    """The entries counted as of `now` (epoch seconds): newer than `now` minus the window."""
    return [e for e in entries if e["ts"] > now - rules.window_seconds]


def pending_warnings(entries: list[Entry]) -> int:
    return sum(1 for e in entries if is_pending(e))


def is_pending(entry: Entry) -> bool:
    """A warning that counts towards the next conversion."""
    return entry["ladder"] == "warning" and not entry["converted"] and not retracted(entry)


def demerits(entries: list[Entry]) -> int:
    return sum(1 for e in entries if DEMERIT in e["steps"])


def retracted(entry: Entry) -> bool:
    """Judged a false positive: it counts for nothing any more (streams.ladder.retraction)."""
    return "retracted" in entry


def step_id(step: str, employee_id: str | None, trigger_id: str) -> str:
    """The violation_id of a discipline step: from the step, the employee and the triggering violation."""
    return violation_id(step, employee_id, None, (trigger_id,))


class Ladder:
    def __init__(self, policy: Policy, state: StateSource, clock: Clock | None = None) -> None:
        self.policy = policy
        self.rules = LadderPolicy.from_policy(policy)
        for step in STEPS:
            policy.rule(step)  # a policy without the discipline rules is a configuration error
        self.state = state.map(LADDER_MAP, "employee")
        # None means replay semantics: detected_at equals the event time (as RuleEngine.clock).
        self.clock = clock

    def tracks(self, violation: Violation) -> bool:
        """Whether the ladder acts on `violation`: a known employee and a rule with a ladder or
        repeat-offence actions."""
        if violation.employee_id is None:
            return False
        rule = self.policy.rules.get(violation.rule)
        return rule is not None and (rule.ladder != "none" or bool(self._repeat_actions(violation.rule)))

    def may_change(self, violation: Violation) -> bool:
        """Whether `process` may return `violation` changed (repeat-offence actions)."""
        return self.tracks(violation) and bool(self._repeat_actions(violation.rule))

    def process(self, violation: Violation) -> list[Violation]:
        """The records to emit for `violation`: itself (maybe with repeat-offence actions) first,
        then the discipline steps it triggers. Updates the employee's state unless already counted."""
        if not self.tracks(violation):
            return [violation]
        employee = violation.employee_id or ""
        stored = self.state.get(employee) or {"newest": None, "entries": []}
        entries: list[Entry] = stored["entries"]
        for entry in entries:
            if entry["id"] == violation.violation_id:
                return self._records(violation, entry)
        ts = parse_ts(violation.event_ts).timestamp()
        newest = ts if stored["newest"] is None else max(ts, stored["newest"])
        counted = in_window(entries, newest, self.rules)
        if ts <= newest - self.rules.window_seconds:
            # older than the window as of the employee's newest violation: it counts for nothing
            if len(counted) != len(entries):
                self._store(employee, newest, counted)
            return [violation]
        counted, entry = self._count(violation, ts, counted)
        self._store(employee, newest, [*counted, entry])
        return self._records(violation, entry)

    def _count(self, violation: Violation, ts: float, counted: list[Entry]) -> tuple[list[Entry], Entry]:
        """The new entry for `violation` and the counted entries, warnings converted if it converts."""
        ladder = self.policy.rule(violation.rule).ladder
        steps: list[str] = []
        warnings = pending_warnings(counted)
        converts: list[str] = []
        if ladder == "warning":
            steps.append(WARNING)
            warnings += 1
            if warnings >= self.rules.warnings_per_demerit:
                steps.append(DEMERIT)
                converts = [e["id"] for e in counted if is_pending(e)] + [violation.violation_id]
                counted = [{**e, "converted": True} if is_pending(e) else e for e in counted]
        elif ladder == "demerit":
            steps.append(DEMERIT)
        total = demerits(counted) + (1 if DEMERIT in steps else 0)
        if DEMERIT in steps and total >= self.rules.demerits_per_review:
            steps.append(REVIEW)
        repeat = bool(self._repeat_actions(violation.rule)) and any(
            e["rule"] == violation.rule and not retracted(e) for e in counted
        )
        return counted, _entry(violation, ts, ladder, steps, converts, repeat, warnings, total)

    def _store(self, employee: str, newest: float, entries: list[Entry]) -> None:
        if entries:
            self.state[employee] = {"newest": newest, "entries": entries}
        elif employee in self.state:
            del self.state[employee]

    def _records(self, violation: Violation, entry: Entry) -> list[Violation]:
        out = [violation]
        if entry["repeat"]:
            actions = tuple(dict.fromkeys((*violation.actions, *self._repeat_actions(violation.rule))))
            out = [replace(violation, actions=actions)]
        out.extend(
            self._discipline(step, violation, entry) for step in entry["steps"] if self.policy.enabled(step)
        )
        return out

    def _discipline(self, step: str, trigger: Violation, entry: Entry) -> Violation:
        rule = self.policy.rule(step)
        return Violation(
            violation_id=step_id(step, trigger.employee_id, trigger.violation_id),
            rule=step,
            severity=rule.severity,
            actions=rule.actions,
            group_id=trigger.group_id,
            subject_id=trigger.subject_id,
            employee_id=trigger.employee_id,
            source_event_ids=trigger.source_event_ids,
            event_ts=trigger.event_ts,
            detected_at=format_ts(self.clock()) if self.clock else trigger.event_ts,
            clause=rule.clause,
            evidence={
                "violation_id": trigger.violation_id,
                "rule": trigger.rule,
                "warnings": entry["warnings"],
                "demerits": entry["demerits"],
                "window_days": self.rules.window_days,
            },
            policy_version=self.policy.version,
        )

    def _repeat_actions(self, rule: str) -> tuple[str, ...]:
        found = self.policy.rules.get(rule)
        actions = found.params.get("repeat_offence_actions", ()) if found else ()
        return tuple(actions) if isinstance(actions, list | tuple) else ()


def _entry(
    violation: Violation,
    ts: float,
    ladder: str,
    steps: list[str],
    converts: list[str],
    repeat: bool,
    warnings: int,
    total_demerits: int,
) -> Entry:
    """One counted violation: what it was (for `qunguard discipline show`) and what it issued.
    `warnings` counts unconverted warnings including this one (before a conversion resets them);
    `demerits` the demerits in the window including any this one issued; `converts` the warnings a
    conversion converted, this one last (empty when it converted none)."""
    return {
        "id": violation.violation_id,
        "ts": ts,
        "event_ts": violation.event_ts,
        "rule": violation.rule,
        "ladder": ladder,
        "group": violation.group_id,
        "subject": violation.subject_id,
        "events": list(violation.source_event_ids),
        "steps": steps,
        "converted": bool(converts),
        "converts": converts,
        "repeat": repeat,
        "warnings": warnings,
        "demerits": total_demerits,
    }
