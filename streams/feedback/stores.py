"""What applying feedback needs stored, as the small interfaces the worker implements over Redis, and
in-memory backends for replay and tests (real stores, not mocks, as streams.core.directory's).

- `AppliedFeedback`: the feedback ids already applied (SPEC §2: a `feedback_id` is applied once). The
  worker checks `applied` first and calls `mark_applied` after every effect is stored; a crash in
  between applies it again, which changes nothing more (allow entries and examples replace by id, a
  retraction repeats its records with the same ids).
- `AllowEntryStore`: the allow entries; the content detector reads it as `AllowEntries`
  (streams.core.allow), `qunguard allow list/remove` through `entries` and `remove`.
- `LabelledExamples`: reviewed messages for `qunguard model train`; a store keeps them bounded and
  expiring (the oldest go first).
- `ViolationLog`: the violations the worker emitted, by id, for `violation_days` (a verdict names a
  violation by id only); `ViolationLookup` is its reading half.
- `ReviewTally`: each judged violation's latest verdict, and per rule how many violations stand
  confirmed or false positive (reviewed precision, `qunguard review stats`).

`FeedbackStores` bundles them; `FeedbackLimits` are the policy's bounds (`[review]`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from streams.core.allow import AllowEntries, AllowEntry
from streams.core.policy import Policy
from streams.feedback.effects import LabelledExample
from topics.feedback import Verdict
from topics.violation import Violation

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class FeedbackLimits:
    """How long what verdicts need is kept (`[review]` in the policy)."""

    violation_seconds: float = 30 * DAY  # a violation can be judged this long after it was emitted
    example_seconds: float = 180 * DAY
    max_examples: int = 10_000

    @classmethod
    def from_policy(cls, policy: Policy) -> FeedbackLimits:
        section = policy.section("review")
        return cls(
            violation_seconds=float(section.get("violation_days", 30)) * DAY,
            example_seconds=float(section.get("example_days", 180)) * DAY,
            max_examples=int(section.get("max_examples", 10_000)),
        )


class AppliedFeedback(Protocol):
    def applied(self, feedback_id: str) -> bool: ...

    def mark_applied(self, feedback_id: str) -> None: ...


class AllowEntryStore(AllowEntries, Protocol):
    def add(self, entry: AllowEntry) -> None:
        """Store `entry`; an entry with the same `entry_id` is replaced."""
        ...

    def remove(self, entry_id: str) -> bool:
        """Drop an entry; False when there was none."""
        ...

    def entries(self) -> Iterator[AllowEntry]: ...


class LabelledExamples(Protocol):
    def add(self, example: LabelledExample) -> None:
        """Keep `example`; one with the same `example_id` is replaced."""
        ...

    def examples(self) -> Iterator[LabelledExample]: ...


class ViolationLookup(Protocol):
    def violation(self, violation_id: str) -> Violation | None:
        """The violation record emitted with this id, or None (never emitted, or no longer kept)."""
        ...


class ViolationLog(ViolationLookup, Protocol):
    def keep(self, violation: Violation) -> None: ...


class ReviewTally(Protocol):
    def judge(self, violation: Violation, verdict: Verdict) -> str | None:
        """Record `verdict` as `violation`'s judgement; return the verdict it replaces (None: the
        first). A violation counts once per rule, by its latest verdict."""
        ...

    def counts(self) -> dict[str, dict[str, int]]:
        """rule → verdict → violations that stand judged so."""
        ...


class MemoryAppliedFeedback:
    def __init__(self) -> None:
        self._ids: set[str] = set()

    def applied(self, feedback_id: str) -> bool:
        return feedback_id in self._ids

    def mark_applied(self, feedback_id: str) -> None:
        self._ids.add(feedback_id)


class MemoryAllowEntries:
    def __init__(self) -> None:
        self._entries: dict[str, AllowEntry] = {}

    def add(self, entry: AllowEntry) -> None:
        self._entries[entry.entry_id] = entry

    def remove(self, entry_id: str) -> bool:
        return self._entries.pop(entry_id, None) is not None

    def entries(self) -> Iterator[AllowEntry]:
        return iter(self._entries.values())

    def for_group(self, group_id: str) -> Sequence[AllowEntry]:
        return [e for e in self._entries.values() if e.group_id in (group_id, None)]


class MemoryLabelledExamples:
    """Keeps the newest `limit` examples."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._examples: dict[str, LabelledExample] = {}

    def add(self, example: LabelledExample) -> None:
        self._examples.pop(example.example_id, None)
        self._examples[example.example_id] = example
        while len(self._examples) > self.limit:
            del self._examples[next(iter(self._examples))]

    def examples(self) -> Iterator[LabelledExample]:
        return iter(self._examples.values())


class MemoryViolations:
    def __init__(self) -> None:
        self._violations: dict[str, Violation] = {}

    def keep(self, violation: Violation) -> None:
        self._violations[violation.violation_id] = violation

    def violation(self, violation_id: str) -> Violation | None:
        return self._violations.get(violation_id)


class MemoryReviewTally:
    def __init__(self) -> None:
        self._judged: dict[str, tuple[str, str]] = {}  # violation id → (rule, verdict)

    def judge(self, violation: Violation, verdict: Verdict) -> str | None:
        previous = self._judged.get(violation.violation_id)
        self._judged[violation.violation_id] = (violation.rule, verdict.verdict)
        return previous[1] if previous else None

    def counts(self) -> dict[str, dict[str, int]]:
        tally = Counter(self._judged.values())
        out: dict[str, dict[str, int]] = {}
        for (rule, verdict), n in sorted(tally.items()):
            out.setdefault(rule, {})[verdict] = n
        return out


@dataclass(frozen=True, slots=True)
class FeedbackStores:
    """What applying feedback reads and writes (streams.feedback.apply); in memory by default."""

    applied: AppliedFeedback = field(default_factory=MemoryAppliedFeedback)
    allow: AllowEntryStore = field(default_factory=MemoryAllowEntries)
    examples: LabelledExamples = field(default_factory=MemoryLabelledExamples)
    tally: ReviewTally = field(default_factory=MemoryReviewTally)
    violations: ViolationLog = field(default_factory=MemoryViolations)


__all__ = [
    "AllowEntryStore",
    "AppliedFeedback",
    "FeedbackLimits",
    "FeedbackStores",
    "LabelledExamples",
    "MemoryAllowEntries",
    "MemoryAppliedFeedback",
    "MemoryLabelledExamples",
    "MemoryReviewTally",
    "MemoryViolations",
    "ReviewTally",
    "ViolationLog",
    "ViolationLookup",
]
