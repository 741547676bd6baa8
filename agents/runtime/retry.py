"""Retry a dependency call with capped exponential backoff until it succeeds.

The worker never skips an event because Redis is down: it waits here, so the event's offset is
not committed until the event was processed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.exceptions

from agents.worker.metrics import RETRIES

T = TypeVar("T")
log = logging.getLogger(__name__)

TRANSIENT = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)


async def retry_forever(
    call: Callable[[], Awaitable[T]], dependency: str, base: float = 0.1, cap: float = 5.0
) -> T:
    delay = base
    while True:
        try:
            return await call()
        except TRANSIENT as exc:
            RETRIES.labels(dependency).inc()
            log.warning("%s unavailable (%s); retrying in %.1fs", dependency, exc, delay)
            await asyncio.sleep(delay)
            delay = min(cap, delay * 2)
