"""A test double of agents.stores.cache.ReferenceCache: the sample roster and ledger behind a
gate that stays refused, as after a FLUSHALL, until `reload()`."""

from __future__ import annotations

import asyncio

from config import SAMPLE_DIR
from streams.core.directory import MemoryLedger, MemoryRoster
from topics.reference import read_ledger, read_roster

CAUSE = "roster: generation marker qg:roster:meta is missing (Redis flushed?)"


class GatedReference(MemoryRoster):
    """The sample roster and ledger behind a gate: refused until `reload()`."""

    def __init__(self) -> None:
        super().__init__(read_roster(SAMPLE_DIR / "roster.csv"))
        self.ledger = MemoryLedger(read_ledger(SAMPLE_DIR / "ledger.csv"))
        self.loaded = asyncio.Event()
        self.waiting = asyncio.Event()

    def group(self, group_id: str):
        return self.ledger.group(group_id)

    def groups(self):
        return self.ledger.groups()

    async def refresh(self) -> None: ...

    async def refresh_employee(self, employee_id: str) -> None: ...

    async def refresh_if_stale(self) -> None: ...

    async def usable(self) -> None:
        if not self.loaded.is_set():
            self.waiting.set()
            await self.loaded.wait()

    def refusals(self) -> dict[str, str]:
        return {} if self.loaded.is_set() else {"roster": CAUSE}

    def reload(self) -> None:
        self.loaded.set()
