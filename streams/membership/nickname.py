"""Real-name group nicknames (SPEC §4 `member.nickname`): 部门 + 姓名 of the roster record.

A nickname is correct when, after NFKC (so full-width forms such as －＿＋ and the ideographic
space count as their ASCII twins) and trimming the ends, it is exactly the department, one
separator from the policy's list, and the name. Nothing looser: no other punctuation, no doubled
separators (the Chinese IME dash —— is listed as one), no extra words, name before department fails.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from topics.reference import Employee

# What people type between department and name: nothing, hyphen, underscore, space, middle dot
# (· and the katakana/full-width ・), plus, and the dashes an IME produces (— and ——, ―, –).
DEFAULT_SEPARATORS = ("", "-", "_", " ", "·", "・", "+", "—", "——", "―", "–")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


@dataclass(frozen=True, slots=True)
class NicknameRule:
    separators: frozenset[str]

    @classmethod
    def from_params(cls, params: dict) -> NicknameRule:
        separators = params.get("separators", DEFAULT_SEPARATORS)
        return cls.of(str(s) for s in separators)

    @classmethod
    def of(cls, separators: Iterable[str]) -> NicknameRule:
        # separators are folded like nicknames, so a full-width entry in the policy still works
        return cls(frozenset(unicodedata.normalize("NFKC", s).casefold() for s in separators))

    def expected(self, employee: Employee) -> str:
        """The canonical form to suggest: 部门-姓名."""
        return f"{employee.department}-{employee.name}"

    def matches(self, nickname: str | None, employee: Employee) -> bool:
        if not nickname:
            return False
        text = _fold(nickname)
        department, name = _fold(employee.department), _fold(employee.name)
        if not text.startswith(department) or not text.endswith(name):
            return False
        if len(text) < len(department) + len(name):
            return False
        return text[len(department) : len(text) - len(name)] in self.separators
