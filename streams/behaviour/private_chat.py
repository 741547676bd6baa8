"""chat.private_in_group (SPEC §4): two people chatting privately in a big group.

≥ run_length consecutive messages within the window from exactly the same two senders, each
with ≥ min_each of them, in a group with ≥ min_members members (in event time, as membership
events made them: streams.behaviour.members.GroupMembership). A run is the longest stretch of
consecutive messages from at most two senders; it need not alternate. The group's one track
holds only the current run: a third sender starts a new run with the previous message's sender.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from streams.behaviour.flood import BurstRule, Counted, event_time
from streams.behaviour.members import GroupMembership
from streams.behaviour.windows import Burst, Entry
from streams.core.detector import Finding
from topics.events import MessageEvent


def current_run(entries: list[Entry]) -> list[Entry]:
    """The longest suffix of `entries` from at most two senders (entry[2])."""
    senders: set[str] = set()
    start = len(entries)
    while start > 0:
        senders.add(entries[start - 1][2])
        if len(senders) > 2:
            break
        start -= 1
    return entries[start:]


class PrivateChatRule(BurstRule):
    rule = "chat.private_in_group"

    def __init__(self, params: dict[str, Any], members: GroupMembership) -> None:
        self.run_length = int(params.get("run_length", 12))
        self.min_each = int(params.get("min_each", 4))
        self.min_members = int(params.get("min_members", 10))
        self.window = float(params.get("window_seconds", 600))
        self.members = members

    def counted(self, event: MessageEvent, key: str) -> Counted | None:
        return Counted("", (event.sender_id,))

    def trim(self, entries: list[Entry]) -> list[Entry]:
        return current_run(entries)

    def select(self, key: str, entries: Sequence[Entry], inserted: Entry) -> Sequence[Entry] | None:
        if len(entries) < self.run_length:
            return None
        counts = Counter(entry[2] for entry in entries)
        if len(counts) != 2 or min(counts.values()) < self.min_each:
            return None
        if self.members.count(key) < self.min_members:
            return None
        return entries

    def finding(self, event: MessageEvent, key: str, track: str, burst: Burst) -> Finding:
        counts = Counter(entry[2] for entry in burst.entries)
        return Finding(
            rule=self.rule,
            event_ts=event_time(burst, event),
            source_event_ids=burst.event_ids,
            group_id=key,
            subject_id=None,  # the subject is a pair: both accounts are in the evidence
            evidence={**self.evidence(burst), "pair": sorted(counts), "messages_each": dict(counts)},
        )
