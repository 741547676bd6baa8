"""A small schema vocabulary for TOML tables: value checks (`Check`: integer and number ranges,
flags, strings, choices, lists, values a parser accepts), `Table` and `Tables`, and `Problem`, one
mistake with its TOML location. A table lists every mistake it holds at once, in file order, so an
operator fixes a file in one pass. streams.core.policy_schema describes the policy with it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


def shown(value: Any) -> str:
    """A value as it was written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)


class Check(Protocol):
    """What one key may hold."""

    def problem(self, value: Any) -> str | None:
        """Why `value` is not acceptable; None when it is."""
        ...


def _bound(low: float | None, strict: bool) -> str:
    return "" if low is None else f" {'>' if strict else '>='} {low:g}"


@dataclass(frozen=True, slots=True)
class Integer:
    low: int | None = None

    def problem(self, value: Any) -> str | None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (self.low is not None and value < self.low)
        ):
            return f"must be an integer{_bound(self.low, False)}, got {shown(value)}"
        return None


@dataclass(frozen=True, slots=True)
class Number:
    low: float | None = None
    strict: bool = False  # above `low`, not equal to it

    def problem(self, value: Any) -> str | None:
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if not number or (self.low is not None and (value <= self.low if self.strict else value < self.low)):
            return f"must be a number{_bound(self.low, self.strict)}, got {shown(value)}"
        return None


@dataclass(frozen=True, slots=True)
class Flag:
    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else f"must be true or false, got {shown(value)}"


@dataclass(frozen=True, slots=True)
class Text:
    nonempty: bool = False
    digits: bool = False

    def problem(self, value: Any) -> str | None:
        if (
            not isinstance(value, str)
            or (self.nonempty and not value)
            or (self.digits and not value.isdigit())
        ):
            what = (
                "a string of digits" if self.digits else "a non-empty string" if self.nonempty else "a string"
            )
            return f"must be {what}, got {shown(value)}"
        return None


@dataclass(frozen=True, slots=True)
class OneOf:
    options: tuple[str, ...]
    noun: str  # "a severity", "an action"

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str) and value in self.options:
            return None
        return f"{shown(value)} is not {self.noun} ({_hint(str(value), self.options, 'one of')})"


@dataclass(frozen=True, slots=True)
class ListOf:
    item: Check

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, list):
            return f"must be a list, got {shown(value)}"
        found = (self.item.problem(v) for v in value)
        return "; ".join(dict.fromkeys(p for p in found if p is not None)) or None


@dataclass(frozen=True, slots=True)
class Parsed:
    """A value `parse` accepts; its ValueError says why not."""

    parse: Callable[[Any], object]

    def problem(self, value: Any) -> str | None:
        try:
            self.parse(value)
        except ValueError as exc:
            return str(exc)
        return None


def _hint(name: str, known: Sequence[str], listing: str = "known:") -> str:
    """ "did you mean …?" for a near miss; else the known names (when there are few enough to read)."""
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {shown(close[0])}?"
    return f"{listing} {', '.join(known)}" if len(known) <= 16 else f"{len(known)} known, none close"


# -- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake: the table it is in, the key (None: the table itself) and what is wrong."""

    table: tuple[str, ...]
    key: str | None
    message: str

    def at(self, source: str) -> str:
        """`policy.toml: [rules."flood.rate"] count: must be an integer >= 1, got -5`."""
        where = [f"[{'.'.join(map(_toml_key, self.table))}]"] if self.table else []
        if self.key is not None:
            where.append(_toml_key(self.key))
        return f"{source}: {' '.join(where)}: {self.message}"


def _toml_key(name: str) -> str:
    bare = name and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    return name if bare else json.dumps(name, ensure_ascii=False)


CrossCheck = Callable[[Mapping[str, Any], tuple[str, ...]], Iterator[Problem]]


@dataclass(frozen=True)
class Table:
    """A TOML table: its keys (each a check or a nested table), the keys it must have, and
    checks across keys that run once every key is valid."""

    keys: Mapping[str, Check | Table | Tables]
    required: tuple[str, ...] = ()
    noun: str = "key"
    across: CrossCheck | None = None

    def problems(self, data: Mapping[str, Any], at: tuple[str, ...] = ()) -> list[Problem]:
        found: list[Problem] = []
        for key, value in data.items():
            spec = self.keys.get(key)
            if spec is None:
                unknown = f"unknown {self.noun} ({_hint(key, list(self.keys))})"
                found.append(
                    Problem((*at, key), None, unknown)
                    if isinstance(value, dict)
                    else Problem(at, key, unknown)
                )
            elif isinstance(spec, Table | Tables):
                if isinstance(value, dict):
                    found.extend(spec.problems(value, (*at, key)))
                else:
                    found.append(Problem(at, key, f"must be a table, got {shown(value)}"))
            elif (message := spec.problem(value)) is not None:
                found.append(Problem(at, key, message))
        for key in (k for k in self.required if k not in data):
            table = isinstance(self.keys.get(key), Table | Tables)
            found.append(Problem((*at, key), None, "missing") if table else Problem(at, key, "missing"))
        if not found and self.across is not None:
            found.extend(self.across(data, at))
        return found


@dataclass(frozen=True)
class Tables:
    """A table of tables: `named` fixes the names and each one's shape (rules by id); otherwise
    any name takes the shape `each` ([working_time.groups."<group id>"])."""

    each: Table | None = None
    named: Mapping[str, Table] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    noun: str = "table"
    missing: str = "missing"

    def problems(self, data: Mapping[str, Any], at: tuple[str, ...]) -> list[Problem]:
        found: list[Problem] = []
        for name, value in data.items():
            shape = self.named.get(name, self.each)
            if shape is None:
                found.append(
                    Problem((*at, name), None, f"unknown {self.noun} ({_hint(name, list(self.named))})")
                )
            elif not isinstance(value, dict):
                found.append(Problem(at, name, f"must be a table, got {shown(value)}"))
            else:
                found.extend(shape.problems(value, (*at, name)))
        found.extend(Problem((*at, name), None, self.missing) for name in self.required if name not in data)
        return found
