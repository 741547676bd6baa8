"""Reference data in Redis: the record and meta formats, and the atomic writer the loaders use (the
worker-local cache that serves the detectors is agents.stores.cache). Keys: agents.stores.keys;
layout and rationale: docs/redis.md.

A load stages the new data under temporary keys, then swaps it in with RENAME inside one
MULTI/EXEC that also bumps the dataset's meta generation, so a reader that reads data and meta in
one transaction never sees half a load or a generation that does not match the data.

The meta is the dataset's identity. A reader refuses a dataset whose meta is missing (Redis
flushed or restarted empty), older than the load it already used (restored from an older copy),
or that holds fewer or more records than its load wrote (keys lost): `refusal` says why, the
cache (agents.stores.cache) keeps what it had, and its users hold the records that need the data
until a load fixes it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import redis
import redis.asyncio

from agents.connect.redis import redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys
from topics.codec import encode
from topics.reference import Employee, FieldError, Group
from topics.timeutil import parse_ts

log = logging.getLogger(__name__)
STAGING_TTL_SECONDS = 600  # a crashed load leaves no garbage behind for long
_BATCH = 1000


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
            meta, raw = unpack(snapshot(pipe, self.keys.roster_meta, self.keys.employees))
        employees = decode_all(raw, decode_employee, self.keys.employees)
        return meta, {e.employee_id: e for e in employees}

    def ledger(self) -> tuple[DatasetMeta, dict[str, Group]]:
        with self.client.pipeline(transaction=True) as pipe:
            meta, raw = unpack(snapshot(pipe, self.keys.ledger_meta, self.keys.groups))
        return meta, {g.group_id: g for g in decode_all(raw, decode_group, self.keys.groups)}

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


def snapshot(pipe: Any, meta_key: str, data_key: str) -> Any:
    """Meta and data in one MULTI/EXEC: both from the same load (works for sync and async pipelines)."""
    pipe.hgetall(meta_key)
    pipe.hgetall(data_key)
    return pipe.execute()


def unpack(result: Sequence[Any]) -> tuple[DatasetMeta, Mapping[bytes, bytes]]:
    return DatasetMeta.from_hash(result[0]), result[1]


def decode_all(raw: Mapping[bytes, bytes], decode: Callable[[bytes, str], Any], key: str) -> list[Any]:
    return [decode(value, f"{key}[{name.decode()}]") for name, value in raw.items()]
