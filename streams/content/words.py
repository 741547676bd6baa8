"""Ordinary Chinese words (jieba's dictionary, by frequency) for the split-word checks.

A dictionary match whose edge character forms a common word with the character just outside it
most likely spans two words (年度客户 ⊃ 度客, 还是体育 ⊃ 是体, 路口交通 ⊃ 口交), so the context
check can drop it; the pinyin expansion uses the same list to skip homophone spellings that are
words themselves (公事 for 公司).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def common_words(min_frequency: int = 100, max_length: int = 4) -> frozenset[str]:
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    words = set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, frequency, *_ = line.split(" ")
            if 2 <= len(word) <= max_length and int(frequency) >= min_frequency:
                words.add(word)
    return frozenset(words)


def spans_words(text: str, start: int, end: int, words: frozenset[str]) -> bool:
    """True when text[start:end] shares its first or last character with a word outside it."""
    if start > 0 and text[start - 1 : start + 1] in words:
        return True
    return end < len(text) and text[end - 1 : end + 1] in words
