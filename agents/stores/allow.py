"""Reviewers' allow entries in Redis (streams.core.allow, issue 15): what a false-positive verdict
allows in one group or company-wide, with who, when and why. Layout (docs/redis.md, keys in
agents.stores.keys):

- `<prefix>:allow:entries` HASH: entry id → the entry as JSON (`AllowEntry.to_dict`); no expiry
  (`qunguard allow remove` takes one out);
- `<prefix>:allow:version` STRING: a counter bumped with every change, in the same MULTI/EXEC.

`RedisAllowEntries` is the store (streams.feedback.stores.AllowEntryStore; synchronous, for the
CLI and, through a thread, the worker). `AllowCache` is what the worker's content detector reads
(`AllowEntries`): the entries in memory, reloaded when the version changed, so a lookup never
touches Redis and an entry any worker adds is seen by every worker within one refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import orjson
import redis

from agents.connect.redis import redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys
from streams.core.allow import AllowEntry

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0  # how often a worker asks whether the entries changed


class RedisAllowEntries:
    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisAllowEntries:
        return cls(redis_client(settings), RedisKeys(settings.redis_prefix))

    def add(self, entry: AllowEntry) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.allow_entries, entry.entry_id, orjson.dumps(entry.to_dict()))
            pipe.incr(self.keys.allow_version)
            pipe.execute()

    def remove(self, entry_id: str) -> bool:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.allow_entries, entry_id)
            pipe.incr(self.keys.allow_version)
            removed, _ = pipe.execute()
        return bool(removed)

    def entries(self) -> Iterator[AllowEntry]:
        """Every entry, oldest verdict first."""
        raw = self.client.hgetall(self.keys.allow_entries)
        found = [AllowEntry.from_mapping(orjson.loads(value)) for value in raw.values()]
        return iter(sorted(found, key=lambda e: (e.ts, e.entry_id)))

    def for_group(self, group_id: str) -> Sequence[AllowEntry]:
        return [e for e in self.entries() if e.group_id in (group_id, None)]

    def version(self) -> int:
        return int(self.client.get(self.keys.allow_version) or 0)


class AllowCache:
    """The allow entries held in worker memory (`AllowEntries` for the content detector)."""

    def __init__(self, store: RedisAllowEntries) -> None:
        self.store = store
        self._version: int | None = None
        # swapped as one reference: a refresh runs in a thread while the detector reads
        self._view: tuple[dict[str, tuple[AllowEntry, ...]], tuple[AllowEntry, ...]] = ({}, ())

    def for_group(self, group_id: str) -> Sequence[AllowEntry]:
        by_group, company = self._view
        return (*by_group.get(group_id, ()), *company)

    def add(self, entry: AllowEntry) -> None:
        """Use `entry` at once (this worker stored it; the next refresh reads it back)."""
        self._use([*self._entries(), entry])

    def refresh(self) -> bool:
        """Reload the entries when the store changed since the last refresh; True if it did.
        Blocking: the worker runs it in a thread."""
        version = self.store.version()  # first: a change after it is seen by the next refresh
        if version == self._version:
            return False
        entries = list(self.store.entries())
        self._use(entries)
        if self._version is not None:
            log.info("allow entries reloaded: %d (version %d)", len(entries), version)
        self._version = version
        return True

    def _entries(self) -> list[AllowEntry]:
        by_group, company = self._view
        return [*company, *(e for entries in by_group.values() for e in entries)]

    def _use(self, entries: list[AllowEntry]) -> None:
        by_group: dict[str, list[AllowEntry]] = {}
        company = []
        for entry in {e.entry_id: e for e in entries}.values():
            if entry.group_id is None:
                company.append(entry)
            else:
                by_group.setdefault(entry.group_id, []).append(entry)
        self._view = ({g: tuple(found) for g, found in by_group.items()}, tuple(company))
