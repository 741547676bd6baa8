"""`content.confidential` structural checks: personal numbers and classification markings.

An 18-character resident ID number fires only with a valid region digit, birth date and
ISO 7064 MOD 11-2 check character; a 16–19 digit bank card only with an issuer prefix from the
policy and a valid Luhn digit. Digits may be full-width or grouped by single spaces or hyphens.
A number right after a label such as 订单号 or 运单 is an ordinary identifier and never fires.
Markings are 绝密/机密/秘密 next to a ★ (秘密★一年); the bare words are dictionary terms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from streams.content.matcher import Hit
from streams.content.normalize import NormalizeOptions, Normalizer

RULE = "content.confidential"
# Runs of digits joined by at most one space/hyphen; \d also matches full-width digits.
_ALNUM = r"\dA-Za-zＡ-Ｚａ-ｚ"
NUMBER_RUN = re.compile(rf"(?<![{_ALNUM}])\d(?:[ \u3000-]?\d){{11,22}}(?:[ \u3000-]?[XxＸｘ])?(?![{_ALNUM}])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MARKING = re.compile(r"(?:绝密|机密|秘密)[★☆]|[★☆](?:绝密|机密|秘密)")
_LABEL_WINDOW = 8


@dataclass(frozen=True, slots=True)
class NumberPolicy:
    card_prefixes: tuple[str, ...] = ()
    number_labels: tuple[str, ...] = ()

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> NumberPolicy:
        return cls(
            card_prefixes=tuple(str(p) for p in section.get("card_prefixes", ())),
            number_labels=tuple(str(p).casefold() for p in section.get("innocent_number_labels", ())),
        )


def digits_of(run: str) -> str:
    """The digits (and a trailing X) of a run, as ASCII, separators dropped."""
    out = unicodedata.normalize("NFKC", run).upper()
    return "".join(c for c in out if c.isdigit() or c == "X")


def valid_resident_id(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit() or number[0] not in "12345678":
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not 1900 <= int(number[6:10]) <= 2100:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class NumberChecker:
    def __init__(self, policy: NumberPolicy) -> None:
        self.policy = policy
        self._marking_view = Normalizer(
            NormalizeOptions(strip_noise=False, collapse_repeats=False),
            {c: "" for c in " \t\u3000\u200b\u200c\u200d\ufeff"},
        )

    def scan(self, original: str, numbers: bool = True, markings: bool = True) -> Hit | None:
        found: list[tuple[str, int, int]] = []
        for run in NUMBER_RUN.finditer(original) if numbers else ():
            kind = self.classify(digits_of(run.group(0)))
            if kind and not self._labelled(original, run.start()):
                found.append((kind, run.start(), run.end()))
        if markings:
            view = self._marking_view.normalize(original)
            for mark in _MARKING.finditer(view.text):
                found.append((f"marking:{mark.group(0)}", *view.span(mark.start(), mark.end())))
        return Hit.from_spans(RULE, found)

    def classify(self, number: str) -> str | None:
        if valid_resident_id(number):
            return "resident_id_number"
        if 16 <= len(number) <= 19 and number.startswith(self.policy.card_prefixes) and luhn_valid(number):
            return "bank_card_number"
        return None

    def _labelled(self, original: str, start: int) -> bool:
        before = unicodedata.normalize("NFKC", original[max(0, start - _LABEL_WINDOW) : start]).casefold()
        return any(label in before for label in self.policy.number_labels)
