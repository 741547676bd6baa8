"""The rule engine every detector shares.

A detector turns events into `Finding`s: which rule fired, about whom, on which events, with
what evidence. The engine owns everything that is the same for every rule: whether the rule is
enabled, its severity, actions and clause from the policy, the employee behind an account,
the deterministic violation id and the record's timestamps. Live agents and offline replay both
call `RuleEngine.process` and `RuleEngine.sweep`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from streams.directory import LedgerView, RosterView
from streams.policy import Policy
from topics.events import Event
from topics.timeutil import format_ts
from topics.violation import Violation, violation_id


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    event_ts: datetime
    source_event_ids: tuple[str, ...]
    group_id: str | None = None
    subject_id: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    extra_actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Context:
    """What a detector may read besides the event: the policy and the reference data."""

    policy: Policy
    roster: RosterView
    ledger: LedgerView


class Detector(Protocol):
    """One concern (content, flood, membership …). `rules` lists the rule ids it can emit."""

    rules: tuple[str, ...]

    def detect(self, event: Event, ctx: Context) -> Iterable[Finding]: ...


class Sweeper(Protocol):
    """A detector with time-driven findings (deadlines, idle groups); called by the sweep."""

    def sweep(self, now: datetime, ctx: Context) -> Iterable[Finding]: ...


Clock = Callable[[], datetime]


class RuleEngine:
    def __init__(
        self,
        policy: Policy,
        roster: RosterView,
        ledger: LedgerView,
        detectors: Sequence[Detector],
        clock: Clock | None = None,
    ) -> None:
        self.ctx = Context(policy=policy, roster=roster, ledger=ledger)
        self.detectors = list(detectors)
        # None means replay semantics: detected_at equals the event time (SPEC §6).
        self.clock = clock

    @property
    def policy(self) -> Policy:
        return self.ctx.policy

    def process(self, event: Event) -> list[Violation]:
        findings: list[Finding] = []
        for detector in self.detectors:
            findings.extend(detector.detect(event, self.ctx))
        return self._violations(findings)

    def sweep(self, now: datetime) -> list[Violation]:
        findings: list[Finding] = []
        for detector in self.detectors:
            sweep = getattr(detector, "sweep", None)
            if sweep is not None:
                findings.extend(sweep(now, self.ctx))
        return self._violations(findings)

    def violation(self, finding: Finding) -> Violation:
        rule = self.ctx.policy.rule(finding.rule)
        employee = self.ctx.roster.by_account(finding.subject_id) if finding.subject_id else None
        actions = tuple(dict.fromkeys((*rule.actions, *finding.extra_actions)))
        event_ts = format_ts(finding.event_ts)
        return Violation(
            violation_id=violation_id(
                finding.rule, finding.subject_id, finding.group_id, finding.source_event_ids
            ),
            rule=finding.rule,
            severity=rule.severity,
            actions=actions,
            group_id=finding.group_id,
            subject_id=finding.subject_id,
            employee_id=employee.employee_id if employee else None,
            source_event_ids=finding.source_event_ids,
            event_ts=event_ts,
            detected_at=format_ts(self.clock()) if self.clock else event_ts,
            clause=rule.clause,
            evidence=finding.evidence,
            policy_version=self.ctx.policy.version,
        )

    def _violations(self, findings: Iterable[Finding]) -> list[Violation]:
        return [self.violation(f) for f in findings if self.ctx.policy.enabled(f.rule)]
