"""The detector contract: what a detector reports (`Finding`), what it may read (`Context`), what
every detector is (`Detector`) and the capabilities a detector may add.

A detector declares each capability it has by inheriting its class, e.g.
`class BurstDetector(Detector, Selective, Sweeper)`; the engine and the worker find capabilities
with `isinstance`, never by probing attributes. The classes are runtime-checkable Protocols, so an
ad-hoc detector with a capability's members (a test double) matches without declaring it;
tests/unit/streams/core/test_detector.py checks that every built detector declares exactly the
capabilities it has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from streams.core.directory import LedgerView, RosterView
from streams.core.policy import Policy
from streams.core.state import Partition
from topics.events import Event, MessageEvent


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    event_ts: datetime
    source_event_ids: tuple[str, ...]
    group_id: str | None = None
    subject_id: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    extra_actions: tuple[str, ...] = ()

    @classmethod
    def of_message(cls, rule: str, event: MessageEvent, evidence: dict[str, Any]) -> Finding:
        """A finding about one message, its sender the subject."""
        return cls(rule, event.ts, (event.event_id,), event.group_id, event.sender_id, evidence)


def _owns_all(key: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Context:
    """What a detector may read besides the event: the policy, the reference data, (in a sweep)
    which routing keys this process owns, and (live) the event-time watermark of the input the
    event came from. Replay owns every key; a live worker owns the keys of the partition being
    swept, so a sweep over the ledger must skip keys it does not own. The watermark
    (streams.core.watermark) is None in replay, where a key's newest event is the reference.
    """

    policy: Policy
    roster: RosterView
    ledger: LedgerView
    owns: Callable[[str], bool] = _owns_all
    watermark: float | None = None


@runtime_checkable
class Detector(Protocol):
    """One concern (content, flood, membership …). `rules` lists the rule ids it can emit.

    `partition` says which routing key the detector's state is keyed by (streams.core.state); the
    engine calls `detect` once per key `streams.core.routing.route` gives the event for it.
    """

    rules: tuple[str, ...]
    partition: Partition

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]: ...


@runtime_checkable
class FansOut(Protocol):
    """A group detector that knows routing keys of other partitionings from its state (e.g. the
    members a dissolved group had). The engine reads them before the group detectors run on the
    event, since they may clear that state."""

    def fanout(self, event: Event, key: str) -> dict[Partition, tuple[str, ...]]: ...


@runtime_checkable
class Selective(Protocol):
    """A detector that uses only some events: live, an event none of a partitioning's detectors
    wants is not forwarded to it (a detector that is not Selective wants every event)."""

    def wants(self, event: Event) -> bool: ...


@runtime_checkable
class DropsLate(Protocol):
    """A detector that ignores events too far behind in event time; `late` counts them per rule."""

    rules: tuple[str, ...]
    late: Mapping[str, int]


@runtime_checkable
class Sweeper(Protocol):
    """A detector with time-driven findings or state to expire (deadlines, idle groups).

    Replay sweeps once, at the end of input; live, a partition's sweepers run on its ticks, each at
    most every `sweep_interval` seconds (0: every tick)."""

    sweep_interval: float = 0.0

    def sweep(self, now: datetime, ctx: Context) -> Iterable[Finding]: ...


@runtime_checkable
class Reloadable(Protocol):
    """A detector built from files that a live worker reloads, polled every `reload_seconds`."""

    reload_seconds: float

    def reload(self, force: bool = False) -> bool:
        """Rebuild from the files if they changed (or `force`); True when something new is in use."""
        ...


class FallbackHook(Protocol):
    """A working calendar that judges a day without statutory-holiday data calls `on_fallback`."""

    on_fallback: Callable[[date], None] | None


@runtime_checkable
class Calendared(Protocol):
    """A detector that judges working time on a calendar (streams.behaviour.worktime)."""

    calendar: FallbackHook


CAPABILITIES: tuple[type, ...] = (FansOut, Selective, Sweeper, Reloadable, Calendared)

Phase = Literal["detect", "sweep"]


class DetectorTimer(Protocol):
    """Where the time of detector calls goes (live: a Prometheus histogram, agents.worker.metrics).
    Asked once per detector and phase for the function that records one call's seconds."""

    def __call__(self, detector: Detector, phase: Phase) -> Callable[[float], None]: ...
