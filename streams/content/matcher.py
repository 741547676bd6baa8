"""One Rust Aho-Corasick automaton (ahocorasick-rs) over every normalised dictionary spelling.

The automaton holds each term, the pinyin/homophone spellings of the terms tagged evasion-prone
(streams.content.pinyin), the allow-list, the prohibition frames, and probes of three repeated term
characters. A message is searched once (`find`) in its normalised view without offsets;
`triggered` says whether a term or a probe showed up, and only then are the offset map and the
context rules (streams.content.context) computed, reusing the same matches when no repeats collapse.
The word segmenter that knows the literal terms (streams.content.segment) is built with it, on first
use. A compiled lexicon is immutable, so a reload builds a new one and swaps one reference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick_rs

from streams.content.dictionary import DIRECT, Lexicon
from streams.content.normalize import REPEAT_RUN, Normalizer
from streams.content.pinyin import PinyinOptions, homophones
from streams.content.segment import Segmenter

TERM, ALLOW, FRAME, FRAME_AFTER, MENTION, PROBE = "term", "allow", "frame", "frame_after", "mention", "probe"
LITERAL, PINYIN = "literal", "pinyin"
# Measured on 50k+ CJK patterns: the contiguous NFA scans faster than the default choice and the
# DFA (whose tables for this many patterns no longer fit the cache) and builds in a third of a second.
_IMPLEMENTATION = ahocorasick_rs.Implementation.ContiguousNFA
# The automaton runs over UTF-16 code units, not the str API's UTF-8: a CJK character is two
# bytes instead of three (a third fewer automaton steps, ~35% fewer instructions per message),
# encoding a str to UTF-16 is a copy, and byte offsets halve into character offsets instead of
# being converted per call. A match at an odd byte offset straddles two characters: dropped.
_UNITS = "utf-16-le"


# Per-message records are not frozen: a frozen dataclass sets each field through
# object.__setattr__, five times the cost of a plain one (0.66 against 0.13 µs for a Match).
@dataclass(slots=True)
class Hit:
    """A rule that fired on one text field: its evidence terms and the original span to quote."""

    rule: str
    terms: tuple[str, ...]
    start: int
    end: int
    why: tuple[str, ...] = ()  # how it fired, for `qunguard scan`
    disguised: bool = False  # some term was written as an evasion (context._disguised: du博, 赌.博)
    # The `@near` pairings that fired: per requirement met, the sorted terms of its matches, a
    # built-in group by its name (工资 + %amount). Those terms do not fire alone.
    pairings: tuple[tuple[str, ...], ...] = ()

    def units(self) -> tuple[tuple[str, ...], ...]:
        """What the hit is made of, as the labelled data is counted (evidence.term_evidence):
        each term that fires alone, and each `@near` pairing as a whole."""
        paired = {term for pairing in self.pairings for term in pairing}
        return (*((term,) for term in self.terms if term not in paired), *self.pairings)

    @classmethod
    def from_spans(cls, rule: str, found: list[tuple[str, int, int]]) -> Hit | None:
        """One hit from (label, start, end) spans: every label as a term, quoting the first span."""
        if not found:
            return None
        found = sorted(found, key=lambda f: f[1])
        labels = tuple(dict.fromkeys(label for label, _, _ in found))
        return cls(rule, labels, found[0][1], found[0][2], tuple(f"structural: {x}" for x in labels))


@dataclass(slots=True)  # per message: not frozen (see Hit)
class ModelHit(Hit):
    """A hit the model decided or contributed to."""

    score: float = 0.0
    model: tuple[str, str] = ("", "")  # name, version
    head: str = ""  # the model output that fired (streams.content.classifier)

    def evidence(self) -> dict[str, Any]:
        model = {"name": self.model[0], "version": self.model[1], "head": self.head or self.rule}
        return {"model": model, "score": round(self.score, 3)}


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    rule: str = ""
    group: str = DIRECT
    term: str = ""  # as written in the dictionary
    spelling: str = LITERAL  # or PINYIN: a pinyin/homophone spelling of `term`
    tags: tuple[str, ...] = ()


@dataclass(slots=True)  # per message: not frozen (see Hit)
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
            (MENTION, lexicon.mention_frames),
        ):
            for text in texts:
                entries[normalizer(text)].append(Entry(kind, term=text))
        # Term and probe patterns first: an index below `triggers` means "worth a closer look".
        self.keys = [k for k in entries if any(e.kind in (TERM, PROBE) for e in entries[k])]
        self.triggers = len(self.keys)
        trigger_set = set(self.keys)
        self.keys += [k for k in entries if k not in trigger_set]
        self.entries = [tuple(dict.fromkeys(entries[k])) for k in self.keys]
        self.automaton = ahocorasick_rs.BytesAhoCorasick(
            [_encode(key) for key in self.keys], implementation=_IMPLEMENTATION
        )
        self._trigger_bits, self._requirement_masks = _triggers(self.entries[: self.triggers], lexicon)
        self.term_count = len(lexicon.terms)
        self.spelling_count = sum(1 for es in self.entries for e in es if e.kind == TERM)
        self._segmenter: Segmenter | None = None
        self._literal_keys = tuple(
            key
            for key, found in zip(self.keys, self.entries, strict=True)
            if any(e.spelling == LITERAL and e.kind == TERM for e in found)
        )

    @property
    def segmenter(self) -> Segmenter:
        """jieba's dictionary plus every literal term, for the word-alignment check (built on first use)."""
        if self._segmenter is None:
            self._segmenter = Segmenter(self._literal_keys)
        return self._segmenter

    def find(self, view: str) -> list[tuple[int, int, int]]:
        """Every (pattern index, start, end) in `view`, overlapping, in character offsets."""
        data = _encode(view)
        found = self.automaton.find_matches_as_indexes(data, True)
        if not found:
            return found
        if len(data) == 2 * len(view):  # no astral characters: one code unit per character
            return [(index, start >> 1, end >> 1) for index, start, end in found if not start & 1]
        char_at = _char_of_unit(view)
        return [
            (index, char_at[start >> 1], char_at[(end >> 1) - 1] + 1)
            for index, start, end in found
            if not start & 1
        ]

    def triggered(self, found: list[tuple[int, int, int]]) -> bool:
        """True when `found` holds a direct term spelling, a repeated term character, or grouped
        terms of every declared group of some `@near` (distances not yet checked)."""
        triggers, bits, seen = self.triggers, self._trigger_bits, 0
        for index, _, _ in found:
            if index < triggers:
                if bits[index] < 0:
                    return True
                seen |= bits[index]
        return bool(seen) and any(seen & mask == mask for mask in self._requirement_masks)

    def might_hit(self, text: str) -> bool:
        """The fast pre-check on raw text: is the full path worth running?"""
        return self.triggered(self.find(self.normalizer.fast(text)))

    def matches(self, found: list[tuple[int, int, int]]) -> list[Match]:
        """The non-probe entries of `find` results, as matches."""
        out = []
        entries = self.entries
        for index, start, end in found:
            for entry in entries[index]:
                if entry.kind != PROBE:
                    out.append(Match(start, end, entry))
        return out


