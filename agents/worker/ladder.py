"""The escalation ladder live: the employee-partitioned step after detection.

A violation the ladder tracks (a known employee, a rule with a ladder) is forwarded by `Moderator`
(encoded violation JSON) to the internal topic `<app id>-employee`, keyed by employee id
(agents.worker.topology). The `moderate.employee` agent runs `EmployeeAgent.handle` on it: the ladder
(streams.ladder.steps) over the changelog-backed "employee" table gives the records to emit — the
violation (maybe with repeat-offence actions) and its discipline.* steps — which go to
moderation.violations; the employee's state is then copied to Redis as the read model
(agents.stores.ladder). The violation itself is emitted where it was found, without waiting
for the extra hop, unless the ladder may change it (a rule with repeat-offence actions): the
forwarded record's `qg-ladder: emitted` header says the agent emits only the steps. A redelivered violation gives back
the same records with the same ids. A record on the topic that is not a usable violation goes to
the dead-letter topic, and the agent moves on.

A false-positive verdict's retraction (streams.feedback.effects.Retraction) comes the same way, from
the `moderate.feedback` agent (agents.worker.feedback): header `qg-ladder: retract`, value the
retraction as JSON, key the employee id. The agent withdraws the steps of the judged violation
(streams.ladder.retraction), emits the `discipline.retracted` records and updates the read model;
a repeat gives back the same records.
"""

from __future__ import annotations

import logging

from agents.runtime.deadletter import DeadLetterSink, dead_letter
from agents.runtime.records import RawRecord
from agents.runtime.retry import retry_forever
from agents.stores.ladder import LadderStore
from agents.worker.metrics import DEAD_LETTERS, VIOLATIONS, count_decode_failure, observe_detection
from agents.worker.outputs import ViolationSink
from streams.feedback.effects import Retraction
from streams.ladder.retraction import Cause, retract_violation
from streams.ladder.steps import Ladder
from topics.catalog import VIOLATIONS as VIOLATIONS_TOPIC
from topics.codec import DecodeError, decode_violation, encode, loads, read_str
from topics.timeutil import format_ts
from topics.violation import Violation

log = logging.getLogger(__name__)
LADDER_HEADER = "qg-ladder"
EMITTED = b"emitted"  # without it (or with anything else) the agent emits the violation as well
RETRACT = b"retract"  # the record is a retraction, not a violation
LADDER_FIELDS = ("employee_id", "event_ts")  # what the ladder counts by, beyond a record's own ids


class LadderStep:
    """The ladder for one violation, with the Redis read model kept in step (when there is one)."""

    def __init__(self, ladder: Ladder, store: LadderStore | None = None) -> None:
        self.ladder = ladder
        self.store = store

    def wants(self, violation: Violation) -> bool:
        return self.ladder.tracks(violation)

    def holds(self, violation: Violation) -> bool:
        """Whether the ladder may change the record itself, so it is emitted after the ladder."""
        return self.ladder.may_change(violation)

    async def run(self, violation: Violation) -> list[Violation]:
        records = self.ladder.process(violation)
        if violation.employee_id:
            await self._write(violation.employee_id, violation.event_ts)
        return records

    async def retract(self, retraction: Retraction) -> list[Violation]:
        """Withdraw the steps of the violation judged a false positive: the discipline.retracted records."""
        employee, cause = retraction.employee_id, retraction.cause
        records = retract_violation(self.ladder, employee, retraction.violation_id, cause)
        await self._write(employee, cause.at)
        return records

    async def _write(self, employee: str, event_ts: str) -> None:
        if self.store is None:
            return
        store, state = self.store, self.ladder.state.get(employee)
        now = format_ts(self.ladder.clock()) if self.ladder.clock else event_ts
        await retry_forever(lambda: store.write(employee, state, now), "redis")


def forward_record(violation: Violation, emitted: bool = False) -> RawRecord:
    """What `Moderator` forwards to the employee topic (only value and headers are sent).
    `emitted`: the violation itself went out already; the agent emits only its steps."""
    key = (violation.employee_id or "").encode("utf-8")
    headers = ((LADDER_HEADER, EMITTED),) if emitted else ()
    return RawRecord(VIOLATIONS_TOPIC.name, -1, -1, key, encode(violation), headers)


def retraction_record(retraction: Retraction) -> RawRecord:
    """What the feedback agent forwards to the employee topic (only value and headers are sent)."""
    cause = retraction.cause
    value = {"employee_id": retraction.employee_id, "violation_id": retraction.violation_id,
             "feedback_id": cause.feedback_id, "reviewer_id": cause.reviewer_id, "at": cause.at}  # fmt: skip
    key = retraction.employee_id.encode("utf-8")
    return RawRecord(VIOLATIONS_TOPIC.name, -1, -1, key, encode(value), ((LADDER_HEADER, RETRACT),))


def decode_retraction(data: bytes | None) -> Retraction:
    if data is None:
        raise DecodeError("-", "empty record (no value)")
    obj = loads(data)
    cause = Cause(read_str(obj, "feedback_id"), read_str(obj, "reviewer_id"), read_str(obj, "at"))
    return Retraction(read_str(obj, "employee_id"), read_str(obj, "violation_id"), cause)


async def send_all(sink: ViolationSink, records: list[Violation]) -> None:
    for violation in records:
        await sink.send(violation)
        VIOLATIONS.labels(violation.rule, violation.severity).inc()
        observe_detection(violation)


class EmployeeAgent:
    """The `moderate.employee` agent's per-record step."""

    def __init__(self, step: LadderStep, violations: ViolationSink, dead_letters: DeadLetterSink) -> None:
        self.step = step
        self.violations = violations
        self.dead_letters = dead_letters

    async def handle(self, record: RawRecord) -> int:
        retracting = (LADDER_HEADER, RETRACT) in record.headers
        try:
            work = (
                decode_retraction(record.value)
                if retracting
                else decode_violation(record.value, require=LADDER_FIELDS)
            )
        except DecodeError as exc:
            count_decode_failure(record.topic, "invalid")
            await self._dead_letter(record, str(exc), "decode")
            return 0
        try:
            if isinstance(work, Retraction):
                records = await self.step.retract(work)
            else:
                records = await self.step.run(work)
        except Exception as exc:  # a ladder bug must not stop the stream
            log.exception("ladder failed on %s", work.violation_id)
            await self._dead_letter(record, f"ladder error: {type(exc).__name__}: {exc}", "ladder")
            return 0
        if (LADDER_HEADER, EMITTED) in record.headers:
            records = records[1:]
        await send_all(self.violations, records)
        return len(records)

    async def _dead_letter(self, record: RawRecord, reason: str, stage: str) -> None:
        await dead_letter(self.dead_letters, record, reason, DEAD_LETTERS.labels(record.topic, stage))
