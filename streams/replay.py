"""The offline driver (SPEC §6): the live detectors over events in file order, with in-memory
reference data, in one process that owns every routing key. No file IO: callers pass the events
(agents.cli.inputs reads them) and write the results.

`qunguard replay` and `qunguard discipline` (offline) run `replay`; `qunguard report groups` runs
an `OfflineRun` of the membership detectors and reads their state.

Reviewers' feedback records among the events are applied where they stand, by the worker's steps
(streams.feedback.apply) over in-memory stores: a verdict may name any violation replay emitted
before it; a false positive's allow entry silences the same false alarm for the rest of the file
and its retraction adds `discipline.retracted` records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from streams.core.detector import Detector
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RuleEngine
from streams.core.policy import Policy
from streams.core.state import MemoryState
from streams.detectors import build_detectors
from streams.feedback.apply import apply
from streams.feedback.judges import Judges
from streams.feedback.stores import FeedbackStores
from streams.ladder.steps import Ladder
from topics.events import Event, RosterEvent
from topics.feedback import Feedback, MissedReport, Verdict
from topics.reference import Employee, Group
from topics.violation import Violation

# (line number, event or feedback record), None for a line that could not be decoded or was not
# admitted (streams.core.admission)
Lines = Iterable[tuple[int, Event | Feedback | None]]


@dataclass
class ReplayStats:
    events: int = 0
    rejected: int = 0
    duplicates: int = 0
    violations: int = 0
    last_event_ts: datetime | None = None  # the newest event time; the end-of-input sweep's `now`
    feedback: int = 0  # feedback records read
    feedback_applied: int = 0


class OfflineRun:
    """The engine over in-memory reference data. `process` takes events in file order: a bad
    line is counted, a redelivered event is processed once (SPEC §4), a roster change is applied
    to the in-memory roster before the detectors see it."""

    def __init__(
        self,
        policy: Policy,
        roster: Iterable[Employee] = (),
        ledger: Iterable[Group] = (),
        detectors: Sequence[Detector] | None = None,
    ) -> None:
        self.roster, self.ledger = MemoryRoster(roster), MemoryLedger(ledger)
        detectors = build_detectors(policy) if detectors is None else detectors
        self.engine = RuleEngine(policy, self.roster, self.ledger, detectors)
        self.stats = ReplayStats()
        self._seen: set[str] = set()

    def process(self, event: Event | None) -> list[Violation]:
        stats = self.stats
        if event is None:
            stats.rejected += 1
            return []
        if event.event_id in self._seen:
            stats.duplicates += 1
            return []
        self._seen.add(event.event_id)
        stats.events += 1
        if isinstance(event, RosterEvent):
            self.roster.apply(event)
        if stats.last_event_ts is None or event.ts > stats.last_event_ts:
            stats.last_event_ts = event.ts
        return self.engine.process(event)

    def sweep(self) -> list[Violation]:
        """The end-of-input sweep, as of the newest event time (nothing without events)."""
        last = self.stats.last_event_ts
        return self.engine.sweep(last) if last is not None else []


def replay(
    events: Lines,
    policy: Policy,
    roster: Iterable[Employee] = (),
    ledger: Iterable[Group] = (),
    ladder_state: MemoryState | None = None,
    judges: Judges | None = None,
) -> Iterator[Violation | ReplayStats]:
    """Run the engine over events in file order, then sweep as of the last event time; every
    violation goes through the escalation ladder (streams.ladder.steps), which adds discipline records.
    Feedback records are applied in file order (`judges` default: the policy's administrators only).

    Yields violations as they are found and the final ReplayStats last. `ladder_state` receives
    the ladder's per-employee state (`qunguard discipline` reads it).
    """
    stores = FeedbackStores()
    run = OfflineRun(policy, roster, ledger, build_detectors(policy, allow=stores.allow))
    ladder = Ladder(policy, ladder_state if ladder_state is not None else MemoryState())
    judges = judges or Judges.of(policy)
    for _, item in events:
        if isinstance(item, Verdict | MissedReport):
            run.stats.feedback += 1
            decision, retracted = apply(item, stores, run.ledger, policy, judges, ladder)
            run.stats.feedback_applied += decision.applies
            yield from _kept(stores, retracted, run.stats)
        else:
            yield from _kept(stores, _escalated(ladder, run.process(item)), run.stats)
    yield from _kept(stores, _escalated(ladder, run.sweep()), run.stats)
    yield run.stats


def _escalated(ladder: Ladder, found: Iterable[Violation]) -> Iterator[Violation]:
    """Each violation, then the discipline records the ladder adds for it."""
    for violation in found:
        yield from ladder.process(violation)


def _kept(stores: FeedbackStores, found: Iterable[Violation], stats: ReplayStats) -> Iterator[Violation]:
    """Each violation, counted and kept for the verdicts that may name it."""
    for violation in found:
        stores.violations.keep(violation)
        stats.violations += 1
        yield violation
