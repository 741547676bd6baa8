"""Event-time burst windows as JSON state: what every flood-like rule shares.

A partition key's value (a group, or a sender for cross-group rules) is

    {"wm": <newest event time seen, epoch s>, "t": {<track>: {"e": [entry…], "f": {…}}}}

A track is whatever the rule counts separately inside the key: a sender within a group, or one
track ("") for the whole key. An entry is a JSON list `[ts, event_id, *extra]`, kept sorted by
`ts`. When the rule's `select` finds a burst in a window ending at some entry, the burst is
reported once: its entries up to that end are consumed (no message counts in two bursts) and
the track is cooling down until one window length after the burst's end (SPEC §4, "How often
a rule fires"). `f` remembers the last burst for the cooldown and for a redelivered trigger.

Event time: the reference is the key's newest event time `wm`, or, live, the watermark of the
input the event came from when that is older (streams.core.watermark: a source read more slowly
than another holds it back). An event older than `reference - tolerance` is late and ignored;
anything else is inserted in time order and every window containing it is checked. Entries older
than any window a non-late event could still close are pruned, so a key's value holds one window
plus the tolerance of entries, plus whatever the watermark trails the key's newest event by. An emptied key keeps only its watermark (so a
redelivered old event is still late) until a sweep finds it idle and deletes it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from streams.behaviour.eventtime import reference_time

Entry = list[Any]  # [ts, event_id, *extra]
_TIME = itemgetter(0)  # entries are kept sorted by it: bisected without a list of times
Select = Callable[[Sequence[Entry], Entry], Sequence[Entry] | None]
Trim = Callable[[list[Entry]], list[Entry]]


@dataclass(frozen=True, slots=True)
class Burst:
    entries: tuple[Entry, ...]  # the burst's members, oldest first
    end: float  # event time the burst completed (epoch seconds)

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(str(entry[1]) for entry in self.entries)


@dataclass(frozen=True, slots=True)
class BurstWindow:
    """One rule's window. `add` takes the rule's `select(window_entries, inserted)`, which returns
    the burst's members or None. Only windows holding the entry just inserted are judged, and each
    was judged without it before (when its own last entry came), so what can newly be a burst is
    what the inserted entry completes: a rule that counts texts separately looks at the inserted
    entry's text only; `trim`, when given, shortens a track after an insert (e.g. to the current run of a
    conversation); an inserted entry trimmed away is not evaluated.
    """

    window: float
    tolerance: float
    trim: Trim | None = None

    def late(self, value: dict[str, Any] | None, ts: float, watermark: float | None = None) -> bool:
        """Whether an event at `ts` is too late to count in this key (see the module docstring)."""
        return value is not None and ts < reference_time(float(value["wm"]), watermark) - self.tolerance

    def add(
        self,
        value: dict[str, Any] | None,
        track: str,
        entry: Entry,
        select: Select,
        watermark: float | None = None,
    ) -> tuple[dict[str, Any], Burst | None]:
        """Count `entry` in `track`; return the key's new value (the same object when nothing
        changed) and the burst it completed, if any."""
        ts, event_id = float(entry[0]), str(entry[1])
        if self.late(value, ts, watermark):
            return value, None  # type: ignore[return-value] - a late event finds a value
        tracks: dict[str, Any] = value["t"] if value else {}
        current = tracks.get(track, {})
        fired = current.get("f")
        if fired is not None and event_id == fired["by"]:
            # redelivery of the event that completed a burst: report the same burst again
            # (the violation id is deterministic), in case the first report was lost
            return value, Burst(tuple(fired["m"]), float(fired["end"]))
        if fired is not None and ts <= float(fired["end"]):
            return value, None  # inside a burst already reported
        entries: list[Entry] = current.get("e", [])
        pos = bisect_right(entries, ts, key=_TIME)
        if any(entries[i][1] == event_id for i in range(bisect_left(entries, ts, key=_TIME), pos)):
            return value, None  # redelivered (same event, same time), already counted
        inserted = [ts, event_id, *entry[2:]]
        entries = [*entries[:pos], inserted, *entries[pos:]]
        if self.trim is not None:
            kept = self.trim(entries)
            pos -= len(entries) - len(kept)
            entries = kept
        burst = None
        if pos >= 0:
            not_before = float(fired["end"]) + self.window if fired is not None else float("-inf")
            entries, burst = self._search(entries, pos, inserted, not_before, select)
        updated = dict(current, e=entries)
        if burst is not None:
            updated["f"] = {"end": burst.end, "by": event_id, "m": list(burst.entries)}
        new_wm = max(float(value["wm"]), ts) if value else ts
        return self._pruned({**tracks, track: updated}, new_wm, reference_time(new_wm, watermark)), burst

    def _search(
        self, entries: list[Entry], start: int, inserted: Entry, not_before: float, select: Select
    ) -> tuple[list[Entry], Burst | None]:
        """The earliest window ending at or after `start` (the entry just inserted at `ts`) that
        holds a burst (`start`: where `inserted` is). Only windows that contain the new entry can have changed: one ending more
        than a window after it was judged without it when its own last entry came, and is not
        judged again (an entry arriving far out of order would otherwise re-judge every later
        window, which a backlog behind the watermark makes thousands)."""
        for end in range(start, bisect_right(entries, inserted[0] + self.window, key=_TIME)):
            end_ts = float(entries[end][0])
            if end_ts < not_before:
                continue
            lo = bisect_left(entries, end_ts - self.window, key=_TIME)
            chosen = select(entries[lo : end + 1], inserted)
            if chosen:
                return entries[end + 1 :], Burst(tuple(chosen), end_ts)
        return entries, None

    def expired(self, value: dict[str, Any], horizon: float) -> bool:
        """Whether the whole key has been idle since before `horizon` (for a sweep), so that
        nothing in it can count any more: its newest event is a window and the tolerance older."""
        return float(value["wm"]) < horizon - self.window - self.tolerance

    def _pruned(self, tracks: dict[str, Any], wm: float, reference: float) -> dict[str, Any]:
        # a non-late event is at or after reference - tolerance; the windows it can close start
        # at or after that minus a window, and a cooldown ending before it is over. An emptied key
        # keeps its newest event time, so a redelivered old event stays late; the sweep deletes
        # the key once it is idle (`expired`).
        horizon = reference - self.tolerance
        kept: dict[str, Any] = {}
        for name, track in tracks.items():
            entries = track.get("e", [])
            cut = bisect_left(entries, horizon - self.window, key=_TIME)
            fired = track.get("f")
            if fired is not None and float(fired["end"]) + self.window < horizon:
                fired = None
            if cut < len(entries) or fired is not None:
                pruned = {"e": entries[cut:]}
                if fired is not None:
                    pruned["f"] = fired
                kept[name] = pruned if (cut or fired is not track.get("f")) else track
        return {"wm": wm, "t": kept}
