"""Word segmentation of normalised text, so that a dictionary hit counts only where it is a word.

A dictionary term found by the automaton may merely straddle two ordinary words: 口交 in 路口|交通,
鸡巴 in 宝鸡|巴士, 大麻 in 大|麻烦, 下注 in 以下|注意. The segmenter (rjieba, the Rust port of
jieba, with jieba's dictionary; HMM off, so the result depends only on the dictionaries) cuts the
normalised text of a message that has a candidate hit, and `MessageWords.misaligned` says whether
a hit fails to line up with the words:

- **literal terms**: no word may overlap the hit only in part. Pieces inside it are fine (a term
  the segmenter splits, 傻|逼 after an inserted space), and so is one word that holds the whole hit
  as its beginning or its end (a compound: 赌博机 ⊃ 赌博, 总经理 ⊃ 经理, 几刀 ⊃ 刀); a word holding it
  in the middle (干净利落 ⊃ 净利, 目不转睛 ⊃ 不转) is not.
- **pinyin/homophone spellings** (nobody's word on purpose): both edges on word boundaries and no
  longer word around it (收件人 ⊃ 件人 for 贱人, 年度|客户 ⊃ 度客 for 赌客); nor may the original have
  punctuation or a line break inside it (a name with a middle dot, a rating and a comma).

Every literal term of the dictionaries is added to the segmenter's dictionary, so that it is cut
as one word where it is the likelier reading (你个傻逼 → 你|个|傻逼) and ordinary words win where
they are likelier (路口交通 stays 路口|交通). Its frequency is what jieba suggests for it (just
enough to be one word when nothing around competes) but at least `TERM_FREQUENCY`, that of about
the 7,000th most frequent of jieba's 349,000 words: with jieba's suggestion alone a term loses to
rare dictionary entries next to it (特殊|服务上门, 团|购价), while 口交 would need about 1,000,000
to split 路口|交通. Each term's frequency is computed against the base dictionary before any is
added, so the result does not depend on the order of the files.

Wherever the normaliser dropped characters of the original (spaces, punctuation, emoji) is a word
boundary too, so a term spelled out with spaces between its characters is still aligned. A hit
with such a boundary or an end of the text on both sides is aligned whatever the words are, so it
is decided without segmenting (a term standing alone, 【傻逼】).

Only a window of `MARGIN` characters either side of the candidate hits is segmented (merged where
windows overlap): one rjieba call on a short window instead of the whole message. On 5,988
candidate matches in ~40,000 real messages (labelled workplace chat, dialogue and comment
datasets) every margin from 3 up decided each match as segmenting the whole message did. A text of
at most `WHOLE` normalised characters is segmented whole: the windows would cover most of it, and
working them out cost more than the characters they spare (about 1.4 µs against 0.2 µs of rjieba
per message of chat length).
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from streams.content.normalize import Normalized, char_class

TERM_FREQUENCY = 1_000  # jieba frequency (per ~60M words) given to a dictionary term at least
MARGIN = 6  # characters segmented either side of a candidate hit
WHOLE = 32  # a normalised text this short is segmented whole
_HMM = False  # the HMM guesses unknown words; off, the segmentation is the dictionaries' alone
_LINE_BREAKS = "\n\r\v\f\x85\u2028\u2029"


@dataclass(slots=True)  # not frozen: built once per candidate message, the faster __init__
class Segmentation:
    """The words of text[start:end]: `bounds` holds the positions where the segmenter ends a word,
    and wherever the normaliser dropped characters (`offsets` jump) is a boundary as well."""

    text: str
    start: int
    end: int
    bounds: set[int]
    offsets: tuple[int, ...] | None = None  # the normalised text's map to the original

    def is_boundary(self, position: int) -> bool:
        """A word boundary; the window's own edges count as boundaries."""
        if position <= self.start or position >= self.end or position in self.bounds:
            return True
        return self.offsets is not None and _dropped_before(self.offsets, position)

    def word_at(self, position: int) -> tuple[int, int]:
        """(start, end) of the word holding character `position` (inside the window)."""
        lo, hi = position, position + 1
        while not self.is_boundary(lo):
            lo -= 1
        while not self.is_boundary(hi):
            hi += 1
        return lo, hi

    def around(self, start: int, end: int) -> str:
        """The words overlapping text[start:end] and one either side, '|'-separated."""
        first, last = self.word_at(start)[0], self.word_at(end - 1)[1]
        lo = self.word_at(first - 1)[0] if first > self.start else first
        hi = self.word_at(last)[1] if last < self.end else last
        cuts = [at for at in range(lo, hi + 1) if at in (lo, hi) or self.is_boundary(at)]
        return "|".join(self.text[a:b] for a, b in itertools.pairwise(cuts))


