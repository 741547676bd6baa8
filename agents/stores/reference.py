"""Reference data in Redis: the atomic writer the loaders use, and the worker-local cache that serves
`RosterView` / `LedgerView` to the detectors. Keys: agents.stores.keys; layout and rationale: docs/redis.md.

A load stages the new data under temporary keys, then swaps it in with RENAME inside one
MULTI/EXEC that also bumps the dataset's meta generation, so a reader that reads data and meta in
one transaction never sees half a load or a generation that does not match the data.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis
import redis.asyncio

from agents.connect.redis import async_redis_client, redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys
from streams.core.directory import MemoryLedger, MemoryRoster
from topics.reference import Employee, FieldError, Group

STAGING_TTL_SECONDS = 600  # a crashed load leaves no garbage behind for long
_BATCH = 1000


class ConcurrentLoadError(RuntimeError):
    """Another load replaced the dataset between our snapshot and our swap."""


class StoredRecordError(ValueError):
    """A record in Redis that is not a valid employee or group (written by something else)."""


@dataclass(frozen=True, slots=True)
class DatasetMeta:
    """What a load recorded about itself; `generation` grows by one with every load (0: never loaded)."""

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


def encode_record(record: Employee | Group) -> bytes:
    return orjson.dumps(record.to_dict())


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

    def pending_roster_events(self) -> list[bytes]:
        """Roster events committed with a load but not yet confirmed delivered to Kafka, oldest first."""
        return self.client.lrange(self.keys.roster_outbox, 0, -1)

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


class ReferenceCache:
    """The roster and ledger held in worker memory, refreshed from Redis.

    Lookups (`employee`, `by_account`, `group`, `groups`) are synchronous and never touch Redis, so
    pure detectors can use this as their `RosterView` and `LedgerView`. Refreshes are async and let
    Redis errors propagate: the caller retries with backoff.
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
        self._roster = MemoryRoster()
        self._ledger = MemoryLedger()
        self.roster_meta = DatasetMeta()
        self.ledger_meta = DatasetMeta()
        self._checked_at: float | None = None
        self._roster_lock = asyncio.Lock()  # a full reload must not overwrite a newer single refetch

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferenceCache:
        return cls(async_redis_client(settings), RedisKeys(settings.redis_prefix))

    # RosterView
    def employee(self, employee_id: str) -> Employee | None:
        return self._roster.employee(employee_id)

    def by_account(self, account_id: str) -> Employee | None:
        return self._roster.by_account(account_id)

    def employees(self) -> Iterator[Employee]:
        return self._roster.employees()

    # LedgerView
    def group(self, group_id: str) -> Group | None:
        return self._ledger.group(group_id)

    def groups(self) -> Iterator[Group]:
        return self._ledger.groups()

    async def refresh(self) -> None:
        """Load both datasets in full."""
        await self._reload_roster()
        await self._reload_ledger()
        self._checked_at = self._clock()

    async def refresh_employee(self, employee_id: str) -> None:
        """Refetch one employee (after an hr.roster event), re-indexing their accounts."""
        async with self._roster_lock:
            raw = await self.client.hget(self.keys.employees, employee_id)
            if raw is None:
                self._roster.drop(employee_id)
            else:
                self._roster.put(decode_employee(raw, f"{self.keys.employees}[{employee_id}]"))

    async def ping(self) -> bool:
        """Whether Redis answers (the worker's /readyz)."""
        return await self.client.ping()

    async def refresh_if_stale(self) -> list[str]:
        """Reload a dataset whose meta generation changed; ask Redis at most every
        `stale_check_interval` seconds. Returns the names of the datasets reloaded."""
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < self.stale_check_interval:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hmget(self.keys.roster_meta, "generation", "digest")
            pipe.hmget(self.keys.ledger_meta, "generation", "digest")
            roster_now, ledger_now = await pipe.execute()
        reloaded = []
        if _stamp(roster_now) != (self.roster_meta.generation, self.roster_meta.digest):
            await self._reload_roster()
            reloaded.append("roster")
        if _stamp(ledger_now) != (self.ledger_meta.generation, self.ledger_meta.digest):
            await self._reload_ledger()
            reloaded.append("ledger")
        self._checked_at = now
        return reloaded

    async def close(self) -> None:
        await self.client.aclose()

    async def _reload_roster(self) -> None:
        async with self._roster_lock:
            async with self.client.pipeline(transaction=True) as pipe:
                meta, raw = _unpack(await _snapshot(pipe, self.keys.roster_meta, self.keys.employees))
            self._roster = MemoryRoster(_decode_all(raw, decode_employee, self.keys.employees))
            self.roster_meta = meta

    async def _reload_ledger(self) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            meta, raw = _unpack(await _snapshot(pipe, self.keys.ledger_meta, self.keys.groups))
        self._ledger = MemoryLedger(_decode_all(raw, decode_group, self.keys.groups))
        self.ledger_meta = meta


def _decode_all(raw: Mapping[bytes, bytes], decode: Callable[[bytes, str], Any], key: str) -> list[Any]:
    return [decode(value, f"{key}[{field.decode()}]") for field, value in raw.items()]


def _stamp(values: Sequence[bytes | None]) -> tuple[int, str]:
    generation, digest = values
    return int(generation or 0), (digest or b"").decode()
