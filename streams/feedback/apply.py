"""Applying one feedback record (docs/review.md): the checks, then the effects, over the stores'
interfaces (streams.feedback.stores), so the live worker and a replay run the same steps.

1. `decide`: a feedback id already applied changes nothing (`repeated`); a verdict names a violation
   by id, which must be known (`unknown_violation`: never emitted, or no longer kept); its reviewer
   must be allowed to judge it (streams.feedback.judges: the refusal is the outcome). An admitted
   record's effects are computed (streams.feedback.effects).
2. `keep`: the allow entry and the labelled example are stored, and a verdict is tallied as its
   violation's judgement (reviewed precision).
3. The caller retracts the ladder steps (`Effects.retraction`: streams.ladder.retraction, in the
   employee's partition live), then marks the feedback id applied. A crash before the mark applies
   it again, which changes nothing more: entries and examples replace by id, the tally counts a
   violation once, a retraction gives back the same records.

`apply` is the three steps in one process (replay, which owns every employee's ladder).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.core.directory import LedgerView
from streams.core.policy import Policy
from streams.feedback.effects import Effects, missed_effects, verdict_effects
from streams.feedback.judges import NOT_A_JUDGE, REFUSALS, Judges, judge_report, judge_verdict
from streams.feedback.stores import FeedbackStores
from streams.ladder.retraction import retract_violation
from streams.ladder.steps import Ladder
from topics.feedback import Feedback, MissedReport, Verdict
from topics.violation import Violation

APPLIED = "applied"
REPEATED = "repeated"  # its feedback id was applied already
UNKNOWN = "unknown_violation"  # the verdict names a violation nobody keeps
# every outcome of `decide` (a metric label): applied, not applied, or refused (why)
OUTCOMES = (APPLIED, REPEATED, UNKNOWN, *REFUSALS)


@dataclass(frozen=True, slots=True)
class Decision:
    feedback: Feedback
    outcome: str  # one of OUTCOMES
    reason: str  # a sentence for the log
    violation: Violation | None = None  # the judged violation (verdicts)
    effects: Effects = field(default_factory=Effects)

    @property
    def applies(self) -> bool:
        return self.outcome == APPLIED

    @property
    def refused(self) -> bool:
        return self.outcome in REFUSALS


def decide(
    feedback: Feedback, stores: FeedbackStores, ledger: LedgerView, policy: Policy, judges: Judges
) -> Decision:
    """Whether `feedback` applies, and what it does."""
    if stores.applied.applied(feedback.feedback_id):
        return Decision(feedback, REPEATED, f"feedback {feedback.feedback_id} was applied already")
    if isinstance(feedback, MissedReport):
        judgement = judge_report(feedback, policy, ledger.group(feedback.group_id), judges)
        if not judgement.allowed:
            return Decision(feedback, judgement.refusal or NOT_A_JUDGE, judgement.reason)
        return Decision(feedback, APPLIED, judgement.reason, effects=missed_effects(feedback))
    violation = stores.violations.violation(feedback.violation_id)
    if violation is None:
        return Decision(
            feedback,
            UNKNOWN,
            f"violation {feedback.violation_id} is not known (never emitted, or older than"
            " [review] violation_days)",
        )
    group = ledger.group(violation.group_id) if violation.group_id else None
    judgement = judge_verdict(feedback, violation, group, judges)
    if not judgement.allowed:
        return Decision(feedback, judgement.refusal or NOT_A_JUDGE, judgement.reason, violation)
    return Decision(
        feedback, APPLIED, judgement.reason, violation, verdict_effects(feedback, violation, judgement)
    )


def keep(decision: Decision, stores: FeedbackStores) -> bool:
    """Store what an applied decision leaves behind; True when its verdict set or changed its
    violation's judgement (what the reviewed-precision metric counts)."""
    if not decision.applies:
        raise ValueError(f"feedback {decision.feedback.feedback_id} does not apply: {decision.reason}")
    effects = decision.effects
    if effects.allow is not None:
        stores.allow.add(effects.allow)
    if effects.example is not None:
        stores.examples.add(effects.example)
    verdict, violation = decision.feedback, decision.violation
    if isinstance(verdict, Verdict) and violation is not None:
        return stores.tally.judge(violation, verdict) != verdict.verdict
    return False


def apply(
    feedback: Feedback,
    stores: FeedbackStores,
    ledger: LedgerView,
    policy: Policy,
    judges: Judges,
    ladder: Ladder,
) -> tuple[Decision, list[Violation]]:
    """Decide, keep, retract in `ladder` and mark applied: the decision and the discipline.retracted
    records."""
    decision = decide(feedback, stores, ledger, policy, judges)
    if not decision.applies:
        return decision, []
    keep(decision, stores)
    retraction = decision.effects.retraction
    records = []
    if retraction is not None:
        records = retract_violation(ladder, retraction.employee_id, retraction.violation_id, retraction.cause)
    stores.applied.mark_applied(feedback.feedback_id)
    return decision, records


__all__ = ["APPLIED", "OUTCOMES", "REPEATED", "UNKNOWN", "Decision", "apply", "decide", "keep"]
