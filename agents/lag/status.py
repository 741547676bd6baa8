"""Consumer-lag arithmetic over sampled offsets: pure functions, no Kafka client.

A sample is what a lag monitor sees from outside the consumer at one instant: the group's
committed offset and the partition's log-end offset. Two figures come from a short history of
samples:

* lag in seconds, as kafka-lag-exporter estimates it: the log-end offsets sampled over time form
  a curve offset → time; the time at which the log end passed the committed offset is when the
  oldest unconsumed record was written, so lag_seconds = now − that time (linear interpolation
  between the two samples around it, extrapolation from the first and last samples when the
  committed offset is older than the history);
* a Burrow-like status over a sliding window of samples instead of a fixed threshold.

Burrow sees every commit with its timestamp; an outside sampler sees only the committed offset
at each sample, so STOP (commits stopped) is told from STALL (committed offset stuck) by group
membership: a stuck group with no members has stopped, one with members is stalled.

A group with no committed offset at all is NOTFOUND (Burrow's name): the broker does not know it,
or it has never committed; that is no lag to judge, and never OK.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise


class Status(enum.StrEnum):
    OK = "OK"
    UNKNOWN = "UNKNOWN"  # lag > 0 but the window is not full yet: no trend to judge
    WARN = "WARN"  # lag > 0 and never decreasing over the window while offsets move
    REWIND = "REWIND"  # the committed offset moved back within the window
    STALL = "STALL"  # lag > 0, committed offset not moving, consumers present
    STOP = "STOP"  # lag > 0, committed offset not moving, no consumer in the group
    NOTFOUND = "NOTFOUND"  # the group has no committed offsets: no such group, or it never committed

    @property
    def severity(self) -> int:
        return list(Status).index(self)


@dataclass(frozen=True, slots=True)
class Sample:
    time: float  # seconds since the epoch, when the log-end offset was read
    committed: int
    end: int

    @property
    def lag(self) -> int:
        # Committed offsets are read before end offsets, so committed > end only if the topic was
        # recreated or the broker lost data; never report negative lag.
        return max(0, self.end - self.committed)


class EndHistory:
    """(time, log-end offset) points of one partition, oldest first, at most `size` of them."""

    def __init__(self, size: int = 360) -> None:
        self.points: deque[tuple[float, int]] = deque(maxlen=size)

    def add(self, time: float, end: int) -> None:
        if self.points and end < self.points[-1][1]:
            self.points.clear()  # the log end went back: topic recreated, old points are meaningless
        if self.points and time <= self.points[-1][0]:
            return
        self.points.append((time, end))

    def lag_seconds(self, committed: int, now: float) -> float | None:
        return lag_seconds(self.points, committed, now)


def lag_seconds(points: Sequence[tuple[float, int]], committed: int, now: float) -> float | None:
    """Seconds since the record at `committed` was written; 0 when caught up, None when unknown.

    `points` are (time, log-end offset) samples, oldest first, with non-decreasing offsets.
    """
    if not points:
        return None
    if committed >= points[-1][1]:
        return 0.0
    written = _time_of_offset(points, committed)
    if written is None:
        return None
    return max(0.0, now - written)


def _time_of_offset(points: Sequence[tuple[float, int]], offset: int) -> float | None:
    # The record at `offset` was written after the last point whose end is <= offset and no later
    # than the next point; interpolate inside that interval.
    before = None
    for i, (_, end) in enumerate(points):
        if end <= offset:
            before = i
        else:
            break
    if before is not None:
        (t0, e0), (t1, e1) = points[before], points[before + 1]
        return t0 + (offset - e0) * (t1 - t0) / (e1 - e0)
    # Older than every point: extrapolate the average write rate over the whole history, but the
    # record is at least as old as the first point.
    (t0, e0), (t1, e1) = points[0], points[-1]
    if e1 == e0 or t1 == t0:
        return None
    guess = t0 - (e0 - offset) * (t1 - t0) / (e1 - e0)
    return min(guess, t0)


def partition_status(window: Sequence[Sample], members: int | None, size: int) -> Status:
    """Burrow's partition rules over the last `size` samples (`window` is oldest first).

    `members` is the group's member count at the last sample (None: unknown).
    """
    window = window[-size:]
    if not window or window[-1].lag == 0:
        return Status.OK
    if any(b.committed < a.committed for a, b in pairwise(window)):
        return Status.REWIND
    if len(window) < size:
        return Status.UNKNOWN
    if any(s.lag == 0 for s in window):
        return Status.OK  # caught up at some point in the window: it is keeping up
    if all(s.committed == window[0].committed for s in window):
        return Status.STOP if members == 0 else Status.STALL
    if all(b.lag >= a.lag for a, b in pairwise(window)):
        return Status.WARN
    return Status.OK


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda s: s.severity, default=Status.OK)


def nan_max(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None and not math.isnan(v)]
    return max(known) if known else None
