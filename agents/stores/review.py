"""The notifier's review-link state in Redis (docs/notify.md, "Review links"; docs/redis.md):

* `<prefix>:review:violation:<violation id>`: the violation record a message with review links
  was about, as consumed (its evidence masked by the worker), kept until the links expire, so
  any notifier process can show the review page;
* `<prefix>:review:used:<link id>`: set once (SET NX) when a link records its verdict, with the
  verdict and when; kept until the link expires, after which the link is refused anyway.
"""

from __future__ import annotations

import orjson
import redis.asyncio

from agents.connect.redis import async_redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys

# Kept a little past a link's expiry, so notifier clocks a little apart never see a live link unused.
USED_MARGIN_SECONDS = 3600


class ReviewStore:
    def __init__(self, client: redis.asyncio.Redis, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewStore:
        return cls(async_redis_client(settings), RedisKeys(settings.redis_prefix))

    async def keep(self, violation_id: str, record: bytes, expires: int) -> None:
        """Keep `record` until `expires` (Unix seconds; every link of a violation expires together)."""
        await self.client.set(self.keys.review_violation(violation_id), record, exat=expires)

    async def violation(self, violation_id: str) -> bytes | None:
        return await self.client.get(self.keys.review_violation(violation_id))

    async def claim(self, link_id: str, verdict: str, at: str, expires: int) -> dict[str, str] | None:
        """Mark the link used with `verdict`; None if this call did, else what its first use recorded."""
        key = self.keys.review_used(link_id)
        value = orjson.dumps({"verdict": verdict, "at": at})
        if await self.client.set(key, value, nx=True, exat=expires + USED_MARGIN_SECONDS):
            return None
        return await self.used(link_id) or {"verdict": verdict, "at": at}

    async def used(self, link_id: str) -> dict[str, str] | None:
        value = await self.client.get(self.keys.review_used(link_id))
        return orjson.loads(value) if value else None

    async def release(self, link_id: str) -> None:
        """Undo a claim whose verdict could not be recorded, so the link works again."""
        await self.client.delete(self.keys.review_used(link_id))
