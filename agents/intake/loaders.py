"""`qunguard roster load` / `qunguard ledger load`: validate a reference CSV, replace the dataset in
Redis atomically, and (roster) publish one `hr.roster` event per changed employee.

Order of a roster load (SPEC §1: the loader publishes after it writes Redis):
1. validate the whole file (nothing is written from a bad file);
2. diff it against the roster Redis holds now;
3. swap the new roster in, and append the change events to a Redis outbox, in one transaction;
4. produce the outbox to `hr.roster` a slice at a time (PUBLISH_SLICE events: the loader's memory
   does not grow with the roster), check every delivery report of a slice, then trim it.
If Kafka fails in step 4 the events not yet delivered stay in the outbox and the next load
publishes them first, so delivery is at least once (event ids are deterministic: consumers can
drop duplicates).

Every load writes the next generation and a load time later than the previous load's
(`DatasetMeta.next_load`), so a load after a flush or a restore from an older copy is newer
than anything a worker used before, and workers that hold records for want of data resume.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
from confluent_kafka import KafkaError, Message, Producer

from agents.connect.kafka import producer_config
from agents.connect.settings import Settings
from agents.stores.reference import ConcurrentLoadError, DatasetMeta, ReferenceStore
from topics.catalog import ROSTER
from topics.codec import encode
from topics.reference import Employee, Group, read_ledger, read_roster

SWAP_ATTEMPTS = 3
T = TypeVar("T")
DELIVERY_TIMEOUT = 30.0  # seconds for every hr.roster event of one slice to be acknowledged
PUBLISH_SLICE = 5_000  # hr.roster events read from the outbox, produced and trimmed at a time


class PublishError(RuntimeError):
    """Some hr.roster events were not delivered; Redis already holds the new roster."""


@dataclass(frozen=True, slots=True)
class RosterChange:
    employee_id: str
    change: str  # upsert | departed | removed (SPEC §2, topics.events.ROSTER_CHANGES)
    record: Employee | None
    is_new: bool = False


@dataclass(frozen=True, slots=True)
class LoadResult:
    dataset: str  # "roster" or "ledger"
    source: str
    generation: int
    records: int
    added: int = 0
    changed: int = 0
    departed: int = 0
    removed: int = 0
    published: int = 0
    published_from_earlier: int = 0  # outbox events a previous load could not deliver
    changes: tuple[RosterChange, ...] = field(default=(), repr=False)

    def summary(self) -> str:
        counts = f"added {self.added}, changed {self.changed}, "
        if self.dataset == "roster":
            counts += f"departed {self.departed}, "
        counts += f"removed {self.removed}"
        text = f"{self.dataset} {self.source}: {self.records} records, generation {self.generation}; {counts}"
        if self.dataset == "roster":
            text += f"; published {self.published} {ROSTER.name} events"
            if self.published_from_earlier:
                text += f" ({self.published_from_earlier} left over from an earlier load)"
        return text


def diff_roster(current: Mapping[str, Employee], incoming: Sequence[Employee]) -> list[RosterChange]:
    """The changes that turn `current` into `incoming`, in file order, removals last."""
    changes = []
    for employee in incoming:
        before = current.get(employee.employee_id)
        if before is None:
            changes.append(RosterChange(employee.employee_id, "upsert", employee, is_new=True))
        elif before != employee:
            became_departed = before.status != "departed" and employee.status == "departed"
            # a departed event carries the record too: it has left_at and any other edit made with it
            changes.append(
                RosterChange(employee.employee_id, "departed" if became_departed else "upsert", employee)
            )
    kept = {e.employee_id for e in incoming}
    changes += [RosterChange(eid, "removed", None) for eid in current if eid not in kept]
    return changes


def roster_event(change: RosterChange, digest: str, ts: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": "roster",
        "event_id": f"r-{digest[:16]}-{change.employee_id}",
        "ts": ts,
        "employee_id": change.employee_id,
        "change": change.change,
    }
    if change.record is not None:
        event["record"] = change.record.to_dict()
    return event


def load_roster(path: str | Path, settings: Settings, publish: bool = True) -> LoadResult:
    employees = read_roster(path)
    digest = file_digest(path)
    store = ReferenceStore.from_settings(settings)
    try:

        def swap() -> tuple[DatasetMeta, list[RosterChange], list[bytes]]:
            current_meta, current = store.roster()
            changes = diff_roster(current, employees)
            now = datetime.now(UTC)
            ts = now.isoformat(timespec="milliseconds")
            outbox = [encode(roster_event(c, digest, ts)) for c in changes] if publish else []
            meta = current_meta.next_load(digest, str(path), len(employees), now)
            store.replace_roster(employees, meta, current_meta.generation, outbox)
            return meta, changes, outbox

        meta, changes, outbox = _optimistic(swap)
        published = earlier = 0
        if publish:
            published = publish_outbox(store, settings.kafka_bootstrap, DELIVERY_TIMEOUT)
            earlier = max(0, published - len(outbox))
    finally:
        store.client.close()
    return LoadResult(
        dataset="roster",
        source=str(path),
        generation=meta.generation,
        records=len(employees),
        added=sum(c.is_new for c in changes),
        changed=sum(c.change == "upsert" and not c.is_new for c in changes),
        departed=sum(c.change == "departed" for c in changes),
        removed=sum(c.change == "removed" for c in changes),
        published=published,
        published_from_earlier=earlier,
        changes=tuple(changes),
    )


def load_ledger(path: str | Path, settings: Settings) -> LoadResult:
    groups = read_ledger(path)
    digest = file_digest(path)
    store = ReferenceStore.from_settings(settings)
    try:

        def swap() -> tuple[DatasetMeta, Mapping[str, Group]]:
            current_meta, current = store.ledger()
            meta = current_meta.next_load(digest, str(path), len(groups), datetime.now(UTC))
            store.replace_ledger(groups, meta, current_meta.generation)
            return meta, current

        meta, current = _optimistic(swap)
    finally:
        store.client.close()
    added, changed, removed = _ledger_counts(current, groups)
    return LoadResult("ledger", str(path), meta.generation, len(groups), added, changed, removed=removed)


def _optimistic(swap: Callable[[], T]) -> T:
    """Run a read-diff-replace swap, again from the read when another load got in first."""
    for _ in range(SWAP_ATTEMPTS - 1):
        with contextlib.suppress(ConcurrentLoadError):
            return swap()
    return swap()


def _ledger_counts(current: Mapping[str, Group], incoming: Sequence[Group]) -> tuple[int, int, int]:
    added = sum(g.group_id not in current for g in incoming)
    changed = sum(g.group_id in current and current[g.group_id] != g for g in incoming)
    kept = {g.group_id for g in incoming}
    return added, changed, sum(gid not in kept for gid in current)


def publish_outbox(store: ReferenceStore, bootstrap: str, timeout: float = DELIVERY_TIMEOUT) -> int:
    """Produce the roster outbox to hr.roster, oldest first, PUBLISH_SLICE events at a time, each
    slice trimmed from the outbox once all of it was delivered; return how many were published.
    Raises PublishError at the first slice not wholly delivered (it stays in the outbox)."""
    producer = Producer(producer_config(bootstrap, "qunguard-roster-loader", timeout))
    published = 0
    while payloads := store.pending_roster_events(PUBLISH_SLICE):
        try:
            publish_roster_events(producer, payloads, timeout)
        except PublishError as exc:
            before = f" ({published} delivered before them)" if published else ""
            raise PublishError(f"{exc}{before}") from None
        store.ack_roster_events(len(payloads))
        published += len(payloads)
    return published


def publish_roster_events(producer: Producer, payloads: Sequence[bytes], timeout: float) -> None:
    """Produce encoded roster events to hr.roster keyed by employee id; raise unless all were delivered."""
    failures: list[str] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(f"{message.key().decode()}: {error.str()}")

    for payload in payloads:
        key = orjson.loads(payload)["employee_id"].encode()
        while True:
            try:
                producer.produce(ROSTER.name, key=key, value=payload, on_delivery=on_delivery)
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.5)
        producer.poll(0)
    undelivered = producer.flush(timeout + 5)
    if failures or undelivered:
        detail = "; ".join(failures[:3]) or f"{undelivered} still queued after {timeout}s"
        raise PublishError(
            f"{len(failures) + undelivered} of {len(payloads)} {ROSTER.name} events not delivered ({detail}); "
            "Redis holds the new roster and the events stay in its outbox for the next load to publish"
        )


def file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
