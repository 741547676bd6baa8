"""The verdict stream live: the `moderate.feedback` agent's per-record step (docs/review.md).

A record of `moderation.feedback` is decoded (topics.feedback; a bad one goes to the dead-letter
topic with the field named, and the agent moves on), then applied by streams.feedback.apply over the
Redis stores (agents.stores.feedback): a feedback id applied before changes nothing; a verdict's
violation is looked up in the violations the worker kept when it emitted them
(agents.stores.violations); its reviewer must be allowed to judge it, by the ledger in the worker's
reference cache and the judges of the policy and notify configuration. A refused or unknown one is
counted (`qunguard_feedback_total{outcome}`) and logged, not applied.

An applied verdict's allow entry is stored and put in this worker's allow cache at once (the others
see it within agents.stores.allow.REFRESH_SECONDS); its labelled example is kept; its verdict
counts in `qunguard_reviewed_total` when it set or changed the violation's judgement. A retraction
goes to the employee topic, where the ladder's agent withdraws the steps (agents.worker.ladder), or
runs inline without a forwarder. The feedback id is marked applied last.

The stores are synchronous: they run in a thread, retried with backoff while Redis is down (the
record's offset is not committed meanwhile). Feedback is rare, so the thread hop costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from agents.runtime.deadletter import dead_letter
from agents.runtime.records import RawRecord
from agents.runtime.retry import retry_forever
from agents.stores.allow import AllowCache
from agents.worker.ladder import retraction_record, send_all
from agents.worker.metrics import DEAD_LETTERS, EVENTS, FEEDBACK, REVIEWED, count_decode_failure
from agents.worker.moderator import Moderator
from streams.feedback.apply import Decision, decide, keep
from streams.feedback.effects import Retraction
from streams.feedback.judges import Judges
from streams.feedback.stores import FeedbackStores
from topics.codec import DecodeError
from topics.feedback import Verdict, decode_feedback

log = logging.getLogger(__name__)
T = TypeVar("T")


class FeedbackAgent:
    """Shares the moderator's reference data, policy, sinks, forwarder and ladder."""

    def __init__(
        self,
        moderator: Moderator,
        judges: Judges,
        stores: FeedbackStores,
        allow_cache: AllowCache | None = None,
    ) -> None:
        self.moderator = moderator
        self.judges = judges
        self.stores = stores
        self.allow_cache = allow_cache

    async def handle(self, record: RawRecord) -> int:
        """Apply one feedback record; return the number of records emitted (retractions inline)."""
        EVENTS.labels(record.topic).inc()
        try:
            feedback = decode_feedback(record.value)
        except DecodeError as exc:
            count_decode_failure(record.topic, "invalid")
            await self._dead_letter(record, str(exc), "decode")
            return 0
        moderator = self.moderator
        await moderator.reference_ready()  # the ledger says who owns a group
        policy, ledger = moderator.engine.policy, moderator.engine.ctx.ledger
        try:
            decision = await _blocking(lambda: decide(feedback, self.stores, ledger, policy, self.judges))
            FEEDBACK.labels(feedback.kind, decision.outcome).inc()
            if not decision.applies:
                _log_unapplied(decision)
                return 0
            judged = await _blocking(lambda: keep(decision, self.stores))  # set or changed a judgement
            if judged and decision.violation is not None and isinstance(feedback, Verdict):
                REVIEWED.labels(decision.violation.rule, feedback.verdict).inc()
        except Exception as exc:  # a bug must not stop the stream
            log.exception("feedback %s failed", feedback.feedback_id)
            await self._dead_letter(record, f"feedback error: {type(exc).__name__}: {exc}", "feedback")
            return 0
        effects = decision.effects
        if effects.allow is not None and self.allow_cache is not None:
            self.allow_cache.add(effects.allow)
        emitted = await self._retract(effects.retraction) if effects.retraction is not None else 0
        await _blocking(lambda: self.stores.applied.mark_applied(feedback.feedback_id))
        log.info(
            "feedback %s applied (%s): %s%s%s",
            feedback.feedback_id,
            decision.reason,
            "allow entry " + effects.allow.entry_id if effects.allow else "no allow entry",
            ", retraction of " + effects.retraction.violation_id if effects.retraction else "",
            ", labelled example" if effects.example else "",
        )
        return emitted

    async def _retract(self, retraction: Retraction) -> int:
        moderator = self.moderator
        if moderator.forwarder is not None:  # the employee's ladder lives in its partition
            await moderator.forwarder.send("employee", retraction.employee_id, retraction_record(retraction))
            return 0
        if moderator.ladder is None:
            return 0
        records = await moderator.ladder.retract(retraction)
        await send_all(moderator.violations, records)
        return len(records)

    async def _dead_letter(self, record: RawRecord, reason: str, stage: str) -> None:
        sink = self.moderator.dead_letters
        await dead_letter(sink, record, reason, DEAD_LETTERS.labels(record.topic, stage))


async def _blocking(call: Callable[[], T]) -> T:
    """A call into the synchronous Redis stores, off the event loop, retried while Redis is down."""
    return await retry_forever(lambda: asyncio.to_thread(call), "redis")


def _log_unapplied(decision: Decision) -> None:
    feedback = decision.feedback
    level = logging.WARNING if decision.refused else logging.INFO
    judged = feedback.violation_id if isinstance(feedback, Verdict) else None
    log.log(
        level,
        "feedback %s not applied (%s): %s",
        feedback.feedback_id,
        decision.outcome,
        decision.reason,
        extra={"group_id": feedback.group_id, "violation_id": judged},
    )
