"""`qunguard replay`: the live detectors over a JSONL file, with in-memory reference data (SPEC §6)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RuleEngine
from streams.core.policy import Policy
from streams.core.state import MemoryState
from streams.detectors import build_detectors
from streams.ladder.steps import Ladder
from topics.codec import DecodeError, decode_event, encode
from topics.events import Event, RosterEvent
from topics.reference import Employee, Group
from topics.violation import Violation


@dataclass
class ReplayStats:
    events: int = 0
    rejected: int = 0
    duplicates: int = 0
    violations: int = 0
    last_event_ts: datetime | None = None  # the time the end-of-input sweep ran as of


def read_events(path: str | Path, errors: IO[str]) -> Iterator[tuple[int, Event | None]]:
    """Yield (line number, event) per non-blank line; a bad line is reported and yields None."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                yield number, decode_event(raw)
            except DecodeError as exc:
                print(f"{path}:{number}: {exc}; line skipped", file=errors)
                yield number, None


def replay(
    events: Iterable[tuple[int, Event | None]],
    policy: Policy,
    roster: Iterable[Employee] = (),
    ledger: Iterable[Group] = (),
    ladder_state: MemoryState | None = None,
) -> Iterator[Violation | ReplayStats]:
    """Run the engine over events in file order, then sweep as of the last event time; every
    violation goes through the escalation ladder (streams.ladder.steps), which adds discipline records.

    Yields violations as they are found and the final ReplayStats last. `ladder_state` receives
    the ladder's per-employee state (`qunguard discipline` reads it).
    """
    memory_roster, memory_ledger = MemoryRoster(roster), MemoryLedger(ledger)
    engine = RuleEngine(policy, memory_roster, memory_ledger, build_detectors(policy))
    ladder = Ladder(policy, ladder_state if ladder_state is not None else MemoryState())
    stats, last_ts = ReplayStats(), None
    seen: set[str] = set()
    for _, event in events:
        if event is None:
            stats.rejected += 1
            continue
        if event.event_id in seen:  # a redelivered event is processed once (SPEC §4)
            stats.duplicates += 1
            continue
        seen.add(event.event_id)
        stats.events += 1
        if isinstance(event, RosterEvent):
            memory_roster.apply(event)
        last_ts = event.ts if last_ts is None or event.ts > last_ts else last_ts
        for found in engine.process(event):
            for violation in ladder.process(found):
                stats.violations += 1
                yield violation
    if last_ts is not None:
        for found in engine.sweep(last_ts):
            for violation in ladder.process(found):
                stats.violations += 1
                yield violation
    stats.last_event_ts = last_ts
    yield stats


def write_replay(
    events_path: str | Path,
    policy: Policy,
    roster: Iterable[Employee],
    ledger: Iterable[Group],
    out: IO[bytes],
    errors: IO[str] | None = None,
) -> ReplayStats:
    errors = errors or sys.stderr
    stats = ReplayStats()
    for item in replay(read_events(events_path, errors), policy, roster, ledger):
        if isinstance(item, ReplayStats):
            stats = item
        else:
            out.write(encode(item) + b"\n")
    return stats
