"""Target words: words that name a group of people (config/dictionaries/targets.txt).

A model head the policy lists in `[content.model] needs_target` fires only on a message that names
such a group. The head `content.insult#public` is learned from public comments that attack groups
of people (COLD: race, gender, region); on ordinary chat that names no group its score means little,
and most of its false alarms there came from such chat. Training applies the same check when it
chooses that head's threshold (streams.content.training), so the threshold is the one for the gated
head. One automaton over the normalised words; a message is searched only when such a head
reached its threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ahocorasick_rs

from streams.content.dictionary import DictionaryError, read_word_list


class TargetWords:
    def __init__(self, words: tuple[str, ...], normalize: Callable[[str], str]) -> None:
        self._normalize = normalize
        keys = sorted({normalize(word) for word in words})
        longest = ahocorasick_rs.MatchKind.LeftmostLongest  # name 女孩子, not 女孩
        self._automaton = ahocorasick_rs.AhoCorasick(keys, matchkind=longest) if keys else None
        self._keys = keys

    @classmethod
    def load(cls, path: Path, normalize: Callable[[str], str]) -> TargetWords:
        """The words of `path`; DictionaryError naming the file (and line) when it is unusable."""
        if not path.is_file():
            raise DictionaryError(path, 0, "target word list does not exist")
        return cls(read_word_list(path, normalize), normalize)

    def named(self, text: str) -> str | None:
        """The first target word in `text` (normalised as the dictionaries are), or None."""
        if self._automaton is None:
            return None
        found = self._automaton.find_matches_as_indexes(self._normalize(text))
        return self._keys[found[0][0]] if found else None
