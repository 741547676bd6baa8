"""One Rust Aho-Corasick automaton (ahocorasick-rs) over every normalised dictionary spelling.

The automaton holds each term, the pinyin/homophone spellings of the terms tagged evasion-prone
(streams.pinyin), the allow-list, the prohibition frames, and probes of three repeated term
characters. A message first goes through `might_hit`: one `str.translate` and one automaton pass
over the text without offsets; only when a term or a probe shows up is the full normalisation
with the offset map built and the context rules (streams.context) applied. A compiled lexicon
is immutable, so a reload builds a new one and swaps one reference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick_rs

from streams.dictionary import DIRECT, Lexicon
from streams.normalize import REPEAT_RUN, Normalized, Normalizer
from streams.pinyin import PinyinOptions, homophones

TERM, ALLOW, FRAME, FRAME_AFTER, PROBE = "term", "allow", "frame", "frame_after", "probe"
LITERAL, PINYIN = "literal", "pinyin"


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired on one text field: its evidence terms and the original span to quote."""

    rule: str
    terms: tuple[str, ...]
    start: int
    end: int
    why: tuple[str, ...] = ()  # how it fired, for `qunguard scan`

    @classmethod
    def from_spans(cls, rule: str, found: list[tuple[str, int, int]]) -> Hit | None:
        """One hit from (label, start, end) spans: every label as a term, quoting the first span."""
        if not found:
            return None
        found = sorted(found, key=lambda f: f[1])
        labels = tuple(dict.fromkeys(label for label, _, _ in found))
        return cls(rule, labels, found[0][1], found[0][2], tuple(f"structural: {x}" for x in labels))


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    rule: str = ""
    group: str = DIRECT
    term: str = ""  # as written in the dictionary
    spelling: str = LITERAL  # or PINYIN: a pinyin/homophone spelling of `term`
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    start: int
    end: int
    entry: Entry


class CompiledLexicon:
    """The automaton and its entries, built from a Lexicon; never mutated after construction."""

    def __init__(self, lexicon: Lexicon, normalizer: Normalizer, pinyin: PinyinOptions) -> None:
        self.lexicon = lexicon
        self.normalizer = normalizer
        entries: dict[str, list[Entry]] = defaultdict(list)
        sounds = homophones(pinyin.fuzzy) if pinyin.enabled else None
        for term in lexicon.terms:
            key = normalizer(term.text)
            entries[key].append(Entry(TERM, term.rule, term.group, term.text, LITERAL, term.tags))
            if sounds is not None and pinyin.tag in term.tags:
                spellings = sounds.variants(key)
                if term.group != DIRECT or not pinyin.homophones:
                    spellings = {s for s in spellings if _has_latin(s)}  # pinyin only
                for spelled in spellings:
                    entries[spelled].append(Entry(TERM, term.rule, term.group, term.text, PINYIN, term.tags))
        trigger_keys = list(entries)
        probe_chars = {ch for key in trigger_keys if len(key) > 1 for ch in key}
        for ch in sorted(probe_chars):
            entries[ch * REPEAT_RUN].append(Entry(PROBE))
        for kind, texts in (
            (ALLOW, lexicon.allow),
            (FRAME, lexicon.frames),
            (FRAME_AFTER, lexicon.frames_after),
        ):
            for text in texts:
                entries[normalizer(text)].append(Entry(kind, term=text))
        # Term and probe patterns first: an index below `triggers` means "worth a closer look".
        self.keys = [k for k in entries if any(e.kind in (TERM, PROBE) for e in entries[k])]
        self.triggers = len(self.keys)
        trigger_set = set(self.keys)
        self.keys += [k for k in entries if k not in trigger_set]
        self.entries = [tuple(dict.fromkeys(entries[k])) for k in self.keys]
        self.automaton = ahocorasick_rs.AhoCorasick(self.keys)
        self.term_count = len(lexicon.terms)
        self.spelling_count = sum(1 for es in self.entries for e in es if e.kind == TERM)

    def might_hit(self, text: str) -> bool:
        """True when the text holds some term spelling or repeated term character (fast path)."""
        fast = self.normalizer.fast(text)
        triggers = self.triggers
        return any(index < triggers for index, _, _ in self.automaton.find_matches_as_indexes(fast, True))

    def matches(self, norm: Normalized) -> list[Match]:
        found = []
        for index, start, end in self.automaton.find_matches_as_indexes(norm.text, True):
            for entry in self.entries[index]:
                if entry.kind != PROBE:
                    found.append(Match(start, end, entry))
        return found


def _has_latin(spelled: str) -> bool:
    return any("a" <= ch <= "z" for ch in spelled)


def terms_of(matches: Iterable[Match]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.entry.term for m in matches if not m.entry.term.startswith("%")))