def _encode(text: str) -> bytes:
    return text.encode(_UNITS, "surrogatepass")


def _char_of_unit(text: str) -> list[int]:
    """The character index of each UTF-16 code unit of `text` (an astral character takes two)."""
    out = []
    for index, ch in enumerate(text):
        out.append(index)
        if ch > "\uffff":
            out.append(index)
    return out


def _triggers(entries: list[tuple[Entry, ...]], lexicon: Lexicon) -> tuple[list[int], list[int]]:
    """Per trigger pattern: -1 when it can fire alone, else a bitmask of the (rule, group) pairs it
    belongs to; per `@near` requirement: the mask of its declared (not built-in) groups."""
    bit_of: dict[tuple[str, str], int] = {}
    masks = []
    for req in lexicon.requirements:
        mask = 0
        for group in req.groups:
            if not group.startswith("%"):
                mask |= 1 << bit_of.setdefault((req.rule, group), len(bit_of))
        masks.append(mask)
    bits = []
    for found in entries:
        value = 0
        for entry in found:
            if entry.kind == PROBE or entry.group == DIRECT:
                value = -1
                break
            value |= 1 << bit_of[(entry.rule, entry.group)] if (entry.rule, entry.group) in bit_of else 0
        bits.append(value)
    return bits, sorted(set(masks))


def _has_latin(spelled: str) -> bool:
    return any("a" <= ch <= "z" for ch in spelled)


def terms_of(matches: Iterable[Match]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.entry.term for m in matches if not m.entry.term.startswith("%")))
