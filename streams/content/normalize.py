"""Text normalisation shared by dictionary terms and message text, with a map back to the original.

Every step is switchable from the policy `[content.normalize]` table. The per-character steps
(NFKC, case folding, traditional→simplified, digit/letter variants, noise removal) fold into one
memoised translation table. With `precompute` the hot path (`fast`) does not call
`str.translate` (a dictionary look-up per character) but two C-level regex passes over classes
precomputed from that table: remove the noise characters, then map the few that change. The
offset map and the collapse of repeated characters are built only for messages that hit
something (`normalize`). Traditional→simplified runs per character (OpenCC `t2s` on each
character, once): a phrase-level conversion could change the length and break the offset map,
and the same conversion is applied to the dictionary terms, so both sides always agree.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
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
REPEAT_RUN = 3

# Digit and letter variants that NFKC leaves alone: financial numerals, Cyrillic/Greek
# look-alikes of Latin letters, and plus signs read as 加 (➕微, +v).
VARIANTS = {
    **dict(zip("壹贰叁肆伍陆柒捌玖〇", "1234567890", strict=True)),
    **dict(zip("аеорсхуіѕјԁɡκνοατ", "aeopcxyisjdgkvoat", strict=True)),
    "+": "加",
    "➕": "加",
}
# Plain Chinese numerals, read as digits only where a phone number is looked for (a view of the
# same length, so positions carry over).
NUMERALS = str.maketrans("零〇一二三四五六七八九幺", "001234567891")
BREAK = "|"  # a clause break in the model's view (`keep_breaks`); otherwise noise like any "|"
# Four or more characters each followed by one space (w w w . x . c o m, 垃 圾 员 工): text spread
# out so that no filter reads it as a link, a file name or a word. Its odd characters are the spaces.
SPREAD_OUT = re.compile(r"(?:\S[ \u3000]){3,}\S")
STEPS = ("nfkc", "casefold", "t2s", "variants", "strip_noise", "collapse_repeats")


def closed_up(text: str) -> tuple[str, list[int] | None]:
    """`text` with the spaces inside its spread-out runs removed, and where each of its characters
    was in `text` (None: nothing was spread out)."""
    at: list[int] = []
    pieces: list[str] = []
    last = 0
    for run in SPREAD_OUT.finditer(text):
        pieces.append(text[last : run.start()])
        at.extend(range(last, run.start()))
        for i in range(run.start(), run.end(), 2):
            pieces.append(text[i])
            at.append(i)
        last = run.end()
    if last == 0:
        return text, None
    pieces.append(text[last:])
    at.extend(range(last, len(text)))
    return "".join(pieces), at


@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    nfkc: bool = True
    casefold: bool = True
    t2s: bool = True
    variants: bool = True
    strip_noise: bool = True
    collapse_repeats: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> NormalizeOptions:
        unknown = set(data) - set(STEPS)
        if unknown:
            raise ValueError(f"[content.normalize]: unknown option(s) {', '.join(sorted(unknown))}")
        for name, value in data.items():
            if not isinstance(value, bool):
                raise ValueError(f"[content.normalize].{name}: expected true or false")
        return cls(**data)

    def enabled(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if getattr(self, f.name))

    def without(self, step: str) -> NormalizeOptions:
        return replace(self, **{step: False})


@dataclass(slots=True)  # per message: not frozen (see matcher.Hit)
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
        self,
        options: NormalizeOptions | None = None,
        replace: Mapping[str, str] | None = None,
        precompute: bool = False,
        keep_breaks: bool = False,
    ) -> None:
        """`replace` maps single output characters to replacements, applied after the other steps.
        `keep_breaks`: BREAK stays, where it is otherwise noise (the model's clause breaks).

        `precompute` classifies the whole BMP here (a fraction of a second, at start-up rather than
        on a live message) so that `fast` can skip the per-character table for text that only needs
        its noise removed.
        """
        self.options = options or NormalizeOptions()
        self._replace = dict(replace or {})
        self._keep_breaks = keep_breaks
        self._precompute = precompute
        self._converter: Any = None
        self._noise: re.Pattern[str] | None = None
        self._noise_char: re.Pattern[str] | None = None
        self._changes: re.Pattern[str] | None = None
        self._expands: re.Pattern[str] | None = None
        self._table = _CharTable(self._char)
        # Output length per code point, as a character, for the offset map (same memo scheme).
        self._lengths = _CharTable(lambda ch: chr(len(self._table[ord(ch)])))
        if precompute:
            self._build_classes()

    def _t2s(self) -> Any:
        """OpenCC's converter, made on first use."""
        if self._converter is None:
            import opencc

            self._converter = opencc.OpenCC("t2s")
        return self._converter

    def _char(self, ch: str) -> str:
        if self._keep_breaks and ch == BREAK:
            return BREAK
        opts = self.options
        out = unicodedata.normalize("NFKC", ch) if opts.nfkc else ch
        if opts.casefold:
            out = out.casefold()
        if opts.t2s and len(out) == 1 and not out.isascii() and unicodedata.category(out) == "Lo":
            converted = self._t2s().convert(out)
            out = converted if len(converted) == 1 else out
        if opts.variants:
            out = "".join(VARIANTS.get(c, c) for c in out)
        if opts.strip_noise:
            out = "".join(c for c in out if unicodedata.category(c) not in NOISE_CATEGORIES)
        if self._replace:
            out = "".join(self._replace.get(c, c) for c in out)
        return out

    def fast(self, text: str) -> str:
        """The per-character steps only, without offsets or collapsed repeats: the hot-path view.

        With `precompute`, two C-level regex passes replace the translation table (which costs a
        dictionary look-up per character): the noise characters go first, then the few characters
        that change (traditional forms, full-width, capitals …) are mapped one match at a time.
        The result is the same as `str.translate` with the table.
        """
        if not self._precompute:
            return text.translate(self._table)
        kept = self._noise_char.sub("", text)  # type: ignore[union-attr]
        if self._changes.search(kept) is None:  # type: ignore[union-attr]
            return kept
        return self._changes.sub(self._mapped, kept)  # type: ignore[union-attr]

    def _mapped(self, found: re.Match[str]) -> str:
        return self._table[ord(found.group())]

    def _build_classes(self) -> None:
        """Regex classes over the BMP: characters normalised away, characters that change, and
        characters that expand to more than one (astral characters count as changing/expanding)."""
        deleted, changed, expands = [], [], []
        for code in range(0x10000):
            out = self._table[code]
            if out == "":
                deleted.append(code)
            elif out != chr(code):
                changed.append(code)
                if len(out) > 1:
                    expands.append(code)
        never = re.compile("(?!)")
        # One character at a time is faster for removal (most noise runs are one character
        # long); runs are fewer match objects for the offset map.
        self._noise_char = re.compile(f"[{char_class(deleted)}]") if deleted else never
        self._noise = re.compile(f"[{char_class(deleted)}]+") if deleted else never
        self._changes = re.compile(f"[{char_class(changed)}\U00010000-\U0010ffff]")
        body = char_class(expands) if expands else ""
        self._expands = re.compile(f"[{body}\U00010000-\U0010ffff]")

    def normalize(self, text: str, view: str | None = None) -> Normalized:
        """Normalised text with its offset map; `view` is `fast(text)` when the caller has it."""
        if self._precompute and self._expands.search(text) is None:  # type: ignore[union-attr]
            # One output character per kept character: the offsets are the positions that
            # survive noise removal.
            mapped = self.fast(text) if view is None else view
            offsets = list(range(len(text)))
            for run in reversed(list(self._noise.finditer(text))):  # type: ignore[union-attr]
                del offsets[run.start() : run.end()]
        else:
            mapped, offsets = self._mapped_with_offsets(text)
        if self.options.collapse_repeats:
            mapped, offsets = _collapse(mapped, offsets)
        return Normalized(mapped, tuple(offsets))

    def _mapped_with_offsets(self, text: str) -> tuple[str, list[int]]:
        mapped = text.translate(self._table)
        lengths = text.translate(self._lengths)
        if len(mapped) == len(text) and lengths.count("\x01") == len(text):
            return mapped, list(range(len(text)))
        counts = lengths.encode("latin-1")
        if max(counts, default=0) <= 1:
            return mapped, list(itertools.compress(range(len(text)), counts))
        return mapped, [i for i, n in enumerate(counts) for _ in range(n)]

    def __call__(self, text: str) -> str:
        text = text.translate(self._table)
        return _REPEAT.sub(r"\1", text) if self.options.collapse_repeats else text


def char_class(codes: list[int]) -> str:
    """A regex character class body for sorted code points, as ranges."""
    parts = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code != prev + 1:
            first, last = re.escape(chr(start)), re.escape(chr(prev))
            parts.append(first if start == prev else f"{first}-{last}")
            start = code
        prev = code
    return "".join(parts)


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


def steps_needed(options: NormalizeOptions, original: str, term: str) -> tuple[str, ...]:
    """The enabled steps without which `term` no longer occurs in `original` (for explanations)."""
    needed = []
    for step in options.enabled():
        reduced = Normalizer(options.without(step))
        if reduced(term) not in reduced(original):
            needed.append(step)
    return tuple(needed)
