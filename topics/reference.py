"""Reference data (SPEC §3): the HR roster and the group ledger (管理台账), and their CSV readers.

A reader validates the whole file before returning anything; the first bad cell raises
`ReferenceFileError` naming the file, line and field.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from topics.timeutil import parse_ts

RANKS = ("staff", "team_lead", "manager", "executive")
STATUSES = ("active", "departed")
GROUP_KINDS = ("company", "department", "project", "interest")
ROSTER_HEADER = ("employee_id", "name", "department", "title", "rank", "status", "accounts", "left_at")
LEDGER_HEADER = (
    "group_id",
    "name",
    "kind",
    "department",
    "owner_id",
    "admins",
    "purpose",
    "created_at",
    "expires_at",
    "approved",
    "classified",
)


class ReferenceFileError(ValueError):
    def __init__(self, path: str, line: int, field: str, reason: str) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, reason
        super().__init__(f"{path}:{line}: field {field!r}: {reason}")


@dataclass(frozen=True, slots=True)
class Employee:
    employee_id: str
    name: str
    department: str
    rank: str
    status: str
    accounts: tuple[str, ...]
    title: str = ""
    left_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> Employee:
        """Build from a roster-event record or a stored JSON object; raise ValueError naming the field."""
        accounts = row.get("accounts")
        if isinstance(accounts, str):
            accounts = [a for a in accounts.split(";") if a.strip()]
        if not isinstance(accounts, list | tuple) or not all(isinstance(a, str) for a in accounts):
            raise FieldError("accounts", "expected a list of account ids")
        left_at = row.get("left_at") or None
        return cls(
            employee_id=_required(row, "employee_id"),
            name=_required(row, "name"),
            department=_required(row, "department"),
            title=str(row.get("title") or ""),
            rank=_choice(row, "rank", RANKS),
            status=_choice(row, "status", STATUSES),
            accounts=tuple(a.strip() for a in accounts),
            left_at=_ts_field("left_at", left_at) if left_at else None,
        )


@dataclass(frozen=True, slots=True)
class Group:
    group_id: str
    name: str
    kind: str
    department: str
    owner_id: str
    admins: tuple[str, ...]
    purpose: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    approved: bool = True
    classified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> Group:
        admins = row.get("admins") or ()
        if isinstance(admins, str):
            admins = [a for a in admins.split(";") if a.strip()]
        return cls(
            group_id=_required(row, "group_id"),
            name=_required(row, "name"),
            kind=_choice(row, "kind", GROUP_KINDS),
            department=str(row.get("department") or ""),
            owner_id=_required(row, "owner_id"),
            admins=tuple(a.strip() for a in admins),
            purpose=str(row.get("purpose") or ""),
            created_at=_ts_field("created_at", row["created_at"]) if row.get("created_at") else None,
            expires_at=_ts_field("expires_at", row["expires_at"]) if row.get("expires_at") else None,
            approved=_bool(row, "approved"),
            classified=_bool(row, "classified"),
        )


class FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


def _required(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise FieldError(name, "required, must be a non-empty string")
    return value.strip()


def _choice(row: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str:
    value = _required(row, name)
    if value not in allowed:
        raise FieldError(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _bool(row: Mapping[str, Any], name: str) -> bool:
    value = row.get(name)
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text not in ("true", "false"):
        raise FieldError(name, f"{value!r} is not true or false")
    return text == "true"


def _ts_field(name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return parse_ts(value)
    except ValueError as exc:
        raise FieldError(name, str(exc)) from None


def _read_rows(path: str | Path, header: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    path = str(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by `with` below
    except OSError as exc:
        raise ReferenceFileError(path, 0, "-", f"cannot open: {exc.strerror}") from None
    with handle:
        try:
            reader = csv.reader(handle)
            first = next(reader, None)
            if first is None or tuple(c.strip() for c in first) != header:
                raise ReferenceFileError(path, 1, "header", f"expected {','.join(header)}")
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise ReferenceFileError(
                        path, line, "row", f"expected {len(header)} fields, got {len(row)}"
                    )
                yield line, dict(zip(header, (c.strip() for c in row), strict=True))
        except UnicodeDecodeError as exc:
            raise ReferenceFileError(path, 0, "-", f"not UTF-8: {exc.reason}") from None
        except csv.Error as exc:
            raise ReferenceFileError(path, reader.line_num, "row", str(exc)) from None


def read_roster(path: str | Path) -> list[Employee]:
    """Parse and validate a roster CSV; raise ReferenceFileError at the first bad cell."""
    employees: dict[str, Employee] = {}
    owners: dict[str, str] = {}
    for line, row in _read_rows(path, ROSTER_HEADER):
        try:
            employee = Employee.from_mapping(row)
        except FieldError as exc:
            raise ReferenceFileError(str(path), line, exc.field, exc.reason) from None
        if not employee.accounts:
            raise ReferenceFileError(str(path), line, "accounts", "at least one account id is required")
        if employee.employee_id in employees:
            raise ReferenceFileError(str(path), line, "employee_id", f"duplicate {employee.employee_id}")
        for account in employee.accounts:
            if account in owners:
                raise ReferenceFileError(
                    str(path), line, "accounts", f"{account} already belongs to {owners[account]}"
                )
            owners[account] = employee.employee_id
        employees[employee.employee_id] = employee
    return list(employees.values())


def read_ledger(path: str | Path) -> list[Group]:
    """Parse and validate a ledger CSV; raise ReferenceFileError at the first bad cell."""
    groups: dict[str, Group] = {}
    for line, row in _read_rows(path, LEDGER_HEADER):
        try:
            group = Group.from_mapping(row)
        except FieldError as exc:
            raise ReferenceFileError(str(path), line, exc.field, exc.reason) from None
        if group.group_id in groups:
            raise ReferenceFileError(str(path), line, "group_id", f"duplicate {group.group_id}")
        groups[group.group_id] = group
    return list(groups.values())
