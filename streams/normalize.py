"""Text normalisation shared by dictionary terms and message text, with a map back to the original.

Every step is switchable from the policy `[content.normalize]` table. All per-character steps
(NFKC, case folding, traditional→simplified, noise removal) are folded into one memoised
translation table, so a message costs one `str.translate` plus one regex pass for repeated
characters. Traditional→simplified runs per character (OpenCC `t2s` on each character, once):
a phrase-level conversion could change the length and break the offset map, and the same
character-level conversion is applied to the dictionary terms, so both sides always agree.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

# Unicode categories dropped as noise: separators, punctuation, symbols (emoji included),
# control/format/surrogate/private/unassigned code points, and non-spacing/enclosing marks.
NOISE_CATEGORIES = frozenset(
    {"Zs", "Zl", "Zp", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
    | {"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me"}
)
# Bound on the memo: adversarial input with every code point must not grow it without limit.
_MEMO_LIMIT = 200_000
# Runs of three or more of one character collapse (砍砍砍砍死); doubles are ordinary words
# (妈妈, 谢谢, 看看) and collapsing them would create false hits (他妈妈的 → 他妈的).
_REPEAT = re.compile(r"(.)\1{2,}", re.DOTALL)


@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    nfkc: bool = True
    casefold: bool = True
    t2s: bool = True
    strip_noise: bool = True
    collapse_repeats: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> NormalizeOptions:
        unknown = set(data) - set(cls.__slots__)
        if unknown:
            raise ValueError(f"[content.normalize]: unknown option(s) {', '.join(sorted(unknown))}")
        for name, value in data.items():
            if not isinstance(value, bool):
                raise ValueError(f"[content.normalize].{name}: expected true or false")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text; `offsets[i]` is the index in the original of normalised character i."""

    text: str
    offsets: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) covering normalised [start, end)."""
        if not self.offsets or start >= end:
            return (0, 0)
        return self.offsets[start], self.offsets[end - 1] + 1


class _CharTable(dict[int, str]):
    """Code point → normalised string, computed on first use (str.translate calls __missing__)."""

    def __init__(self, convert: Any) -> None:
        super().__init__()
        self._convert = convert

    def __missing__(self, code: int) -> str:
        value = self._convert(chr(code))
        if len(self) < _MEMO_LIMIT:
            self[code] = value
        return value


class Normalizer:
    def __init__(
        self, options: NormalizeOptions | None = None, replace: Mapping[str, str] | None = None
    ) -> None:
        """`replace` maps single output characters to replacements, applied after the other steps."""
        self.options = options or NormalizeOptions()
        self._replace = dict(replace or {})
        self._table = _CharTable(self._char)
        # Output length per code point, as a character, for the offset map (same memo scheme).
        self._lengths = _CharTable(lambda ch: chr(len(self._table[ord(ch)])))

    @cached_property
    def _t2s(self) -> Any:
        import opencc

        return opencc.OpenCC("t2s")

    def _char(self, ch: str) -> str:
        opts = self.options
        out = unicodedata.normalize("NFKC", ch) if opts.nfkc else ch
        if opts.casefold:
            out = out.casefold()
        if opts.t2s and len(out) == 1 and not out.isascii() and unicodedata.category(out) == "Lo":
            converted = self._t2s.convert(out)
            out = converted if converted else out
        if opts.strip_noise:
            out = "".join(c for c in out if unicodedata.category(c) not in NOISE_CATEGORIES)
        if self._replace:
            out = "".join(self._replace.get(c, c) for c in out)
        return out

    def normalize(self, text: str) -> Normalized:
        mapped = text.translate(self._table)
        lengths = text.translate(self._lengths)
        if len(mapped) == len(text) and lengths.count("\x01") == len(text):
            offsets: list[int] = list(range(len(text)))
        else:
            counts = lengths.encode("latin-1")
            if max(counts, default=0) <= 1:
                offsets = list(itertools.compress(range(len(text)), counts))
            else:
                offsets = [i for i, n in enumerate(counts) for _ in range(n)]
        if self.options.collapse_repeats:
            mapped, offsets = _collapse(mapped, offsets)
        return Normalized(mapped, tuple(offsets))

    def __call__(self, text: str) -> str:
        return self.normalize(text).text


def _collapse(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    """Collapse each run of three or more of one character to a single character."""
    runs = list(_REPEAT.finditer(text))
    if not runs:
        return text, offsets
    pieces: list[str] = []
    kept: list[int] = []
    last = 0
    for run in runs:
        cut = run.start() + 1
        pieces.append(text[last:cut])
        kept.extend(offsets[last:cut])
        last = run.end()
    pieces.append(text[last:])
    kept.extend(offsets[last:])
    return "".join(pieces), kept
