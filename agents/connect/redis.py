"""The one place qunguard builds Redis clients: REDIS_URL, the client timeouts, and the TLS and
credential options of agents.connect.security, for redis-py's synchronous and asyncio clients alike."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio

from agents.connect.security import REDIS_LOGIN_HINT, redacted_url, redis_options
from agents.connect.settings import Settings

# A frozen or unreachable Redis must raise (and be retried), never block a worker forever.
CLIENT_TIMEOUTS = {"socket_timeout": 5.0, "socket_connect_timeout": 5.0}


def _options(settings: Settings) -> dict[str, Any]:
    return {**CLIENT_TIMEOUTS, **redis_options(settings)}


def redis_client(settings: Settings) -> redis.Redis:
    """A synchronous client (loaders, the CLI); raises SecuritySettingsError for a setting that cannot work."""
    return redis.Redis.from_url(settings.redis_url, **_options(settings))


def async_redis_client(settings: Settings) -> redis.asyncio.Redis:
    """An asyncio client (the worker's and the notifier's stores)."""
    return redis.asyncio.Redis.from_url(settings.redis_url, **_options(settings))


def check_redis_login(settings: Settings) -> None:
    """Stop at start when Redis refuses the credentials; a Redis that is down is waited for later
    (agents.runtime.retry), as everywhere else."""
    client = redis_client(settings)
    try:
        client.ping()
    except redis.exceptions.AuthenticationError as exc:
        where = redacted_url(settings.redis_url)
        raise SystemExit(f"Redis at {where} refused the login ({exc}); {REDIS_LOGIN_HINT}") from None
    except redis.exceptions.ConnectionError:
        pass
    finally:
        client.close()
