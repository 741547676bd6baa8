"""The discipline read model in Redis: each employee's ladder state as the worker last wrote it.

The live ladder state lives in the worker's changelog-backed Faust table (streams.ladder.steps); the
`moderate.employee` agent copies an employee's value here after every violation it counts (or
gives back again), so `qunguard discipline show/list` can read it without the worker. Layout
(docs/redis.md):

- `<prefix>:discipline:employee:<employee_id>` STRING: JSON `{"employee_id", "updated_at",
  "state"}`, `state` being the ladder value (`{"newest", "entries": [...]}`, streams.ladder.steps);
- `<prefix>:discipline:employees` SET: the employee ids that have such a key.

Both are written in one MULTI/EXEC; an employee whose entries all expired is removed from both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import redis
import redis.asyncio

from agents.stores.reference import CLIENT_TIMEOUTS


@dataclass(frozen=True, slots=True)
class DisciplineKeys:
    prefix: str = "qg"

    def employee(self, employee_id: str) -> str:
        return f"{self.prefix}:discipline:employee:{employee_id}"

    @property
    def index(self) -> str:
        return f"{self.prefix}:discipline:employees"


class DisciplineStore:
    """The worker's writer (redis.asyncio); errors propagate so the caller retries (agents.runtime.retry)."""

    def __init__(self, client: redis.asyncio.Redis, keys: DisciplineKeys | None = None) -> None:
        self.client = client
        self.keys = keys or DisciplineKeys()

    @classmethod
    def from_url(cls, url: str, prefix: str = "qg", **options: Any) -> DisciplineStore:
        return cls(redis.asyncio.Redis.from_url(url, **CLIENT_TIMEOUTS, **options), DisciplineKeys(prefix))

    async def write(self, employee_id: str, state: dict[str, Any] | None, updated_at: str) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            if state:
                doc = {"employee_id": employee_id, "updated_at": updated_at, "state": state}
                pipe.set(self.keys.employee(employee_id), orjson.dumps(doc))
                pipe.sadd(self.keys.index, employee_id)
            else:
                pipe.delete(self.keys.employee(employee_id))
                pipe.srem(self.keys.index, employee_id)
            await pipe.execute()


class DisciplineReader:
    """The CLI's reader (synchronous redis)."""

    def __init__(self, client: redis.Redis, keys: DisciplineKeys | None = None) -> None:
        self.client = client
        self.keys = keys or DisciplineKeys()

    @classmethod
    def from_url(cls, url: str, prefix: str = "qg", **options: Any) -> DisciplineReader:
        return cls(redis.Redis.from_url(url, **CLIENT_TIMEOUTS, **options), DisciplineKeys(prefix))

    def state(self, employee_id: str) -> dict[str, Any] | None:
        raw = self.client.get(self.keys.employee(employee_id))
        return orjson.loads(raw)["state"] if raw else None

    def states(self) -> dict[str, dict[str, Any]]:
        ids = sorted(member.decode() for member in self.client.smembers(self.keys.index))
        raws = self.client.mget([self.keys.employee(e) for e in ids]) if ids else []
        return {e: orjson.loads(raw)["state"] for e, raw in zip(ids, raws, strict=True) if raw}
