"""The topic catalog (SPEC §1): names, keys, partition counts and topic configs."""

from __future__ import annotations

from dataclasses import dataclass, field

from topics.events import Event

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    key: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def _delete_after(days: int) -> dict[str, str]:
    return {"retention.ms": str(days * DAY_MS), "cleanup.policy": "delete"}


MESSAGES = TopicSpec("chat.messages", "group_id", 6, _delete_after(7))
MEMBERSHIP = TopicSpec("chat.membership", "group_id", 6, _delete_after(30))
ROSTER = TopicSpec("hr.roster", "employee_id", 3, _delete_after(30))
VIOLATIONS = TopicSpec("moderation.violations", "group_id|employee_id", 6, _delete_after(90))
DEADLETTER = TopicSpec("moderation.deadletter", "original key", 3, _delete_after(30))
# The notifier's dead letters: violation records it could not read, messages it could not deliver.
NOTIFY_DEADLETTER = TopicSpec("moderation.notify.deadletter", "recipient|original key", 3, _delete_after(30))
# Reviewers' verdicts and missed-message reports; keyed and partitioned like chat.messages.
FEEDBACK = TopicSpec("moderation.feedback", "group_id", 6, _delete_after(90))

CATALOG: tuple[TopicSpec, ...] = (
    MESSAGES,
    MEMBERSHIP,
    ROSTER,
    VIOLATIONS,
    DEADLETTER,
    NOTIFY_DEADLETTER,
    FEEDBACK,
)
INPUT_TOPICS: tuple[TopicSpec, ...] = (MESSAGES, MEMBERSHIP, ROSTER)

_BY_KIND = {"message": MESSAGES, "membership": MEMBERSHIP, "roster": ROSTER}


def topic_for_event(event: Event) -> TopicSpec:
    return _BY_KIND[event.kind]


def topic_for_kind(kind: str) -> TopicSpec | None:
    return _BY_KIND.get(kind)