class Segmenter:
    """rjieba over jieba's dictionary plus the lexicon's literal terms; never changed once built."""

    def __init__(self, terms: Iterable[str]) -> None:
        import rjieba

        _punctuation()  # built here, not on a live message's first spelling
        self._jieba = rjieba.Jieba()
        words = sorted({term for term in terms if len(term) > 1})
        frequencies = [max(TERM_FREQUENCY, self._jieba.suggest_freq(word)) for word in words]
        for word, frequency in zip(words, frequencies, strict=True):
            self._jieba.add_word(word, frequency, None)

    def segment(
        self, text: str, start: int = 0, end: int | None = None, offsets: tuple[int, ...] | None = None
    ) -> Segmentation:
        """The words of text[start:end]; with `offsets` (`Normalized.offsets`), every place where
        the normaliser dropped characters of the original is a word boundary as well."""
        end = len(text) if end is None else end
        pieces = self._jieba.cut(_encodable(text[start:end]), _HMM)
        return Segmentation(
            text, start, end, set(itertools.accumulate(map(len, pieces), initial=start)), offsets
        )

    def words(self, original: str, norm: Normalized, spans: Iterable[tuple[int, int]]) -> MessageWords:
        return MessageWords(self, original, norm, spans)


class MessageWords:
    """The words of one message around its candidate hits (`spans`), segmented on first use."""

    __slots__ = ("_done", "_norm", "_original", "_punctuation", "_segmenter", "_spans", "_windows")

    def __init__(
        self, segmenter: Segmenter, original: str, norm: Normalized, spans: Iterable[tuple[int, int]]
    ) -> None:
        self._segmenter, self._original, self._norm, self._spans = segmenter, original, norm, spans
        self._windows: list[tuple[int, int]] | None = None
        self._done: dict[int, Segmentation] = {}
        self._punctuation: list[int] | None = None

    def _windowed(self) -> list[tuple[int, int]]:
        """The spans widened by MARGIN either side, clipped to the text, merged where they overlap."""
        size = len(self._norm.text)
        windows: list[tuple[int, int]] = []
        for start, end in sorted(self._spans):
            lo, hi = max(0, start - MARGIN), min(size, end + MARGIN)
            if windows and lo <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
            else:
                windows.append((lo, hi))
        return windows

    def segmentation(self, start: int, end: int) -> Segmentation:
        """The segmented window that holds text[start:end] (one of `spans`)."""
        if self._windows is None:
            size = len(self._norm.text)
            self._windows = [(0, size)] if size <= WHOLE else self._windowed()
        windows = self._windows
        index = bisect.bisect_right(windows, (start, len(self._norm.text))) - 1
        if index < 0 or not (windows[index][0] <= start and end <= windows[index][1]):
            return self._segment(max(0, start - MARGIN), min(len(self._norm.text), end + MARGIN))
        found = self._done.get(index)
        if found is None:
            found = self._done[index] = self._segment(*windows[index])
        return found

    def _segment(self, start: int, end: int) -> Segmentation:
        return self._segmenter.segment(self._norm.text, start, end, self._norm.offsets)

    def _edge(self, position: int) -> bool:
        """A boundary whatever the segmentation: an end of the text, or characters dropped there."""
        offsets = self._norm.offsets
        return position <= 0 or position >= len(offsets) or _dropped_before(offsets, position)

    def punctuation(self) -> list[int]:
        """Normalised positions where the original had punctuation or a line break in between."""
        if self._punctuation is None:
            self._punctuation = []
            offsets = self._norm.offsets
            for mark in _punctuation().finditer(self._original):
                index = bisect.bisect_left(offsets, mark.start())
                if 0 < index < len(offsets) and (not self._punctuation or self._punctuation[-1] != index):
                    self._punctuation.append(index)
        return self._punctuation

    def misaligned(self, start: int, end: int, spelled: bool) -> str | None:
        """Why text[start:end] is not a word of the message (module docstring), or None."""
        if spelled and any(start < at < end for at in self.punctuation()):
            return "a pinyin/homophone spelling across punctuation of the original"
        if self._edge(start) and self._edge(end):
            return None  # a text edge or dropped characters on both sides: no word can cross them
        words = self.segmentation(start, end)
        if words.is_boundary(start) and words.is_boundary(end):
            return None
        if not spelled:
            word_start, word_end = words.word_at(start)
            if word_end >= end and (word_start == start or word_end == end):
                return None  # a compound that begins or ends with the term
        return f"not aligned with the words {words.around(start, end)}"


def _dropped_before(offsets: tuple[int, ...], position: int) -> bool:
    """The normaliser dropped characters of the original just before normalised `position` (0 < it < len)."""
    return offsets[position] - offsets[position - 1] > 1


@cache
def _punctuation() -> re.Pattern[str]:
    """Unicode punctuation (P*) and line separators of the BMP, as one character class."""
    codes = [
        code
        for code in range(0x10000)
        if unicodedata.category(chr(code))[0] == "P" or chr(code) in _LINE_BREAKS
    ]
    return re.compile(f"[{char_class(codes)}]")


def _encodable(text: str) -> str:
    """`text` with lone surrogates (which cannot cross into Rust) replaced, length unchanged."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text
