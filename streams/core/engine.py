"""The rule engine every detector shares.

A detector turns events into `Finding`s: which rule fired, about whom, on which events, with
what evidence. The engine owns everything that is the same for every rule: whether the rule is
enabled, its severity, actions and clause from the policy, the employee behind an account,
the deterministic violation id and the record's timestamps. Live agents and offline replay both
call `RuleEngine.process` and `RuleEngine.sweep`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from streams.core.directory import LedgerView, RosterView
from streams.core.policy import Policy
from streams.core.routing import route
from streams.core.state import PARTITIONS, Partition
from topics.events import Event, MessageEvent
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

    @classmethod
    def of_message(cls, rule: str, event: MessageEvent, evidence: dict[str, Any]) -> Finding:
        """A finding about one message, its sender the subject."""
        return cls(rule, event.ts, (event.event_id,), event.group_id, event.sender_id, evidence)


def _owns_all(key: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Context:
    """What a detector may read besides the event: the policy, the reference data, and (in a
    sweep) which routing keys this process owns. Replay owns every key; a live worker owns the
    keys of the partition being swept, so a sweep over the ledger must skip keys it does not own.
    """

    policy: Policy
    roster: RosterView
    ledger: LedgerView
    owns: Callable[[str], bool] = _owns_all


class Detector(Protocol):
    """One concern (content, flood, membership …). `rules` lists the rule ids it can emit.

    `partition` says which routing key the detector's state is keyed by (streams.core.state); the
    engine calls `detect` once per key `streams.core.routing.route` gives the event for it.
    """

    rules: tuple[str, ...]
    partition: Partition

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]: ...


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

    def partitions(self) -> tuple[Partition, ...]:
        """The partitionings some detector needs, in PARTITIONS order."""
        used = {detector.partition for detector in self.detectors}
        return tuple(p for p in PARTITIONS if p in used)

    def process(self, event: Event) -> list[Violation]:
        """Every detector, every routing key: what replay (one process owning all keys) runs."""
        findings: list[Finding] = []
        extra: dict[Partition, list[str]] = {}
        for key in route(event, "group", self.ctx.roster):
            for partition, keys in self.fanout(event, key).items():
                extra.setdefault(partition, []).extend(keys)
            findings.extend(self._detect(event, "group", key))
        for partition in self.partitions():
            if partition != "group":
                for key in self.routes(event, partition, extra.get(partition, ())):
                    findings.extend(self._detect(event, partition, key))
        return self._violations(findings)

    def fanout(self, event: Event, key: str) -> dict[Partition, tuple[str, ...]]:
        """Keys beyond `route` that group detectors know from their state (e.g. the members a
        dissolved group had). Read before the group detectors run, since they may clear it."""
        extra: dict[Partition, tuple[str, ...]] = {}
        for detector in self.detectors:
            fanout = getattr(detector, "fanout", None)
            if detector.partition == "group" and fanout is not None:
                for partition, keys in fanout(event, key).items():
                    extra[partition] = (*extra.get(partition, ()), *keys)
        return extra

    def routes(self, event: Event, partition: Partition, extra: Iterable[str] = ()) -> tuple[str, ...]:
        """The routing keys of `partition` for `event`, plus fanned-out ones, each once; none when
        no detector of `partition` wants the event (live, each key is a forward to another topic)."""
        if not self.wanted(event, partition):
            return ()
        return tuple(dict.fromkeys((*route(event, partition, self.ctx.roster), *extra)))

    def wanted(self, event: Event, partition: Partition) -> bool:
        """Whether a detector of `partition` may use `event`: one without `wants(event)` takes all."""
        for detector in self.detectors:
            if detector.partition == partition:
                wants = getattr(detector, "wants", None)
                if wants is None or wants(event):
                    return True
        return False

    def process_keyed(self, event: Event, partition: Partition, key: str) -> list[Violation]:
        """The detectors of one partitioning for one routing key: what a live agent runs."""
        return self._violations(self._detect(event, partition, key))

    def sweepers(self, partition: Partition | None = None) -> list[Detector]:
        return [
            d
            for d in self.detectors
            if hasattr(d, "sweep") and (partition is None or d.partition == partition)
        ]

    def sweep(
        self,
        now: datetime,
        owns: Callable[[str], bool] | None = None,
        sweepers: Iterable[Detector] | None = None,
    ) -> list[Violation]:
        """Time-driven findings as of `now`. Live, a worker sweeps one partition at a time
        (`owns` tells its keys) and only the sweepers that are due."""
        ctx = self.ctx if owns is None else replace(self.ctx, owns=owns)
        findings: list[Finding] = []
        for detector in self.sweepers() if sweepers is None else sweepers:
            findings.extend(detector.sweep(now, ctx))  # type: ignore[attr-defined]
        return self._violations(findings)

    def _detect(self, event: Event, partition: Partition, key: str) -> list[Finding]:
        findings: list[Finding] = []
        for detector in self.detectors:
            if detector.partition == partition:
                findings.extend(detector.detect(event, key, self.ctx))
        return findings

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
