"""Ordinary Chinese words (jieba's dictionary, by frequency), for the pinyin expansion.

A homophone spelling of a dictionary term whose changed character forms an ordinary word with a
neighbour (公事 for 公司) is not an evasion, so streams.content.pinyin skips it at load time.
Whether a match in a message spans two words is decided by segmenting the message
(streams.content.segment), not by this list.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def common_words(min_frequency: int = 100, max_length: int = 4) -> frozenset[str]:
    import jieba

    lines = Path(jieba.__file__).with_name("dict.txt").read_text(encoding="utf-8").splitlines()
    if min_frequency <= 1:  # every entry has a frequency of at least 1: no need to read it (2× faster)
        return frozenset(w for w in (line.partition(" ")[0] for line in lines) if 2 <= len(w) <= max_length)
    words = set()
    for line in lines:
        word, frequency, *_ = line.split(" ")
        if 2 <= len(word) <= max_length and int(frequency) >= min_frequency:
            words.add(word)
    return frozenset(words)
