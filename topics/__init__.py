"""The qunguard contract in code: event and violation schemas, topic catalog, codecs (SPEC.md §1–§5)."""

from topics.catalog import CATALOG, TopicSpec, topic_for_event
from topics.codec import DecodeError, decode_event, decode_violation, encode
from topics.events import Attachment, Event, MembershipEvent, MessageEvent, RosterEvent
from topics.feedback import Feedback, MissedReport, Verdict, decode_feedback
from topics.violation import Violation, violation_id

__all__ = [
    "CATALOG",
    "Attachment",
    "DecodeError",
    "Event",
    "Feedback",
    "MembershipEvent",
    "MessageEvent",
    "MissedReport",
    "RosterEvent",
    "TopicSpec",
    "Verdict",
    "Violation",
    "decode_event",
    "decode_feedback",
    "decode_violation",
    "encode",
    "topic_for_event",
    "violation_id",
]
