"""What an admitted verdict or missed-message report does, as data (issue 15). The worker applies it:
the allow entry to the allow store, the retraction to the employee's ladder
(streams.ladder.retraction), the example to the labelled examples.

A `false_positive` verdict on
- a content violation: an allow entry for its evidence (streams.core.allow), scoped to its group, or
  company-wide when the reviewer is a policy administrator;
- a violation of a known employee: the retraction of its ladder steps (nothing happens when it fed
  no ladder); on a `discipline.*` step, the retraction of the violation that triggered it
  (`evidence.violation_id`): a void step means its violation counts for nothing;
- a content violation: a labelled example (the excerpt, `hard_negative` for training).

A `confirmed` verdict on a content violation, and a missed-message report of a content rule, give a
labelled example (`positive`). Every text kept is masked as evidence is (streams.content.excerpt:
number runs, and for content.confidential every digit and Latin run), so no confidential value is
kept in clear; the violation carries only its excerpt, so that is the example's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from streams.content.excerpt import mask
from streams.content.identifiers import RULE as CONFIDENTIAL
from streams.core.allow import AllowEntry, allow_entry_id
from streams.core.policy_schema import CONTENT_RULES
from streams.feedback.judges import DISCIPLINE, Judgement
from streams.ladder.retraction import Cause
from streams.ladder.steps import RETRACTED
from topics.feedback import FALSE_POSITIVE, MissedReport, Verdict
from topics.timeutil import format_ts
from topics.violation import Violation

MISSED = "missed"  # a labelled example's verdict when it came from a missed-message report


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """A reviewed message for `qunguard model train`, in config/labelled's terms (`kind`)."""

    example_id: str  # one per rule and message: a later verdict on the same message replaces it
    text: str  # masked
    rule: str
    verdict: str  # confirmed | false_positive | missed
    group_id: str
    feedback_id: str
    reviewer_id: str
    ts: str  # the feedback's time, RFC 3339

    @property
    def kind(self) -> str:
        return "hard_negative" if self.verdict == FALSE_POSITIVE else "positive"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LabelledExample:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Retraction:
    """Withdraw the ladder steps of `violation_id` in `employee_id`'s ladder."""

    employee_id: str
    violation_id: str
    cause: Cause


@dataclass(frozen=True, slots=True)
class Effects:
    allow: AllowEntry | None = None
    retraction: Retraction | None = None
    example: LabelledExample | None = None


def verdict_effects(verdict: Verdict, violation: Violation, judgement: Judgement) -> Effects:
    """The effects of an admitted verdict (`judgement` from streams.feedback.judges) on `violation`."""
    if not judgement.allowed:
        raise ValueError(f"verdict {verdict.feedback_id} was refused: {judgement.reason}")
    rule = violation.rule
    content = rule in CONTENT_RULES
    excerpt = mask(str(violation.evidence.get("excerpt") or ""), mask_all=rule == CONFIDENTIAL)
    example = None
    if content and excerpt:
        example = LabelledExample(
            example_id=example_id(rule, violation.source_event_ids),
            text=excerpt,
            rule=rule,
            verdict=verdict.verdict,
            group_id=verdict.group_id,
            feedback_id=verdict.feedback_id,
            reviewer_id=verdict.reviewer_id,
            ts=format_ts(verdict.ts),
        )
    if verdict.verdict != FALSE_POSITIVE:
        return Effects(example=example)
    allow = _allow_entry(verdict, violation, excerpt, judgement) if content else None
    return Effects(allow=allow, retraction=_retraction(verdict, violation), example=example)


def missed_effects(report: MissedReport) -> Effects:
    """The effects of an admitted missed-message report: a positive example of a content rule."""
    text = mask(report.text, mask_all=report.rule == CONFIDENTIAL)
    if report.rule not in CONTENT_RULES or not text:
        return Effects()
    return Effects(
        example=LabelledExample(
            example_id=example_id(report.rule, (report.event_id,)),
            text=text,
            rule=report.rule,
            verdict=MISSED,
            group_id=report.group_id,
            feedback_id=report.feedback_id,
            reviewer_id=report.reviewer_id,
            ts=format_ts(report.ts),
        )
    )


def example_id(rule: str, event_ids: Iterable[str]) -> str:
    material = "\x1f".join([rule, *sorted(event_ids)])
    return "x-" + hashlib.blake2b(material.encode("utf-8"), digest_size=10).hexdigest()


def _allow_entry(
    verdict: Verdict, violation: Violation, excerpt: str, judgement: Judgement
) -> AllowEntry | None:
    terms = violation.evidence.get("terms") or []
    by_terms = () if violation.rule == CONFIDENTIAL else tuple(str(t) for t in terms)
    if not by_terms and not excerpt:
        return None  # nothing to recognise the false alarm by
    if not judgement.company_wide and violation.group_id is None:
        return None  # an entry without a group would apply company-wide
    group_id = None if judgement.company_wide else violation.group_id
    return AllowEntry(
        entry_id=allow_entry_id(violation.rule, group_id, by_terms, excerpt),
        rule=violation.rule,
        group_id=group_id,
        terms=by_terms,
        excerpt=excerpt,
        violation_id=violation.violation_id,
        feedback_id=verdict.feedback_id,
        reviewer_id=verdict.reviewer_id,
        ts=format_ts(verdict.ts),
        note=mask(verdict.note),
    )


def _retraction(verdict: Verdict, violation: Violation) -> Retraction | None:
    if violation.employee_id is None or violation.rule == RETRACTED:
        return None
    judged = violation.violation_id
    if violation.rule.startswith(DISCIPLINE):
        judged = str(violation.evidence.get("violation_id") or "")
        if not judged:
            return None
    return Retraction(violation.employee_id, judged, Cause.of(verdict))


__all__ = [
    "MISSED",
    "Effects",
    "LabelledExample",
    "Retraction",
    "example_id",
    "missed_effects",
    "verdict_effects",
]
