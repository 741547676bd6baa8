"""Retry a dependency call with capped exponential backoff until it succeeds.

The worker and the notifier never skip a record because Redis is down: they wait here, so the
record's offset is not committed until it was processed. Each retry counts in
`qunguard_retries_total{dependency}`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.exceptions
from prometheus_client import Counter

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRIES = Counter("qunguard_retries_total", "Retries of a dependency call", ["dependency"])
# Exported at 0 from the start, so the dashboard's retries panel has a series before the first
# outage and rate() counts that outage's first retry (tests/e2e/test_prometheus.py).
RETRIES.labels("redis")

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
