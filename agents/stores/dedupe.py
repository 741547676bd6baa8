"""The notifier's delivery marks in Redis: which message reached which sink.

One key per message id and sink (`<prefix>:notify:sent:<message id>:<sink>`, agents.stores.keys),
SET with a TTL after a successful delivery, so the marks survive restarts and rebalances, are
shared by every notifier process and expire by themselves (docs/notify.md, "Dedupe").
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio

from agents.connect.redis import async_redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys


class SentStore:
    """Which messages were delivered to which sink, in Redis with a TTL."""

    def __init__(self, client: redis.asyncio.Redis, keys: RedisKeys, ttl_seconds: int) -> None:
        self.client = client
        self.keys = keys
        self.ttl = max(1, ttl_seconds)

    @classmethod
    def from_settings(cls, settings: Settings, ttl_seconds: int) -> SentStore:
        return cls(async_redis_client(settings), RedisKeys(settings.redis_prefix), ttl_seconds)

    async def sent(self, message_id: str, sink: str) -> bool:
        return bool(await self.client.exists(self.keys.notify_sent(message_id, sink)))

    async def mark(self, message_ids: Iterable[str], sink: str) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for message_id in message_ids:
                pipe.set(self.keys.notify_sent(message_id, sink), b"1", ex=self.ttl)
            await pipe.execute()
