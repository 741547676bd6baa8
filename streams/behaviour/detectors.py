"""The behaviour rules of SPEC §4 as one set: flood, private chat, large files, hours, acks.

They share the out-of-order tolerance, one event clock for expiry, and the group membership that
`chat.private_in_group` and `ack.missing` read (streams.behaviour.members): the membership
detector's, which the caller builds and runs before them, whose event-time view `MembershipExpiry`
sweeps on their clock.
"""

from __future__ import annotations

from streams.behaviour.ack import AckDetector
from streams.behaviour.eventtime import EventClock, idle_expiry_seconds, tolerance_seconds
from streams.behaviour.flood import (
    BroadcastRule,
    BurstDetector,
    BurstRule,
    DuplicateRule,
    MentionAllRule,
    RateRule,
)
from streams.behaviour.hours import HoursDetector
from streams.behaviour.media import LargeFileDetector
from streams.behaviour.members import ExpiringMembership, MembershipExpiry
from streams.behaviour.private_chat import PrivateChatRule
from streams.core.detector import Detector
from streams.core.policy import Policy
from streams.core.state import StateSource

SENDER_IN_GROUP_MAP = "flood.sender_in_group"  # (group, sender) → each per-sender rule's window


def behaviour_detectors(policy: Policy, state: StateSource, members: ExpiringMembership) -> list[Detector]:
    tolerance = tolerance_seconds(policy)
    clock = EventClock(idle_expiry_seconds(policy))
    per_sender: list[BurstRule] = [
        RateRule(policy.rule("flood.rate").params),
        DuplicateRule(policy.rule("flood.duplicate").params),
        MentionAllRule(policy.rule("flood.mention_all").params),
    ]
    broadcast = BroadcastRule(policy.rule("flood.broadcast").params)
    private = PrivateChatRule(policy.rule("chat.private_in_group").params, members)
    return [
        MembershipExpiry(members, clock),
        BurstDetector(per_sender, state, tolerance, clock, SENDER_IN_GROUP_MAP),
        BurstDetector([broadcast], state, tolerance, clock, broadcast.rule),
        BurstDetector([private], state, tolerance, clock, private.rule),
        LargeFileDetector(policy),
        HoursDetector(policy),
        AckDetector(policy, state, members, tolerance, clock),
    ]
