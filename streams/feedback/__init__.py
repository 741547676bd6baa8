"""Reviewers' feedback (`moderation.feedback`): who may judge a violation, and what an admitted verdict
or missed-message report does (an allow entry, a ladder retraction, a labelled example), as data; the
stores that applying it needs, as interfaces; applying it (apply.py), the same live and offline."""

from streams.feedback.apply import OUTCOMES, Decision, decide, keep
from streams.feedback.effects import Effects, LabelledExample, Retraction, missed_effects, verdict_effects
from streams.feedback.judges import Judgement, Judges, judge_report, judge_verdict
from streams.feedback.stores import (
    AllowEntryStore,
    AppliedFeedback,
    FeedbackLimits,
    FeedbackStores,
    LabelledExamples,
    MemoryAllowEntries,
    MemoryAppliedFeedback,
    MemoryLabelledExamples,
    MemoryReviewTally,
    MemoryViolations,
    ReviewTally,
    ViolationLog,
    ViolationLookup,
)

__all__ = [
    "OUTCOMES",
    "AllowEntryStore",
    "AppliedFeedback",
    "Decision",
    "Effects",
    "FeedbackLimits",
    "FeedbackStores",
    "Judgement",
    "Judges",
    "LabelledExample",
    "LabelledExamples",
    "MemoryAllowEntries",
    "MemoryAppliedFeedback",
    "MemoryLabelledExamples",
    "MemoryReviewTally",
    "MemoryViolations",
    "Retraction",
    "ReviewTally",
    "ViolationLog",
    "ViolationLookup",
    "decide",
    "judge_report",
    "judge_verdict",
    "keep",
    "missed_effects",
    "verdict_effects",
]
