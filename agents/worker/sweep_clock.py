"""The time a live sweep of one partition judges deadlines by.

A tick carries the wall clock. A partition that is busy consuming — a backlog after an outage,
say — has events whose times lag the wall clock, and an acknowledgement waiting in that backlog
must be read before its notice's deadline is judged. So while a partition has processed an event
within `idle_after` seconds, its sweeps use the newest event time it has seen (event time, as in
replay); once it has been idle that long, the wall clock (deadlines must fire in quiet groups too).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime


class SweepClock:
    def __init__(self, idle_after: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.idle_after = idle_after
        self._monotonic = monotonic
        self._seen: dict[tuple[str, int], tuple[datetime, float]] = {}

    def saw(self, partition: str, number: int, event_ts: datetime) -> None:
        """An event of `partition`'s partition `number` was processed."""
        slot = (partition, number)
        newest = self._seen.get(slot)
        ts = event_ts if newest is None or event_ts > newest[0] else newest[0]
        self._seen[slot] = (ts, self._monotonic())

    def now(self, partition: str, number: int, wall: datetime) -> datetime:
        seen = self._seen.get((partition, number))
        if seen is None or self._monotonic() - seen[1] >= self.idle_after:
            return wall
        return min(wall, seen[0])
