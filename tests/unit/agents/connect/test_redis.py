"""agents.connect.redis: every Redis client gets REDIS_URL, the client timeouts and the TLS/ACL options."""

from __future__ import annotations

import asyncio

import pytest

from agents.connect.redis import CLIENT_TIMEOUTS, async_redis_client, redis_client
from agents.connect.security import SecuritySettingsError
from agents.connect.settings import Settings


def test_sync_and_async_clients_carry_url_timeouts_and_credentials() -> None:
    settings = Settings(
        redis_url="redis://redis.internal:6380/3", redis_username="qunguard", redis_password="pw"
    )
    sync = redis_client(settings)
    aio = async_redis_client(settings)
    try:
        for client in (sync, aio):
            kwargs = client.connection_pool.connection_kwargs
            assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.internal", 6380, 3)
            assert (kwargs["username"], kwargs["password"]) == ("qunguard", "pw")
            assert {k: kwargs[k] for k in CLIENT_TIMEOUTS} == CLIENT_TIMEOUTS
    finally:
        sync.close()
        asyncio.run(aio.aclose())


def test_a_bad_setting_builds_no_client() -> None:
    with pytest.raises(SecuritySettingsError, match="REDIS_URL carries a password"):
        redis_client(Settings(redis_url="redis://:pw@redis/0", redis_password="pw"))
