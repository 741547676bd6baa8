"""agents.worker.policy_guard against a real redis-server: join refuses a live rival version,
heartbeats flag a rival that appears later and drop stopped workers' entries, leave removes ours."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio

from agents.worker.policy_guard import (
    LIVE_SECONDS,
    POLICY_MISMATCH,
    PolicyConflictError,
    PolicyGuard,
    Running,
)

KEY = "qg:policy:qg-test"


def guard(version: str, instance: str) -> PolicyGuard:
    return PolicyGuard(KEY, "qg-test", version, instance)


def server_now(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def test_join_refuses_a_live_worker_of_another_version(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    guard("v1", "a:1").join(client)
    guard("v1", "b:2").join(client)  # the same version joins
    with pytest.raises(PolicyConflictError, match="v2 refused: consumer group 'qg-test' already runs v1 on"):
        guard("v2", "c:3").join(client)
    assert sorted(client.hkeys(KEY)) == [b"a:1", b"b:2"]  # the refused worker wrote nothing
    assert 0 < client.ttl(KEY) <= 3600


def test_a_stopped_workers_entry_does_not_count(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    stale = Running("a:1", "v1", server_now(client) - LIVE_SECONDS - 5)
    client.hset(KEY, stale.instance, stale.encode())
    guard("v2", "c:3").join(client)
    assert sorted(client.hkeys(KEY)) == [b"a:1", b"c:3"]


def test_heartbeats_flag_a_rival_drop_the_dead_and_leave_removes_the_entry(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url)
    mine = guard("v1", "a:1")
    mine.join(sync)

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            assert await mine.beat(client) == []
            assert POLICY_MISMATCH._value.get() == 0
            now = server_now(sync)
            rival = Running("b:2", "v2", now)
            dead = Running("d:4", "v3", now - LIVE_SECONDS - 5)
            sync.hset(KEY, mapping={rival.instance: rival.encode(), dead.instance: dead.encode()})
            assert [r.instance for r in await mine.beat(client)] == ["b:2"]
            assert POLICY_MISMATCH._value.get() == 1
            assert sorted(sync.hkeys(KEY)) == [b"a:1", b"b:2"]  # the dead entry is gone
            sync.hdel(KEY, "b:2")
            assert await mine.beat(client) == []
            assert POLICY_MISMATCH._value.get() == 0
            await mine.leave(client)
            assert sync.hkeys(KEY) == []
        finally:
            await client.aclose()

    asyncio.run(scenario())
