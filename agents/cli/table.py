"""Terminal tables that line up with Chinese text (wide characters take two columns)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, columns: int) -> str:
    """Cut `text` to `columns` display columns (with … when cut) and pad it to exactly that."""
    text = " ".join(text.split())
    if width(text) > columns:
        out, used = [], 0
        for ch in text:
            w = width(ch)
            if used + w > columns - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + "…"
    return text + " " * (columns - width(text))


def row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(fit(cell, w) for cell, w in zip(cells, widths, strict=True)).rstrip()
