"""Pinyin and homophone spellings of evasion-prone dictionary terms, compiled into the automaton.

Instead of converting every message to pinyin (a second pass that flags every word sharing a
sound), each term the dictionary tags `evasion` is expanded once, at load time, into the
spellings people use to dodge a filter:

- some characters written as toneless pinyin (du博, fa轮功, ting说) or all of them (dubo);
- exactly one character replaced by a common character with the same sound (堵博, 共惨党).

Homophones come from the 3,755 level-1 GB2312 characters (the common ones evaders type). A
homophone spelling whose changed character forms an ordinary word with a neighbour (jieba's
word list: 公事 for 公司) is dropped; in a message, a spelling counts only where it lines up with
the words and runs across no punctuation (streams.content.segment: 年度|客户 ⊃ 度客 for 赌客), and
the allow-list cancels what is left, so ordinary words that merely share a sound stay silent.
Sounds are compared without tones and, when the policy lists fuzzy pairs (zh=z, ch=c, sh=s …),
with those pairs merged.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from streams.content.words import common_words

MAX_LATIN_POSITIONS = 6  # 2^6 pinyin spellings per term at most
MIN_ALL_LATIN = 4  # an all-pinyin spelling shorter than this (e.g. "du") is too ambiguous


@dataclass(frozen=True, slots=True)
class PinyinOptions:
    enabled: bool = True
    tag: str = "evasion"
    homophones: bool = True
    fuzzy: tuple[tuple[str, str], ...] = (("zh", "z"), ("ch", "c"), ("sh", "s"))


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


class Homophones:
    """Toneless readings of the common (GB2312) characters and the reverse index."""

    def __init__(self, fuzzy: Iterable[tuple[str, str]] = ()) -> None:
        from pypinyin import Style, lazy_pinyin

        self._fuzzy = tuple(fuzzy)
        self._lazy_pinyin, self._style = lazy_pinyin, Style.NORMAL
        self.words = common_words(min_frequency=1)
        common = [chr(c) for c in range(0x4E00, 0x9FA6) if _common(chr(c))]
        readings = self._lazy_pinyin(common, style=self._style, errors="ignore")
        self.by_sound: dict[str, list[str]] = defaultdict(list)
        for ch, sound in zip(common, readings, strict=True):
            self.by_sound[self.fold(sound)].append(ch)

    def fold(self, sound: str) -> str:
        for long, short in self._fuzzy:
            if sound.startswith(long):
                return short + sound[len(long) :]
        return sound

    def reading(self, ch: str) -> str:
        found = self._lazy_pinyin(ch, style=self._style, errors="ignore")
        return found[0] if found else ""

    def variants(self, term: str) -> set[str]:
        """Pinyin and single-homophone spellings of a normalised term (the term itself excluded)."""
        positions = [i for i, ch in enumerate(term) if _is_cjk(ch)]
        if len(positions) < 2:
            return set()
        sounds = {i: self.reading(term[i]) for i in positions}
        if not all(sounds.values()):
            return set()
        out: set[str] = set()
        latin_positions = positions[:MAX_LATIN_POSITIONS]
        for size in range(1, len(latin_positions) + 1):
            for chosen in itertools.combinations(latin_positions, size):
                spelled = "".join(sounds[i] if i in chosen else ch for i, ch in enumerate(term))
                if size == len(positions) and len(spelled) < MIN_ALL_LATIN:
                    continue
                out.add(spelled)
        for i in positions:
            for other in self.by_sound.get(self.fold(sounds[i]), ()):
                if other == term[i]:
                    continue
                spelled = term[:i] + other + term[i + 1 :]
                if not self._is_word(spelled, i):
                    out.add(spelled)
        out.discard(term)
        return out

    def _is_word(self, spelled: str, changed: int) -> bool:
        """True when the changed character forms an ordinary word with a neighbour."""
        for lo in range(max(0, changed - 3), changed + 1):
            for hi in range(changed + 1, min(len(spelled), lo + 4) + 1):
                if hi - lo >= 2 and spelled[lo:hi] in self.words:
                    return True
        return False


def _common(ch: str) -> bool:
    """A level-1 GB2312 character (lead byte 0xB0–0xD7)."""
    try:
        encoded = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return 0xB0 <= encoded[0] <= 0xD7


@cache
def homophones(fuzzy: tuple[tuple[str, str], ...]) -> Homophones:
    """One shared index per fuzzy setting (building it reads pypinyin's tables once)."""
    return Homophones(fuzzy)
