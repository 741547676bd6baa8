"""`qunguard lag`: consumer-group lag read from outside the consumers.

Each round reads every committed offset of each group (OffsetFetch for all topics, so internal
topics the group consumes are included), the group's member count, then the log-end offsets of
those partitions (agents.connect.offsets). `LagMonitor` keeps the history that lag in seconds and
the trend status need (agents.lag.status); `--watch` and `--serve` build it as they go. A one-shot
run takes two samples `span` seconds apart (longer than the worker's commit interval) and judges
the status over those two: a stuck or rewound group shows at once, a growing lag is WARN. A group
with no committed offsets is NOTFOUND; one-shot runs exit 1 for it, as for a group that could not
be read.
"""

from __future__ import annotations

import collections
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

import orjson

from agents.cli.table import row
from agents.connect.offsets import TP, Membership, OffsetReadError
from agents.lag.status import EndHistory, Sample, Status, partition_status, worst


class OffsetSource(Protocol):
    method: Any

    def committed(self, group: str) -> dict[TP, int]: ...

    def membership(self, group: str) -> Membership: ...

    def end_offsets(self, tps: Iterable[TP]) -> dict[TP, int]: ...


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int
    end: int
    lag: int
    lag_seconds: float | None
    status: Status


@dataclass(frozen=True, slots=True)
class GroupLag:
    group: str
    time: float
    state: str  # the broker's group state (STABLE, EMPTY, …)
    members: int | None  # None: the broker does not list them (Tansu)
    partitions: tuple[PartitionLag, ...]
    status: Status
    error: str | None = None

    @property
    def max_lag(self) -> int:
        return max((p.lag for p in self.partitions), default=0)

    @property
    def sum_lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def max_lag_seconds(self) -> float | None:
        """The worst partition's lag in seconds; None if a lagging partition's is unknown."""
        values = [p.lag_seconds for p in self.partitions]
        if any(v is None for v in values):
            return None
        return max(values, default=0.0)

    @property
    def found(self) -> bool:
        """Could the group be read, and has it committed offsets?"""
        return self.error is None and self.status is not Status.NOTFOUND

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "status": str(self.status),
            "state": self.state,
            "members": self.members,
            "max_lag": self.max_lag,
            "sum_lag": self.sum_lag,
            "max_lag_seconds": _round(self.max_lag_seconds),
            "error": self.error,
            "partitions": [
                {
                    "topic": p.topic,
                    "partition": p.partition,
                    "committed": p.committed,
                    "end": p.end,
                    "lag": p.lag,
                    "lag_seconds": _round(p.lag_seconds),
                    "status": str(p.status),
                }
                for p in self.partitions
            ],
        }


