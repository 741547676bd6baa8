"""One Aho-Corasick automaton over every normalised dictionary term, allow-list entry and frame.

Scanning is one automaton pass over normalised text, then three filters on the term matches:
an allow-list entry that covers the match cancels it (路口交通 ⊃ 口交), a prohibition frame
shortly before it in the same clause suppresses it (严禁发布赌博), and an ASCII term must not
sit inside a longer ASCII word (sb in usb). Grouped terms then fire only through an `@near`
requirement of their rule.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from streams.dictionary import BUILTIN_GROUPS, DIRECT, Lexicon, Requirement
from streams.normalize import Normalized, Normalizer

# A frame before a hit reaches to the end of its clause; a frame after a hit reaches back to the
# start of its sentence, because such frames usually follow a comma (色情内容，一经发现…).
CLAUSE_BREAKS = frozenset("。！？!?；;，,\n\r")
SENTENCE_BREAKS = frozenset("。！？!?；;\n\r")
_TERM, _ALLOW, _FRAME, _FRAME_AFTER = "term", "allow", "frame", "frame_after"


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired on one text field: its evidence terms and the original span to quote."""

    rule: str
    terms: tuple[str, ...]
    start: int
    end: int

    @classmethod
    def from_spans(cls, rule: str, found: list[tuple[str, int, int]]) -> Hit | None:
        """One hit from (label, start, end) spans: every label as a term, quoting the first span."""
        if not found:
            return None
        found = sorted(found, key=lambda f: f[1])
        return cls(rule, tuple(dict.fromkeys(label for label, _, _ in found)), found[0][1], found[0][2])


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str
    rule: str = ""
    group: str = DIRECT
    term: str = ""


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    entry: _Entry


class Matcher:
    def __init__(self, lexicon: Lexicon, normalizer: Normalizer, frame_window: int = 20) -> None:
        self.normalizer = normalizer
        self.frame_window = frame_window
        self.requirements: dict[str, list[Requirement]] = defaultdict(list)
        for req in lexicon.requirements:
            self.requirements[req.rule].append(req)
        self.builtins = {
            name: re.compile(pattern)
            for name, pattern in BUILTIN_GROUPS.items()
            if any(name in req.groups for req in lexicon.requirements)
        }
        entries: dict[str, list[_Entry]] = defaultdict(list)
        for term in lexicon.terms:
            entries[normalizer(term.text)].append(_Entry(_TERM, term.rule, term.group, term.text))
        for text in lexicon.allow:
            entries[normalizer(text)].append(_Entry(_ALLOW))
        for text in lexicon.frames:
            entries[normalizer(text)].append(_Entry(_FRAME))
        for text in lexicon.frames_after:
            entries[normalizer(text)].append(_Entry(_FRAME_AFTER))
        self.automaton = ahocorasick.Automaton()
        for key, values in entries.items():
            self.automaton.add_word(key, (len(key), tuple(dict.fromkeys(values))))
        self.automaton.make_automaton()

    def scan(self, original: str) -> list[Hit]:
        norm = self.normalizer.normalize(original)
        if not norm.text:
            return []
        matches = list(self._matches(norm.text))
        allows = [(m.start, m.end) for m in matches if m.entry.kind == _ALLOW]
        frames = [m for m in matches if m.entry.kind in (_FRAME, _FRAME_AFTER)]
        kept: dict[str, list[_Match]] = defaultdict(list)
        for m in matches:
            if m.entry.kind != _TERM:
                continue
            if any(s <= m.start and m.end <= e for s, e in allows):
                continue
            if not _ascii_bounded(norm, original, m) or self._framed(norm, original, frames, m):
                continue
            kept[m.entry.rule].append(m)
        builtins = self._builtins(norm.text, kept)
        hits = []
        for rule, found in kept.items():
            chosen = [m for m in found if m.entry.group == DIRECT]
            for req in self.requirements.get(rule, ()):
                chosen.extend(_near(found + builtins, req))
            if chosen:
                hits.append(_hit(rule, chosen, norm))
        return hits

    def _matches(self, text: str) -> Iterable[_Match]:
        for end, (length, entries) in self.automaton.iter(text):
            for entry in entries:
                yield _Match(end + 1 - length, end + 1, entry)

    def _builtins(self, text: str, kept: dict[str, list[_Match]]) -> list[_Match]:
        """Built-in group matches, computed only when some grouped term matched at all."""
        if not self.builtins or not any(m.entry.group != DIRECT for ms in kept.values() for m in ms):
            return []
        return [
            _Match(found.start(), found.end(), _Entry(_TERM, group=name, term=name))
            for name, pattern in self.builtins.items()
            for found in pattern.finditer(text)
        ]

    def _framed(self, norm: Normalized, original: str, frames: list[_Match], m: _Match) -> bool:
        for frame in frames:
            if frame.entry.kind == _FRAME:
                first, second, breaks = frame, m, CLAUSE_BREAKS
            else:
                first, second, breaks = m, frame, SENTENCE_BREAKS
            if first.end <= second.start and second.start - first.end <= self.frame_window:
                between = original[norm.offsets[first.end - 1] + 1 : norm.offsets[second.start]]
                if not breaks.intersection(between):
                    return True
        return False


def _near(found: list[_Match], req: Requirement) -> list[_Match]:
    """Matches of `req.groups` such that, around some anchor of the first group, every group occurs."""
    by_group: dict[str, list[_Match]] = defaultdict(list)
    for m in found:
        by_group[m.entry.group].append(m)
    for anchor in by_group.get(req.groups[0], ()):
        picked = [anchor]
        for group in req.groups[1:]:
            close = [m for m in by_group.get(group, ()) if _gap(anchor, m) <= req.within]
            if not close:
                break
            picked.append(min(close, key=lambda m: _gap(anchor, m)))
        else:
            return picked
    return []


def _gap(a: _Match, b: _Match) -> int:
    return max(0, max(a.start, b.start) - min(a.end, b.end))


def _ascii_bounded(norm: Normalized, original: str, m: _Match) -> bool:
    """An all-ASCII term must not continue an ASCII word in the original text (sb in usb)."""
    if not m.entry.term.isascii():
        return True
    start, end = norm.span(m.start, m.end)
    return not (
        (start > 0 and _ascii_alnum(original[start - 1]))
        or (end < len(original) and _ascii_alnum(original[end]))
    )


def _ascii_alnum(ch: str) -> bool:
    if "\uff01" <= ch <= "\uff5e":  # full-width ASCII
        ch = chr(ord(ch) - 0xFEE0)
    return ch.isascii() and ch.isalnum()


def _hit(rule: str, chosen: list[_Match], norm: Normalized) -> Hit:
    chosen.sort(key=lambda m: m.start)
    start = min(m.start for m in chosen)
    end = max(m.end for m in chosen)
    span = norm.span(start, end)
    terms = tuple(dict.fromkeys(m.entry.term for m in chosen if m.entry.term not in BUILTIN_GROUPS))
    return Hit(rule, terms, span[0], span[1])
