"""The worker-local cache of reference data: serves `RosterView` / `LedgerView` to the detectors
(and the notifier's recipients) from memory, refreshed from Redis (agents.stores.reference has the
formats and the writer). It judges every load it reads by its meta (`refusal`): a refused dataset
keeps the last good data in memory but is not used, `refusals()` says why, and `usable()` waits
until a load fixes it, so its users hold the records that need the data instead of judging them
against an empty roster or ledger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio
from prometheus_client import Gauge

from agents.connect.redis import async_redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys
from agents.stores.reference import (
    DatasetMeta,
    decode_all,
    decode_employee,
    decode_group,
    refusal,
    snapshot,
    unpack,
)
from streams.core.directory import MemoryLedger, MemoryRoster
from topics.reference import Employee, Group

log = logging.getLogger(__name__)
DECODE_SLICE = 2_000  # records a cache reload decodes between two turns of the event loop
HOLD_FIRST_DELAY = 0.5  # s before a refused dataset is asked for again; doubles up to the check interval
UNAVAILABLE = Gauge(
    "qunguard_reference_unavailable",
    "1 while this process refuses a reference dataset and holds the records that need it",
    ["dataset"],
)


# Worker-local cache (asynchronous refresh, synchronous lookups)

Stored = tuple[DatasetMeta, int]  # a dataset's meta in Redis and how many records its data key holds


@dataclass(eq=False)
class _Dataset:
    """One reference dataset as a cache holds it."""

    name: str  # roster | ledger
    meta_key: str
    data_key: str
    decode: Callable[[bytes, str], Any]
    build: Callable[[list[Any]], Any]  # records → the in-memory view (MemoryRoster, MemoryLedger)
    view: Any = None
    in_use: DatasetMeta = field(default_factory=DatasetMeta)  # the load `view` holds (generation 0: none)
    checked: Stored | None = None  # what Redis held at the last look
    refused: str = ""  # why what Redis holds is not used ('' when it is)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one read-judge-apply at a time

    def __post_init__(self) -> None:
        self.view = self.build([])


class ReferenceCache:
    """The roster and ledger held in worker memory, refreshed from Redis.

    Lookups (`employee`, `by_account`, `group`, `groups`) are synchronous and never touch Redis, so
    pure detectors can use this as their `RosterView` and `LedgerView`. Refreshes are async and let
    Redis errors propagate: the caller retries with backoff.

    A dataset Redis holds is judged (`refusal`) before it is used. A refused one leaves the
    previous data in memory, is logged at error level once per cause, shows in `refusals()` and
    the `qunguard_reference_unavailable` gauge, and makes `usable()` wait until a load fixes it.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        keys: RedisKeys | None = None,
        stale_check_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.keys = keys or RedisKeys()
        self.stale_check_interval = stale_check_interval
        self._clock = clock
        keys = self.keys
        self._roster = _Dataset("roster", keys.roster_meta, keys.employees, decode_employee, MemoryRoster)
        self._ledger = _Dataset("ledger", keys.ledger_meta, keys.groups, decode_group, MemoryLedger)
        self._checked_at: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferenceCache:
        return cls(
            async_redis_client(settings),
            RedisKeys(settings.redis_prefix),
            stale_check_interval=settings.reference_check_interval,
        )

    @property
    def roster_meta(self) -> DatasetMeta:
        """The load of the roster in use."""
        return self._roster.in_use

    @property
    def ledger_meta(self) -> DatasetMeta:
        return self._ledger.in_use

    # RosterView
    def employee(self, employee_id: str) -> Employee | None:
        return self._roster.view.employee(employee_id)

    def by_account(self, account_id: str) -> Employee | None:
        return self._roster.view.by_account(account_id)

    def employees(self) -> Iterator[Employee]:
        return self._roster.view.employees()

    # LedgerView
    def group(self, group_id: str) -> Group | None:
        return self._ledger.view.group(group_id)

    def groups(self) -> Iterator[Group]:
        return self._ledger.view.groups()

    def refusals(self) -> dict[str, str]:
        """Dataset → why this process does not judge by it now; empty when both may be used."""
        return {d.name: d.refused for d in (self._roster, self._ledger) if d.refused}

    async def refresh(self) -> None:
        """Load both datasets in full."""
        await self._reload(self._roster)
        await self._reload(self._ledger)
        self._checked_at = self._clock()

    async def refresh_employee(self, employee_id: str) -> None:
        """Refetch one employee (after an hr.roster event), re-indexing their accounts; the whole
        roster, judged, when it is no longer the load in use."""
        roster = self._roster
        async with roster.lock:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hgetall(roster.meta_key)
                pipe.hlen(roster.data_key)
                pipe.hget(roster.data_key, employee_id)
                meta, held, raw = await pipe.execute()
            if not roster.refused and (DatasetMeta.from_hash(meta), held) == roster.checked:
                if raw is None:
                    roster.view.drop(employee_id)
                else:
                    roster.view.put(decode_employee(raw, f"{roster.data_key}[{employee_id}]"))
                return
        await self._reload(roster)

    async def ping(self) -> bool:
        """Whether Redis answers (the worker's /readyz)."""
        return await self.client.ping()

    async def refresh_if_stale(self, force: bool = False) -> list[str]:
        """Reload a dataset whose meta or record count changed; ask Redis at most every
        `stale_check_interval` seconds unless `force`. Returns the names of the datasets reloaded."""
        now = self._clock()
        if not force and self._checked_at is not None and now - self._checked_at < self.stale_check_interval:
            return []
        datasets = (self._roster, self._ledger)
        async with self.client.pipeline(transaction=True) as pipe:
            for dataset in datasets:
                pipe.hgetall(dataset.meta_key)
                pipe.hlen(dataset.data_key)
            found = await pipe.execute()
        reloaded = []
        for n, dataset in enumerate(datasets):
            stored = (DatasetMeta.from_hash(found[2 * n]), found[2 * n + 1])
            if stored != dataset.checked and await self._reload(dataset, stored):
                reloaded.append(dataset.name)
        self._checked_at = now
        return reloaded

    async def usable(self) -> None:
        """Return once both datasets may be judged by: at once (after a due stale check) when they
        may, else after asking Redis again with backoff until a load fixes them."""
        await self.refresh_if_stale()
        delay = HOLD_FIRST_DELAY
        while self.refusals():
            await asyncio.sleep(delay)
            delay = min(2 * delay, max(self.stale_check_interval, HOLD_FIRST_DELAY))
            await self.refresh_if_stale(force=True)

    async def close(self) -> None:
        await self.client.aclose()

    async def _reload(self, dataset: _Dataset, stored: Stored | None = None) -> bool:
        """Read `dataset` in one transaction and use it unless refused; True when new data is in
        use. `stored`: what a check just found, so a refusal needs no read of the data."""
        async with dataset.lock:
            if stored is not None and self._judge(dataset, *stored):
                return False
            async with self.client.pipeline(transaction=True) as pipe:
                meta, raw = unpack(await snapshot(pipe, dataset.meta_key, dataset.data_key))
            if self._judge(dataset, meta, len(raw)):
                return False
            dataset.view = dataset.build(await _decode_in_slices(raw, dataset.decode, dataset.data_key))
            dataset.in_use = meta
            return True

    def _judge(self, dataset: _Dataset, meta: DatasetMeta, held: int) -> bool:
        """Record what Redis holds and whether it is refused (logging a change); True if refused."""
        cause = refusal(dataset.name, dataset.meta_key, meta, held, dataset.in_use)
        dataset.checked = (meta, held)
        if cause and cause != dataset.refused:
            log.error("reference data refused, records that need it are held: %s", cause)
        elif dataset.refused and not cause:
            log.warning(
                "%s: generation %d loaded at %s is usable; held records resume",
                dataset.name, meta.generation, meta.loaded_at,
            )  # fmt: skip
        dataset.refused = cause
        UNAVAILABLE.labels(dataset.name).set(1 if cause else 0)
        return bool(cause)


async def _decode_in_slices(
    raw: Mapping[bytes, bytes], decode: Callable[[bytes, str], Any], key: str
) -> list[Any]:
    """`decode_all` with a turn of the event loop every DECODE_SLICE records: a full reload of a
    100,000-employee roster held the worker's loop for ~0.5 s in one go."""
    items, records = list(raw.items()), []
    for start in range(0, len(items), DECODE_SLICE):
        records += decode_all(dict(items[start : start + DECODE_SLICE]), decode, key)
        await asyncio.sleep(0)
    return records