class LagMonitor:
    """Samples groups' lag and keeps the history behind lag seconds and status."""

    def __init__(
        self,
        source: OffsetSource,
        groups: Sequence[str],
        window: int = 10,
        history: int = 360,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.groups = tuple(groups)
        self.window = window
        self.clock = clock
        self._ends: dict[TP, EndHistory] = collections.defaultdict(lambda: EndHistory(history))
        self._samples: dict[tuple[str, TP], collections.deque[Sample]] = collections.defaultdict(
            lambda: collections.deque(maxlen=window)
        )

    def sample(self) -> list[GroupLag]:
        """One round over every group. A group whose offsets cannot be read reports its error."""
        committed: dict[str, dict[TP, int]] = {}
        members: dict[str, Membership] = {}
        errors: dict[str, str] = {}
        for group in self.groups:
            try:
                committed[group] = self.source.committed(group)
                members[group] = self.source.membership(group)
            except OffsetReadError as exc:
                errors[group] = str(exc)
        wanted = {tp for offsets in committed.values() for tp in offsets}
        try:
            ends = self.source.end_offsets(wanted)
        except OffsetReadError as exc:
            ends = {}
            errors.update({group: str(exc) for group in committed if committed[group]})
        now = self.clock()
        for tp, end in ends.items():
            self._ends[tp].add(now, end)
        reports = []
        for group in self.groups:
            if group in errors:
                reports.append(GroupLag(group, now, "UNKNOWN", None, (), Status.UNKNOWN, errors[group]))
            else:
                reports.append(self._group(group, committed[group], ends, members[group], now))
        return reports

    def _group(
        self, group: str, committed: dict[TP, int], ends: dict[TP, int], membership: Membership, now: float
    ) -> GroupLag:
        if not committed:
            return GroupLag(group, now, membership.state, membership.members, (), Status.NOTFOUND)
        partitions = []
        for tp in sorted(committed):
            window = self._samples[(group, tp)]
            window.append(Sample(now, committed[tp], ends[tp]))
            sample = window[-1]
            partitions.append(
                PartitionLag(
                    topic=tp[0],
                    partition=tp[1],
                    committed=sample.committed,
                    end=sample.end,
                    lag=sample.lag,
                    lag_seconds=self._ends[tp].lag_seconds(sample.committed, now),
                    status=partition_status(list(window), membership.members, self.window),
                )
            )
        status = worst(p.status for p in partitions)
        return GroupLag(group, now, membership.state, membership.members, tuple(partitions), status)


def lag_json(reports: Sequence[GroupLag], method: str) -> bytes:
    doc = {"time": reports[0].time if reports else time.time(), "end_offsets": method}
    doc["groups"] = [r.to_json() for r in reports]
    return orjson.dumps(doc)


WIDTHS = (24, 26, 4, 10, 10, 8, 8, 7)


def lag_table(reports: Sequence[GroupLag]) -> str:
    lines = [row(("group", "topic", "part", "committed", "end", "lag", "lag s", "status"), WIDTHS)]
    for report in reports:
        for p in report.partitions:
            cells = (report.group, p.topic, str(p.partition), str(p.committed), str(p.end), str(p.lag))
            lines.append(row((*cells, _seconds(p.lag_seconds), str(p.status)), WIDTHS))
    lines.append("")
    for report in reports:
        if report.error:
            lines.append(f"{report.group}: {report.status}, error: {report.error}")
            continue
        if report.status is Status.NOTFOUND:
            lines.append(
                f"{report.group}: {report.status}, no committed offsets: no such group, or it has not"
                f" committed yet (state {report.state.lower()})"
            )
            continue
        members = "?" if report.members is None else report.members
        lines.append(
            f"{report.group}: {report.status}, {report.state.lower()} with {members} members,"
            f" {len(report.partitions)} partitions,"
            f" max lag {report.max_lag}, sum {report.sum_lag}, max lag {_seconds(report.max_lag_seconds)} s"
        )
    return "\n".join(lines)


def run_lag(
    source: OffsetSource,
    groups: Sequence[str],
    as_json: bool = False,
    watch: float | None = None,
    window: int = 10,
    span: float = 0.0,
    out: TextIO | None = None,
) -> int:
    """Print one round (`one_shot`), or one per `watch` seconds until interrupted."""
    out = out or sys.stdout
    if watch is None:
        return one_shot(source, groups, as_json, span, window, out)
    monitor = LagMonitor(source, groups, window=window)
    while True:
        started = time.monotonic()
        _write(monitor.sample(), str(source.method), as_json, out)
        time.sleep(max(0.0, watch - (time.monotonic() - started)))


def one_shot(
    source: OffsetSource, groups: Sequence[str], as_json: bool, span: float, window: int, out: TextIO
) -> int:
    """One round, its status judged over two samples `span` seconds apart when a partition lags
    (span 0: one sample, so a lagging partition is UNKNOWN). 1 if a group had an error or is
    NOTFOUND, else 0."""
    monitor = LagMonitor(source, groups, window=2 if span > 0 else window)
    reports = monitor.sample()
    note = ""
    if span > 0 and any(p.lag for r in reports for p in r.partitions):
        time.sleep(span)
        reports = monitor.sample()
        note = f", status over 2 samples {span:g} s apart"
    _write(reports, str(source.method), as_json, out, note)
    return 0 if all(r.found for r in reports) else 1


def _write(reports: Sequence[GroupLag], method: str, as_json: bool, out: TextIO, note: str = "") -> None:
    if as_json:
        out.write(lag_json(reports, method).decode() + "\n")
    else:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(reports[0].time))
        out.write(f"{stamp}  end offsets: {method}{note}\n{lag_table(reports)}\n\n")
    out.flush()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    return "inf" if math.isinf(value) else f"{value:.1f}"
