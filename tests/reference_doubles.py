"""Test doubles of agents.stores.cache.ReferenceCache (the worker's and notifier's
`ReferenceSource`): reference data held in memory.

- `StaticReference`: always usable; refreshing only records what was asked for.
- `GatedReference`: the sample roster and ledger behind a gate that stays refused, as after a
  FLUSHALL, until `reload()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from config import SAMPLE_DIR
from streams.core.directory import MemoryLedger, MemoryRoster
from topics.reference import Employee, Group, read_ledger, read_roster

CAUSE = "roster: generation marker qg:roster:meta is missing (Redis flushed?)"


class StaticReference(MemoryRoster):
    def __init__(self, employees: Iterable[Employee] = (), groups: Iterable[Group] = ()) -> None:
        super().__init__(employees)
        self.ledger = MemoryLedger(groups)
        self.refreshed: list[str] = []

    @classmethod
    def sample(cls) -> StaticReference:
        """The sample roster and ledger of config/sample."""
        return cls(read_roster(SAMPLE_DIR / "roster.csv"), read_ledger(SAMPLE_DIR / "ledger.csv"))

    def group(self, group_id: str):
        return self.ledger.group(group_id)

    def groups(self):
        return self.ledger.groups()

    async def refresh(self) -> None:
        self.refreshed.append("*")

    async def refresh_employee(self, employee_id: str) -> None:
        self.refreshed.append(employee_id)

    async def refresh_if_stale(self) -> None: ...

    async def usable(self) -> None: ...

    def refusals(self) -> dict[str, str]:
        return {}


class GatedReference(StaticReference):
    def __init__(self) -> None:
        sample = StaticReference.sample()
        super().__init__(sample.employees(), sample.ledger.groups())
        self.loaded = asyncio.Event()
        self.waiting = asyncio.Event()

    async def usable(self) -> None:
        if not self.loaded.is_set():
            self.waiting.set()
            await self.loaded.wait()

    def refusals(self) -> dict[str, str]:
        return {} if self.loaded.is_set() else {"roster": CAUSE}

    def reload(self) -> None:
        self.loaded.set()
