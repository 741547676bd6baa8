"""The violations a verdict may name, in Redis: the worker keeps every violation it emits for
`[review] violation_days`, so whichever worker consumes a verdict finds the violation by its id
(streams.feedback.stores.ViolationLog), and `qunguard review list` lists the recent ones. Layout
(docs/redis.md, keys in agents.stores.keys):

- `<prefix>:violation:<violation_id>` STRING: the violation record as emitted (its evidence masked),
  expiring `violation_days` after it was kept;
- `<prefix>:violations:recent` ZSET: violation ids scored by when they were kept (Unix seconds);
  ids older than `violation_days` are trimmed on every write.

`ViolationStore` is synchronous (the CLI's client; the worker's feedback agent reads it through a
thread, agents.worker.feedback). `ViolationWriter` is the worker's writer on its event loop
(redis.asyncio): keeping each violation through a thread pool cost ~1.3 ms of CPU per violation in
the bench, a fifth of the worker's CPU (docs/bench.md). Both queue the same commands (`_Violations._queue_keep`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import redis
import redis.asyncio

from agents.connect.redis import async_redis_client, redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys
from topics.codec import DecodeError, decode_violation, encode
from topics.violation import Violation

PAGE = 500
C = TypeVar("C", redis.Redis, redis.asyncio.Redis)


class _Violations(Generic[C]):
    """What the reader and the writer share: a client, the key layout, how long a violation stays."""

    def __init__(
        self, client: C, keys: RedisKeys, keep_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.keys = keys
        self.keep_seconds = max(1, int(keep_seconds))
        self.clock = clock

    def _queue_keep(
        self, pipe: redis.client.Pipeline | redis.asyncio.client.Pipeline, violation: Violation
    ) -> None:
        """The commands that keep one violation (the module docstring's layout), queued on `pipe`."""
        now = self.clock()
        pipe.set(self.keys.violation(violation.violation_id), encode(violation), ex=self.keep_seconds)
        pipe.zadd(self.keys.violations_recent, {violation.violation_id: now})
        pipe.zremrangebyscore(self.keys.violations_recent, "-inf", now - self.keep_seconds)


class ViolationStore(_Violations[redis.Redis]):
    @classmethod
    def from_settings(cls, settings: Settings, keep_seconds: float) -> ViolationStore:
        return cls(redis_client(settings), RedisKeys(settings.redis_prefix), keep_seconds)

    def keep(self, violation: Violation) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            self._queue_keep(pipe, violation)
            pipe.execute()

    def violation(self, violation_id: str) -> Violation | None:
        return _decoded(self.client.get(self.keys.violation(violation_id)))

    def recent(self, keep: Callable[[Violation], bool] = lambda v: True, limit: int = 50) -> list[Violation]:
        """The newest kept violations for which `keep` holds, newest first, at most `limit`."""
        found: list[Violation] = []
        for violation in self._newest_first():
            if keep(violation):
                found.append(violation)
                if len(found) >= limit:
                    break
        return found

    def _newest_first(self) -> Iterator[Violation]:
        start = 0
        while True:
            ids = self.client.zrevrange(self.keys.violations_recent, start, start + PAGE - 1)
            if not ids:
                return
            raws = self.client.mget([self.keys.violation(i.decode()) for i in ids])
            for raw in raws:
                violation = _decoded(raw)
                if violation is not None:  # expired since the index was trimmed
                    yield violation
            start += PAGE


class ViolationWriter(_Violations[redis.asyncio.Redis]):
    """The worker's `keep` (agents.worker.outputs.ViolationKeeper), on its event loop; errors
    propagate so the caller retries (agents.runtime.retry)."""

    @classmethod
    def from_settings(cls, settings: Settings, keep_seconds: float) -> ViolationWriter:
        return cls(async_redis_client(settings), RedisKeys(settings.redis_prefix), keep_seconds)

    async def keep(self, violation: Violation) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            self._queue_keep(pipe, violation)
            await pipe.execute()


def _decoded(raw: bytes | None) -> Violation | None:
    if raw is None:
        return None
    try:
        return decode_violation(raw)
    except DecodeError:  # not written by the worker
        return None
