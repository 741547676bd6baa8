"""The rule engine every detector shares.

A detector turns events into `Finding`s (streams.core.detector): which rule fired, about whom, on
which events, with what evidence. The engine owns everything that is the same for every rule:
whether the rule is enabled, its severity, actions and clause from the policy, the employee
behind an account, the deterministic violation id and the record's timestamps. It also owns
routing: `plan` says which keys of which partitioning an event runs for, and both offline replay
(`process`, one process owning every key) and the live worker (agents.worker.moderator, which
forwards the keys of other partitionings) follow that plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from time import perf_counter

from streams.core.detector import (
    Context,
    Detector,
    DetectorTimer,
    FansOut,
    Finding,
    Phase,
    Selective,
    Sweeper,
)
from streams.core.directory import LedgerView, RosterView
from streams.core.policy import Policy
from streams.core.routing import route
from streams.core.state import PARTITIONS, Partition
from topics.events import Event
from topics.timeutil import format_ts
from topics.violation import Violation, violation_id

Clock = Callable[[], datetime]
Record = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class RoutingPlan:
    """Where one event runs. `group`: the group keys, run where the event arrives (input topics
    are keyed by group). `others`: per other partitioning some detector needs (in PARTITIONS
    order), its keys, fan-out included and each once; replay runs them in-process, a live worker
    forwards each to that partitioning's internal topic."""

    group: tuple[str, ...]
    others: dict[Partition, tuple[str, ...]]


class RuleEngine:
    def __init__(
        self,
        policy: Policy,
        roster: RosterView,
        ledger: LedgerView,
        detectors: Sequence[Detector],
        clock: Clock | None = None,
        timer: DetectorTimer | None = None,
    ) -> None:
        self.ctx = Context(policy=policy, roster=roster, ledger=ledger)
        self.detectors = tuple(detectors)
        # None means replay semantics: detected_at equals the event time (SPEC §6).
        self.clock = clock
        self._detecting = {
            p: tuple((d, _record(timer, d, "detect")) for d in self.detectors if d.partition == p)
            for p in {d.partition for d in self.detectors}
        }
        self._sweep_time = {id(d): _record(timer, d, "sweep") for d in self.sweepers()}
        self._fanouts = tuple(d for d in self.detectors if d.partition == "group" and isinstance(d, FansOut))
        # per partitioning, each detector's `wants`, None for one that takes every event
        self._wants = {
            p: tuple(d.wants if isinstance(d, Selective) else None for d, _ in detecting)
            for p, detecting in self._detecting.items()
        }

    @property
    def policy(self) -> Policy:
        return self.ctx.policy

    def partitions(self) -> tuple[Partition, ...]:
        """The partitionings some detector needs, in PARTITIONS order."""
        return tuple(p for p in PARTITIONS if p in self._detecting)

    def plan(self, event: Event) -> RoutingPlan:
        """The routing keys `event` runs for. Fan-out keys are read here, before any group
        detector runs on the event (they may clear the state the keys come from)."""
        group = route(event, "group", self.ctx.roster)
        fanned: dict[Partition, tuple[str, ...]] = {}
        for key in group:
            for partition, keys in self._fanout(event, key).items():
                fanned[partition] = (*fanned.get(partition, ()), *keys)
        others = {p: self.routes(event, p, fanned.get(p, ())) for p in self.partitions() if p != "group"}
        return RoutingPlan(group, others)

    def process(self, event: Event) -> list[Violation]:
        """Every detector, every routing key of the plan: what replay (one process owning all keys) runs."""
        plan = self.plan(event)
        findings: list[Finding] = []
        for key in plan.group:
            findings.extend(self._detect(event, "group", key))
        for partition, keys in plan.others.items():
            for key in keys:
                findings.extend(self._detect(event, partition, key))
        return self._violations(findings)

    def _fanout(self, event: Event, key: str) -> dict[Partition, tuple[str, ...]]:
        """Keys beyond `route` that group detectors (`FansOut`) know from their state."""
        extra: dict[Partition, tuple[str, ...]] = {}
        for detector in self._fanouts:
            for partition, keys in detector.fanout(event, key).items():
                extra[partition] = (*extra.get(partition, ()), *keys)
        return extra

    def routes(self, event: Event, partition: Partition, extra: Iterable[str] = ()) -> tuple[str, ...]:
        """The routing keys of `partition` for `event`, plus fanned-out ones, each once; none when
        no detector of `partition` wants the event (live, each key is a forward to another topic)."""
        if not self.wanted(event, partition):
            return ()
        return tuple(dict.fromkeys((*route(event, partition, self.ctx.roster), *extra)))

    def wanted(self, event: Event, partition: Partition) -> bool:
        """Whether a detector of `partition` may use `event` (one that is not `Selective` takes all)."""
        return any(wants is None or wants(event) for wants in self._wants.get(partition, ()))

    def process_keyed(
        self, event: Event, partition: Partition, key: str, watermark: float | None = None
    ) -> list[Violation]:
        """The detectors of one partitioning for one routing key: what a live agent runs, with
        the watermark of the input the event came from (streams.core.watermark)."""
        ctx = self.ctx
        if watermark is not None:  # built directly: dataclasses.replace costs more, once per event
            ctx = Context(ctx.policy, ctx.roster, ctx.ledger, ctx.owns, watermark)
        return self._violations(self._detect(event, partition, key, ctx))

    def sweepers(self, partition: Partition | None = None) -> list[Sweeper]:
        return [
            d
            for d in self.detectors
            if isinstance(d, Sweeper) and (partition is None or d.partition == partition)
        ]

    def sweep(
        self,
        now: datetime,
        owns: Callable[[str], bool] | None = None,
        sweepers: Iterable[Sweeper] | None = None,
    ) -> list[Violation]:
        """Time-driven findings as of `now`. Live, a worker sweeps one partition at a time
        (`owns` tells its keys) and only the sweepers that are due."""
        ctx = self.ctx if owns is None else replace(self.ctx, owns=owns)
        findings: list[Finding] = []
        for detector in self.sweepers() if sweepers is None else sweepers:
            record = self._sweep_time.get(id(detector))
            if record is None:
                findings.extend(detector.sweep(now, ctx))
            else:
                started = perf_counter()
                findings.extend(detector.sweep(now, ctx))
                record(perf_counter() - started)
        return self._violations(findings)

    def _detect(
        self, event: Event, partition: Partition, key: str, ctx: Context | None = None
    ) -> list[Finding]:
        ctx = ctx or self.ctx
        findings: list[Finding] = []
        for detector, record in self._detecting.get(partition, ()):
            if record is None:
                findings.extend(detector.detect(event, key, ctx))
            else:
                started = perf_counter()
                findings.extend(detector.detect(event, key, ctx))
                record(perf_counter() - started)
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


def _record(timer: DetectorTimer | None, detector: Detector, phase: Phase) -> Record | None:
    return timer(detector, phase) if timer is not None else None
