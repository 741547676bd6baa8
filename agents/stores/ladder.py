"""The ladder's read model in Redis: each employee's ladder state as the worker last wrote it.

The live ladder state lives in the worker's changelog-backed Faust table (streams.ladder.steps); the
`moderate.employee` agent copies an employee's value here after every violation it counts (or
gives back again), so `qunguard discipline show/list` can read it without the worker. Layout
(docs/redis.md, keys in agents.stores.keys):

- `<prefix>:discipline:employee:<employee_id>` STRING: JSON `{"employee_id", "updated_at",
  "state"}`, `state` being the ladder value (`{"newest", "entries": [...]}`, streams.ladder.steps);
- `<prefix>:discipline:employees` SET: the employee ids that have such a key.

Both are written in one MULTI/EXEC; an employee whose entries all expired is removed from both.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis
import redis.asyncio

from agents.connect.redis import async_redis_client, redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys


class LadderStore:
    """The worker's writer (redis.asyncio); errors propagate so the caller retries (agents.runtime.retry)."""

    def __init__(self, client: redis.asyncio.Redis, keys: RedisKeys | None = None) -> None:
        self.client = client
        self.keys = keys or RedisKeys()

    @classmethod
    def from_settings(cls, settings: Settings) -> LadderStore:
        return cls(async_redis_client(settings), RedisKeys(settings.redis_prefix))

    async def write(self, employee_id: str, state: dict[str, Any] | None, updated_at: str) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            if state:
                doc = {"employee_id": employee_id, "updated_at": updated_at, "state": state}
                pipe.set(self.keys.ladder_employee(employee_id), orjson.dumps(doc))
                pipe.sadd(self.keys.ladder_employees, employee_id)
            else:
                pipe.delete(self.keys.ladder_employee(employee_id))
                pipe.srem(self.keys.ladder_employees, employee_id)
            await pipe.execute()


class LadderReader:
    """The CLI's reader (synchronous redis)."""

    def __init__(self, client: redis.Redis, keys: RedisKeys | None = None) -> None:
        self.client = client
        self.keys = keys or RedisKeys()

    @classmethod
    def from_settings(cls, settings: Settings) -> LadderReader:
        return cls(redis_client(settings), RedisKeys(settings.redis_prefix))

    def state(self, employee_id: str) -> dict[str, Any] | None:
        raw = self.client.get(self.keys.ladder_employee(employee_id))
        return orjson.loads(raw)["state"] if raw else None

    def states(self) -> dict[str, dict[str, Any]]:
        ids = sorted(member.decode() for member in self.client.smembers(self.keys.ladder_employees))
        raws = self.client.mget([self.keys.ladder_employee(e) for e in ids]) if ids else []
        return {e: orjson.loads(raw)["state"] for e, raw in zip(ids, raws, strict=True) if raw}
