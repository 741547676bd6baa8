"""Reference data as detectors see it: small read interfaces, plus in-memory backends.

Live, `agents.stores.reference` serves these interfaces from a local cache of Redis; offline replay uses
the in-memory backends below, filled from the same CSV files. Both are real stores, not mocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from topics.events import RosterEvent
from topics.reference import Employee, Group


class RosterView(Protocol):
    def employee(self, employee_id: str) -> Employee | None: ...

    def by_account(self, account_id: str) -> Employee | None: ...

    def employees(self) -> Iterator[Employee]: ...


class LedgerView(Protocol):
    def group(self, group_id: str) -> Group | None: ...

    def groups(self) -> Iterator[Group]: ...


class MemoryRoster:
    """A roster held in two dicts: employee id → record and account id → employee id."""

    def __init__(self, employees: Iterable[Employee] = ()) -> None:
        self._employees: dict[str, Employee] = {}
        self._accounts: dict[str, str] = {}
        for employee in employees:
            self.put(employee)

    def __len__(self) -> int:
        return len(self._employees)

    def employee(self, employee_id: str) -> Employee | None:
        return self._employees.get(employee_id)

    def by_account(self, account_id: str) -> Employee | None:
        employee_id = self._accounts.get(account_id)
        return self._employees.get(employee_id) if employee_id else None

    def employees(self) -> Iterator[Employee]:
        return iter(self._employees.values())

    def put(self, employee: Employee) -> None:
        self.drop(employee.employee_id)
        self._employees[employee.employee_id] = employee
        for account in employee.accounts:
            self._accounts[account] = employee.employee_id

    def drop(self, employee_id: str) -> None:
        old = self._employees.pop(employee_id, None)
        if old is not None:
            for account in old.accounts:
                if self._accounts.get(account) == employee_id:
                    del self._accounts[account]

    def apply(self, event: RosterEvent) -> None:
        """Apply a roster change event (used where no loader wrote the change first, e.g. replay)."""
        if event.record is not None:
            self.put(Employee.from_mapping(event.record))
        elif event.change == "departed":
            current = self._employees.get(event.employee_id)
            if current is not None:
                self.put(_departed(current, event))
        elif event.change == "removed":
            self.drop(event.employee_id)


class MemoryLedger:
    def __init__(self, groups: Iterable[Group] = ()) -> None:
        self._groups = {group.group_id: group for group in groups}

    def __len__(self) -> int:
        return len(self._groups)

    def group(self, group_id: str) -> Group | None:
        return self._groups.get(group_id)

    def groups(self) -> Iterator[Group]:
        return iter(self._groups.values())

    def put(self, group: Group) -> None:
        self._groups[group.group_id] = group


def _departed(employee: Employee, event: RosterEvent) -> Employee:
    from dataclasses import replace

    return replace(employee, status="departed", left_at=employee.left_at or event.ts)
