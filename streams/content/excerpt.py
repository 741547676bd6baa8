"""Evidence excerpts: a short window of the ORIGINAL text, with confidential values masked (SPEC §5).

Every excerpt masks long digit runs (ID, card, account numbers) except their last four digits.
A `content.confidential` excerpt also masks every digit and every run of three or more Latin
letters/digits, because the matched secret (a password, a figure, a price) sits among them.
"""

from __future__ import annotations

import re

from streams.content.identifiers import NUMBER_RUN

_SECRETISH = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ][0-9A-Za-z０-９Ａ-Ｚａ-ｚ@#$%^&*!_.+=/-]{2,}|\d")
_DIGIT = re.compile(r"\d")
_KEEP_TAIL = 4
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def excerpt(text: str, start: int, end: int, width: int, mask_all: bool = False) -> str:
    """About `width` characters of `text` around [start, end), masked, with … marking cuts."""
    masked = mask(text, mask_all)
    width = max(width, 1)
    if len(masked) <= width:
        return masked
    pad = max(0, (width - (end - start)) // 2)
    lo = max(0, min(start - pad, len(masked) - width))
    hi = min(len(masked), lo + width)
    return ("…" if lo > 0 else "") + masked[lo:hi] + ("…" if hi < len(masked) else "")


def mask(text: str, mask_all: bool = False) -> str:
    if _DIGIT.search(text) is not None:  # a number run starts with a digit; most texts have none
        text = NUMBER_RUN.sub(_mask_number, text)
    if mask_all:
        text = _SECRETISH.sub(lambda m: "*" * len(m.group(0)), text)
    # Evidence goes out as JSON: no control characters or lone surrogates.
    return _CONTROL.sub("\ufffd", text) if _CONTROL.search(text) is not None else text


def _mask_number(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = [m.start() for m in _DIGIT.finditer(run)]
    keep = set(digits[-_KEEP_TAIL:])
    return "".join(ch if i in keep or not ch.isalnum() else "*" for i, ch in enumerate(run))
