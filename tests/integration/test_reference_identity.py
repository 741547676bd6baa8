"""The reference cache against a real redis-server: it refuses a flushed, an older or a partly lost
dataset (keeping what it had), says why once, and is usable again after the next load."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio
from prometheus_client import REGISTRY

from agents.stores.cache import ReferenceCache
from agents.stores.keys import RedisKeys
from agents.stores.reference import DatasetMeta, ReferenceStore
from config import SAMPLE_DIR
from topics.reference import read_ledger, read_roster

ROSTER = read_roster(SAMPLE_DIR / "roster.csv")
LEDGER = read_ledger(SAMPLE_DIR / "ledger.csv")


def load(store: ReferenceStore, now: datetime | None = None) -> None:
    """What `qunguard roster load` and `ledger load` write (agents.intake.loaders), without Kafka."""
    now = now or datetime.now(UTC)
    roster, _ = store.roster()
    store.replace_roster(ROSTER, roster.next_load("r", "roster.csv", len(ROSTER), now), roster.generation)
    ledger, _ = store.ledger()
    store.replace_ledger(LEDGER, ledger.next_load("l", "ledger.csv", len(LEDGER), now), ledger.generation)


@pytest.fixture
def store(redis_url: str) -> ReferenceStore:
    store = ReferenceStore(redis.Redis.from_url(redis_url), RedisKeys())
    load(store)
    return store


def cache_of(redis_url: str) -> ReferenceCache:
    return ReferenceCache(redis.asyncio.Redis.from_url(redis_url), RedisKeys(), stale_check_interval=0.2)


def unavailable(dataset: str) -> float | None:
    return REGISTRY.get_sample_value("qunguard_reference_unavailable", {"dataset": dataset})


def test_a_flush_is_refused_until_the_next_load(store: ReferenceStore, redis_url: str, caplog) -> None:
    cache = cache_of(redis_url)

    async def scenario() -> None:
        await cache.refresh()
        assert cache.refusals() == {} and unavailable("roster") == 0
        store.client.flushdb()
        with caplog.at_level(logging.ERROR, "agents.stores.cache"):
            await cache.refresh_if_stale(force=True)
            await cache.refresh_if_stale(force=True)
            await cache.refresh_employee("E0006")  # an hr.roster event after the flush
        refused = cache.refusals()
        assert set(refused) == {"roster", "ledger"} and "qg:roster:meta is missing" in refused["roster"]
        assert unavailable("roster") == 1 and unavailable("ledger") == 1
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 2 and "qunguard ledger load" in errors[1], errors  # once per cause
        assert cache.by_account("wx_wanglei").employee_id == "E0006"  # the last good data stays

        waiting = asyncio.create_task(cache.usable())
        await asyncio.sleep(0)
        assert not waiting.done()
        load(store)
        await waiting
        assert cache.refusals() == {} and unavailable("roster") == 0
        assert cache.roster_meta.generation == 1 and cache.group("g-sales") is not None
        await cache.close()

    asyncio.run(scenario())


def test_an_older_copy_is_refused_and_a_load_after_it_is_not(store: ReferenceStore, redis_url: str) -> None:
    cache = cache_of(redis_url)
    load(store)  # generation 2 in use

    async def scenario() -> None:
        await cache.refresh()
        in_use = cache.roster_meta
        assert in_use.generation == 2
        store.client.flushdb()  # restored from a backup taken an hour before generation 1
        load(store, now=datetime.now(UTC) - timedelta(hours=1))
        load(store, now=datetime.now(UTC) - timedelta(hours=1))
        await cache.refresh_if_stale(force=True)
        assert "older than generation 2" in cache.refusals()["roster"]
        assert cache.roster_meta == in_use
        load(store)  # generation 3 of the restored copy, loaded now
        await cache.usable()
        assert cache.roster_meta.generation == 3 and cache.refusals() == {}
        await cache.close()

    asyncio.run(scenario())


def test_records_lost_after_a_load_are_refused(store: ReferenceStore, redis_url: str) -> None:
    cache = cache_of(redis_url)

    async def scenario() -> None:
        await cache.refresh()
        store.client.hdel(store.keys.employees, "E0006")  # evicted, or deleted by hand
        await cache.refresh_if_stale(force=True)
        assert f"holds {len(ROSTER) - 1} records" in cache.refusals()["roster"]
        assert cache.employee("E0006") is not None
        load(store)
        await cache.usable()
        assert cache.refusals() == {}
        await cache.close()

    asyncio.run(scenario())


def test_a_first_start_on_an_empty_redis_is_refused(redis_url: str) -> None:
    cache = cache_of(redis_url)

    async def scenario() -> None:
        await cache.refresh()
        assert set(cache.refusals()) == {"roster", "ledger"}
        assert cache.roster_meta == DatasetMeta()
        await cache.close()

    asyncio.run(scenario())
