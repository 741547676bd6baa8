"""Flood rules (SPEC §4): flood.rate, flood.duplicate, flood.mention_all, flood.broadcast.

Each rule is a `BurstRule`: which messages it counts, in which track, and what makes a burst.
A `BurstDetector` runs rules over `streams.behaviour.windows.BurstWindow`s kept in one state map. The
rules that count each sender of a group separately (rate, duplicate, @all) share the map
`flood.sender_in_group`, keyed by (group, sender) (`streams.core.state.state_key`): a value holds one
sender's windows and stays small however busy the group is, and a message they all count is one
write (live, every write sends the whole value to the changelog). The out-of-order tolerance is
measured against that key's newest event, or live against the input's watermark when that is
older (streams.behaviour.windows); `late` counts the events dropped as late, per rule.
`chat.private_in_group` (streams.behaviour.private_chat) is a burst rule too.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.behaviour.eventtime import (
    EventClock,
    behaviour_message,
    utc_seconds,
)
from streams.behaviour.windows import Burst, BurstWindow, Entry
from streams.core.detector import Context, Detector, DropsLate, Finding, Selective, Sweeper
from streams.core.state import Partition, StateMap, StateSource, state_key
from topics.events import Event, MessageEvent

# Invisible characters that separate words no more than a space does.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def normalized_text(text: str) -> str:
    """SPEC §4 for flood.duplicate: NFKC, case folding, no whitespace."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_INVISIBLE)
    return "".join(folded.split())


