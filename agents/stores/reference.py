"""Reference data in Redis: the atomic writer the loaders use, and the worker-local cache that serves
`RosterView` / `LedgerView` to the detectors. Keys: agents.stores.keys; layout and rationale: docs/redis.md.

A load stages the new data under temporary keys, then swaps it in with RENAME inside one
MULTI/EXEC that also bumps the dataset's meta generation, so a reader that reads data and meta in
one transaction never sees half a load or a generation that does not match the data.

The meta is the dataset's identity. A reader refuses a dataset whose meta is missing (Redis
flushed or restarted empty), older than the load it already used (restored from an older copy),
or that holds fewer or more records than its load wrote (keys lost): `refusal` says why, the
cache keeps what it had, and its users hold the records that need the data until a load fixes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import redis
import redis.asyncio
from prometheus_client import Gauge

from agents.connect.redis import async_redis_client, redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys
from streams.core.directory import MemoryLedger, MemoryRoster
from topics.codec import encode
from topics.reference import Employee, FieldError, Group
from topics.timeutil import parse_ts

log = logging.getLogger(__name__)
STAGING_TTL_SECONDS = 600  # a crashed load leaves no garbage behind for long
_BATCH = 1000
DECODE_SLICE = 2_000  # records a cache reload decodes between two turns of the event loop
HOLD_FIRST_DELAY = 0.5  # s before a refused dataset is asked for again; doubles up to the check interval
UNAVAILABLE = Gauge(
    "qunguard_reference_unavailable",
    "1 while this process refuses a reference dataset and holds the records that need it",
    ["dataset"],
)


class ConcurrentLoadError(RuntimeError):
    """Another load replaced the dataset between our snapshot and our swap."""


class StoredRecordError(ValueError):
    """A record in Redis that is not a valid employee or group (written by something else)."""


@dataclass(frozen=True, slots=True)
class DatasetMeta:
    """What a load recorded about itself, and so the dataset's identity: `generation` grows by one
    with every load (0: never loaded), `loaded_at` with every load too (`next_load`), `records` is
    what the load wrote."""

    generation: int = 0
    digest: str = ""
    source: str = ""
    loaded_at: str = ""
    records: int = 0

    @classmethod
    def from_hash(cls, raw: Mapping[bytes, bytes]) -> DatasetMeta:
        text = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(
            generation=int(text.get("generation", 0)),
            digest=text.get("digest", ""),
            source=text.get("source", ""),
            loaded_at=text.get("loaded_at", ""),
            records=int(text.get("records", 0)),
        )

    def to_hash(self) -> dict[str, str | int]:
        return {
            "generation": self.generation,
            "digest": self.digest,
            "source": self.source,
            "loaded_at": self.loaded_at,
            "records": self.records,
        }

    def next_load(self, digest: str, source: str, records: int, now: datetime) -> DatasetMeta:
        """The meta of the load that replaces this one: the next generation, loaded at `now` or,
        when the loader's clock is behind the previous load's, just after it."""
        loaded = max(now.astimezone(UTC), self.loaded_time() + timedelta(milliseconds=1))
        return DatasetMeta(
            self.generation + 1, digest, source, loaded.isoformat(timespec="milliseconds"), records
        )

    def loaded_time(self) -> datetime:
        """`loaded_at` as a time (the earliest time when it is not one)."""
        try:
            return parse_ts(self.loaded_at)
        except ValueError:  # not written by our loader: older than any load that was
            return datetime.min.replace(tzinfo=UTC)

    def older_than(self, other: DatasetMeta) -> bool:
        """Loads are ordered by load time, then generation. Within one Redis history both grow
        (`next_load`); after a flush the generation starts again at 1 but the load time goes on,
        and a copy restored from a backup is older on both."""
        return (self.loaded_time(), self.generation) < (other.loaded_time(), other.generation)


def refusal(dataset: str, meta_key: str, stored: DatasetMeta, held: int, in_use: DatasetMeta) -> str:
    """Why a reader must not judge by the `dataset` Redis holds ('' when it may): `stored` is its
    meta, `held` the number of records its data key holds, `in_use` the load the reader judges by
    now (generation 0: none yet)."""
    reload = f"run `qunguard {dataset} load FILE.csv`"
    if stored.generation <= 0:
        return (
            f"{dataset}: generation marker {meta_key} is missing (Redis flushed, restarted without "
            f"its data, or never loaded?); {reload}"
        )
    if in_use.generation and stored.older_than(in_use):
        return (
            f"{dataset}: Redis holds generation {stored.generation} loaded at {stored.loaded_at or '?'}, "
            f"older than generation {in_use.generation} loaded at {in_use.loaded_at} already in use "
            f"(restored from an older copy?); {reload}"
        )
    if held != stored.records:
        return (
            f"{dataset}: Redis holds {held} records, generation {stored.generation} loaded "
            f"{stored.records} (keys lost or evicted?); {reload}"
        )
    return ""


def encode_record(record: Employee | Group) -> bytes:
    return encode(record.to_dict())  # right-sized bytes: a load holds every record at once


def decode_employee(raw: bytes, key: str = "") -> Employee:
    return _decode(Employee, raw, key)


def decode_group(raw: bytes, key: str = "") -> Group:
    return _decode(Group, raw, key)


def _decode(kind: Any, raw: bytes, key: str) -> Any:
    try:
        return kind.from_mapping(orjson.loads(raw))
    except (orjson.JSONDecodeError, FieldError, TypeError) as exc:
        raise StoredRecordError(f"{key}: stored {kind.__name__} is invalid: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Writer and snapshot reader (synchronous: used by the loaders and admin tools)


class ReferenceStore:
    """Synchronous access to the reference data in Redis: consistent snapshots and atomic replacement."""

    def __init__(self, client: redis.Redis, keys: RedisKeys | None = None) -> None:
        self.client = client
        self.keys = keys or RedisKeys()

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferenceStore:
        return cls(redis_client(settings), RedisKeys(settings.redis_prefix))

    def roster(self) -> tuple[DatasetMeta, dict[str, Employee]]:
        """The stored roster and the meta of the load that wrote it, read in one transaction."""
        with self.client.pipeline(transaction=True) as pipe:
            meta, raw = _unpack(_snapshot(pipe, self.keys.roster_meta, self.keys.employees))
        employees = _decode_all(raw, decode_employee, self.keys.employees)
        return meta, {e.employee_id: e for e in employees}

    def ledger(self) -> tuple[DatasetMeta, dict[str, Group]]:
        with self.client.pipeline(transaction=True) as pipe:
            meta, raw = _unpack(_snapshot(pipe, self.keys.ledger_meta, self.keys.groups))
        return meta, {g.group_id: g for g in _decode_all(raw, decode_group, self.keys.groups)}

    def employee_id_for_account(self, account_id: str) -> str | None:
        found = self.client.hget(self.keys.accounts, account_id)
        return found.decode() if found is not None else None

    def replace_roster(
        self,
        employees: Sequence[Employee],
        meta: DatasetMeta,
        expected_generation: int,
        outbox: Sequence[bytes] = (),
    ) -> None:
        """Swap in a whole roster, its account index and `meta`, and append `outbox` events, atomically."""
        data = {
            self.keys.employees: {e.employee_id: encode_record(e) for e in employees},
            self.keys.accounts: {a: e.employee_id for e in employees for a in e.accounts},
        }
        self._replace(data, self.keys.roster_meta, meta, expected_generation, outbox)

    def replace_ledger(self, groups: Sequence[Group], meta: DatasetMeta, expected_generation: int) -> None:
        data = {self.keys.groups: {g.group_id: encode_record(g) for g in groups}}
        self._replace(data, self.keys.ledger_meta, meta, expected_generation)

    def pending_roster_events(self, limit: int = 0) -> list[bytes]:
        """Roster events committed with a load but not yet confirmed delivered to Kafka, oldest
        first; the first `limit` of them (0: all)."""
        return self.client.lrange(self.keys.roster_outbox, 0, limit - 1)

    def ack_roster_events(self, count: int) -> None:
        """Drop the `count` oldest outbox events (delivered); later appends stay."""
        if count > 0:
            self.client.ltrim(self.keys.roster_outbox, count, -1)

    def _replace(
        self,
        data: Mapping[str, Mapping[str, bytes | str]],
        meta_key: str,
        meta: DatasetMeta,
        expected_generation: int,
        outbox: Sequence[bytes] = (),
    ) -> None:
        token = uuid.uuid4().hex
        staged = {key: self.keys.staging(key, token) for key, rows in data.items() if rows}
        try:
            for key, staging in staged.items():
                _write_hash(self.client, staging, data[key])
            with self.client.pipeline(transaction=True) as pipe:
                # WATCH the meta (another load) and the staging keys (expiry counts as a change), so
                # EXEC either applies every command below or none.
                pipe.watch(meta_key, *staged.values())
                current = DatasetMeta.from_hash(pipe.hgetall(meta_key)).generation
                if current != expected_generation:
                    raise ConcurrentLoadError(
                        f"{meta_key}: generation is {current}, expected {expected_generation}"
                    )
                if staged and pipe.exists(*staged.values()) != len(staged):
                    raise ConcurrentLoadError(f"staging keys for {meta_key} expired before the swap")
                pipe.multi()
                for key in data:
                    if key in staged:
                        pipe.rename(staged[key], key)
                        pipe.persist(key)  # RENAME carries the staging TTL over
                    else:
                        pipe.delete(key)  # an empty hash does not exist in Redis
                pipe.delete(meta_key)
                pipe.hset(meta_key, mapping=meta.to_hash())
                if outbox:
                    pipe.rpush(self.keys.roster_outbox, *outbox)
                pipe.execute()
        except redis.WatchError:
            raise ConcurrentLoadError(f"{meta_key}: changed by another load during the swap") from None
        finally:
            if staged:
                self.client.delete(*staged.values())  # a no-op after a successful swap


def _write_hash(client: redis.Redis, key: str, rows: Mapping[str, bytes | str]) -> None:
    items = list(rows.items())
    with client.pipeline(transaction=False) as pipe:
        for start in range(0, len(items), _BATCH):
            pipe.hset(key, mapping=dict(items[start : start + _BATCH]))
        pipe.expire(key, STAGING_TTL_SECONDS)
        pipe.execute()


def _snapshot(pipe: Any, meta_key: str, data_key: str) -> Any:
    """Meta and data in one MULTI/EXEC: both from the same load (works for sync and async pipelines)."""
    pipe.hgetall(meta_key)
    pipe.hgetall(data_key)
    return pipe.execute()


def _unpack(result: Sequence[Any]) -> tuple[DatasetMeta, Mapping[bytes, bytes]]:
    return DatasetMeta.from_hash(result[0]), result[1]


# ---------------------------------------------------------------------------------------------
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
    in_use: DatasetMeta = DatasetMeta()  # the load `view` holds (generation 0: none)
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
        return cls(async_redis_client(settings), RedisKeys(settings.redis_prefix))

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
                meta, raw = _unpack(await _snapshot(pipe, dataset.meta_key, dataset.data_key))
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
    """`_decode_all` with a turn of the event loop every DECODE_SLICE records: a full reload of a
    100,000-employee roster held the worker's loop for ~0.5 s in one go."""
    items, records = list(raw.items()), []
    for start in range(0, len(items), DECODE_SLICE):
        records += _decode_all(dict(items[start : start + DECODE_SLICE]), decode, key)
        await asyncio.sleep(0)
    return records


def _decode_all(raw: Mapping[bytes, bytes], decode: Callable[[bytes, str], Any], key: str) -> list[Any]:
    return [decode(value, f"{key}[{name.decode()}]") for name, value in raw.items()]
