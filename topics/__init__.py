"""The qunguard contract in code: event and violation schemas, topic catalog, codecs (SPEC.md §1–§5)."""

from topics.catalog import CATALOG, TopicSpec, topic_for_event
from topics.codec import DecodeError, decode_event, decode_violation, encode
from topics.events import Attachment, Event, MembershipEvent, MessageEvent, RosterEvent
from topics.violation import Violation, violation_id

__all__ = [
    "CATALOG",
    "Attachment",
    "DecodeError",
    "Event",
    "MembershipEvent",
    "MessageEvent",
    "RosterEvent",
    "TopicSpec",
    "Violation",
    "decode_event",
    "decode_violation",
    "encode",
    "topic_for_event",
    "violation_id",
]