def text_digest(normalized: str) -> str:
    """A short stand-in for the text in state: bounded size whatever the message length."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).hexdigest()


@functools.lru_cache(maxsize=4096)
def text_key(text: str) -> tuple[int, str]:
    """(normalized length, digest) of a message text. Cached: one message is normalized by the
    duplicate rule, by the broadcast rule's `wants` where it arrives and by the broadcast rule
    again where it is forwarded to."""
    normalized = normalized_text(text)
    return len(normalized), text_digest(normalized)


@dataclass(frozen=True, slots=True)
class Counted:
    track: str  # where inside the key's value the message is counted
    extra: tuple[Any, ...] = ()  # appended to the entry [ts, event_id]


class BurstRule:
    """What one burst rule counts and when a window holds a burst. Subclasses set the rest."""

    rule: str
    partition: Partition = "group"
    window: float

    def counted(self, event: MessageEvent, key: str) -> Counted | None:
        raise NotImplementedError

    def state_key(self, event: MessageEvent, key: str) -> str:
        """The map key an event counted under routing key `key` is kept in."""
        return key

    def select(self, key: str, entries: Sequence[Entry], inserted: Entry) -> Sequence[Entry] | None:
        """The burst among a window's `entries` that `inserted` (one of them) completes, or None
        (streams.behaviour.windows.BurstWindow)."""
        raise NotImplementedError

    def trim(self, entries: list[Entry]) -> list[Entry]:
        return entries

    def finding(self, event: MessageEvent, key: str, track: str, burst: Burst) -> Finding:
        return Finding(
            rule=self.rule,
            event_ts=event_time(burst, event),
            source_event_ids=burst.event_ids,
            group_id=event.group_id,
            subject_id=track,
            evidence=self.evidence(burst),
        )

    def evidence(self, burst: Burst) -> dict[str, Any]:
        first, last = float(burst.entries[0][0]), float(burst.entries[-1][0])
        return {"count": len(burst.entries), "seconds": round(last - first, 3)}


def event_time(burst: Burst, event: MessageEvent) -> datetime:
    """When the burst completed, with the offset of the event that revealed it."""
    return datetime.fromtimestamp(burst.end, tz=event.ts.tzinfo)


class BurstDetector(Detector, Selective, Sweeper, DropsLate):
    """Runs `BurstRule`s of one partitioning over one state map (`name`). A key's value holds
    each rule's window under the rule's id, so rules that keep their windows under the same key
    (`BurstRule.state_key`) cost one write for an event they all count."""

    sweep_interval = 300.0  # the sweep only expires idle keys

    def __init__(
        self, rules: Sequence[BurstRule], state: StateSource, tolerance: float, clock: EventClock, name: str
    ) -> None:
        partitions = {rule.partition for rule in rules}
        if len(partitions) != 1:
            raise ValueError(f"burst rules of one map must share a partitioning, got {partitions}")
        self.burst_rules = tuple(rules)
        self.rules = tuple(rule.rule for rule in rules)
        self.partition = partitions.pop()
        self.windows = {rule.rule: _window(rule, tolerance) for rule in rules}
        self.state: StateMap = state.map(name, self.partition)
        self.clock = clock
        self.late: Counter[str] = Counter()

    def wants(self, event: Event) -> bool:
        """Whether some rule counts `event` (streams.core.engine.RuleEngine.routes forwards only those)."""
        return behaviour_message(event) and any(r.counted(event, "") is not None for r in self.burst_rules)

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        if not behaviour_message(event):
            return ()
        ts = utc_seconds(event.ts)
        values: dict[str, dict[str, Any]] = {}
        changed: set[str] = set()
        findings: list[Finding] = []
        for rule in self.burst_rules:
            counted = rule.counted(event, key)
            if counted is None:
                continue
            self.clock.saw(ts)
            where = rule.state_key(event, key)
            if where not in values:
                values[where] = self.state.get(where) or {}
            old = values[where].get(rule.rule)
            window = self.windows[rule.rule]
            if window.late(old, ts, ctx.watermark):
                self.late[rule.rule] += 1
                continue
            entry = [ts, event.event_id, *counted.extra]
            new, burst = window.add(
                old,
                counted.track,
                entry,
                lambda entries, inserted, rule=rule: rule.select(key, entries, inserted),
                ctx.watermark,
            )
            if new is not old and new != old:
                values[where] = {**values[where], rule.rule: new}
                changed.add(where)
            if burst is not None:
                findings.append(rule.finding(event, key, counted.track, burst))
        for where in changed:
            self.state[where] = values[where]
        return findings

    def sweep(self, now: datetime, ctx: Context) -> Iterable[Finding]:
        """Expire idle windows and keys, in event time (streams.behaviour.eventtime.EventClock)."""
        horizon = self.clock.expiry_horizon(now)
        if horizon is None:
            return ()
        for key, value in list(self.state.items()):
            kept = {
                rule: window
                for rule, window in value.items()
                if rule in self.windows and not self.windows[rule].expired(window, horizon)
            }
            if not kept:
                del self.state[key]
            elif len(kept) != len(value):
                self.state[key] = kept
        return ()


def _window(rule: BurstRule, tolerance: float) -> BurstWindow:
    trim = None if type(rule).trim is BurstRule.trim else rule.trim
    return BurstWindow(rule.window, tolerance, trim)


class RateRule(BurstRule):
    """flood.rate: ≥ count messages by one sender in one group within the window."""

    rule = "flood.rate"

    def __init__(self, params: dict[str, Any]) -> None:
        self.count = int(params.get("count", 10))
        self.window = float(params.get("window_seconds", 60))

    def counted(self, event: MessageEvent, key: str) -> Counted | None:
        return Counted(event.sender_id)

    def state_key(self, event: MessageEvent, key: str) -> str:
        return state_key(key, event.sender_id)

    def select(self, key: str, entries: Sequence[Entry], inserted: Entry) -> Sequence[Entry] | None:
        return entries if len(entries) >= self.count else None


class MentionAllRule(RateRule):
    """flood.mention_all: more than `more_than` @all messages by one sender in one group."""

    rule = "flood.mention_all"

    def __init__(self, params: dict[str, Any]) -> None:
        self.count = int(params.get("more_than", 2)) + 1
        self.window = float(params.get("window_seconds", 3600))

    def counted(self, event: MessageEvent, key: str) -> Counted | None:
        return Counted(event.sender_id) if event.mention_all else None


class DuplicateRule(BurstRule):
    """flood.duplicate: the same normalized text ≥ count times by one sender in one group."""

    rule = "flood.duplicate"

    def __init__(self, params: dict[str, Any]) -> None:
        self.count = int(params.get("count", 3))
        self.min_chars = int(params.get("min_chars", 5))
        self.window = float(params.get("window_seconds", 600))

    def counted(self, event: MessageEvent, key: str) -> Counted | None:
        length, digest = text_key(event.text)
        if length < self.min_chars:
            return None
        return Counted(event.sender_id, (digest,))

    def state_key(self, event: MessageEvent, key: str) -> str:
        return state_key(key, event.sender_id)

    def select(self, key: str, entries: Sequence[Entry], inserted: Entry) -> Sequence[Entry] | None:
        same = same_text(entries, inserted)
        return same if len(same) >= self.count else None


class BroadcastRule(BurstRule):
    """flood.broadcast: one sender, the same normalized text in ≥ `groups` groups (sender-keyed)."""

    rule = "flood.broadcast"
    partition: Partition = "sender"

    def __init__(self, params: dict[str, Any]) -> None:
        self.groups = int(params.get("groups", 3))
        self.min_chars = int(params.get("min_chars", 10))
        self.window = float(params.get("window_seconds", 600))

    def counted(self, event: MessageEvent, key: str) -> Counted | None:
        length, digest = text_key(event.text)
        if length < self.min_chars:
            return None
        return Counted("", (digest, event.group_id))

    def select(self, key: str, entries: Sequence[Entry], inserted: Entry) -> Sequence[Entry] | None:
        same = same_text(entries, inserted)
        return same if len({entry[3] for entry in same}) >= self.groups else None

    def finding(self, event: MessageEvent, key: str, track: str, burst: Burst) -> Finding:
        # the burst spans groups, so the violation names none; recall needs each message's group
        messages = [{"event_id": entry[1], "group_id": entry[3]} for entry in burst.entries]
        return Finding(
            rule=self.rule,
            event_ts=event_time(burst, event),
            source_event_ids=burst.event_ids,
            group_id=None,
            subject_id=key,
            evidence={**self.evidence(burst), "messages": messages},
        )


def same_text(entries: Sequence[Entry], inserted: Entry) -> list[Entry]:
    """The entries with the inserted entry's text digest (entry[2]): the only text whose count it changes."""
    digest = inserted[2]
    return [entry for entry in entries if entry[2] == digest]
