"""The content detector (SPEC §4 `content.*`): one engine for every content rule.

Per message: the text and the attachment name go through the dictionary engine (normalisation,
one automaton pass, context decisions), the text and the attachment URL through the link checks,
the attachment name through the executable check, and the text and name through the
number/marking checks. Cheap pre-filters keep the common clean message on a C-level path.
Hits merge to at most one finding per rule; the excerpt quotes the first field that fired,
masked (streams.content.excerpt).

Everything compiled from the dictionaries sits behind one reference (`_Compiled`): `reload()`
builds a new one off to the side and swaps it in, so a bad file keeps the old automaton.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from config import CONFIG_DIR
from streams.content import identifiers
from streams.content.context import OFF, SPELLINGS, SPLIT_MODES
from streams.content.context import Context as Decider
from streams.content.dictionary import EVASION, DictionaryError, fingerprint, load_lexicon
from streams.content.excerpt import excerpt
from streams.content.identifiers import NumberChecker, NumberPolicy
from streams.content.links import LinkChecker, LinkPolicy
from streams.content.matcher import CompiledLexicon, Hit
from streams.content.normalize import NormalizeOptions, Normalizer
from streams.content.pinyin import PinyinOptions
from streams.content.words import common_words
from streams.core.detector import Context, Detector, Finding, Reloadable
from streams.core.policy import Policy, PolicyError
from topics.events import Event, MessageEvent

log = logging.getLogger(__name__)
_LATIN_OR_DIGIT = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_MARKS = ("★", "☆")
_STRUCTURAL = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a★☆]")


@dataclass(frozen=True, slots=True)
class FieldHit:
    hit: Hit
    field: str  # text | attachment.name | attachment.url
    text: str  # the field the hit's span refers to


@dataclass(frozen=True, slots=True)
class _Compiled:
    lexicon: CompiledLexicon
    decider: Decider
    fingerprint: str


class ContentDetector(Detector, Reloadable):
    partition = "group"  # stateless; runs where the message arrives

    def __init__(self, policy: Policy) -> None:
        section = policy.section("content")
        try:
            options = NormalizeOptions.from_mapping(section.get("normalize", {}))
            self.pinyin = _pinyin_options(section.get("pinyin", {}))
        except ValueError as exc:
            raise PolicyError(str(exc)) from None
        self.normalizer = Normalizer(options, precompute=True)
        self.folder = _dictionary_folder(policy, str(section.get("dictionaries", "dictionaries")))
        self.allow_file = str(section.get("allow_list", "allow.txt"))
        self.frames_file = str(section.get("prohibition_frames", "frames.txt"))
        self.frame_window = int(section.get("frame_window", 20))
        self.split_words = str(section.get("split_words", SPELLINGS))
        if self.split_words not in SPLIT_MODES:
            raise PolicyError(f"[content].split_words: expected one of {', '.join(SPLIT_MODES)}")
        self.split_frequency = int(section.get("split_word_min_frequency", 100))
        self.known_rules = tuple(rule for rule in policy.rules if rule.startswith("content."))
        self.links = LinkChecker(LinkPolicy.from_section(section))
        self.numbers = NumberChecker(NumberPolicy.from_section(section))
        self.excerpt_chars = int(section.get("excerpt_chars", 60))
        self.skip_msg_types = frozenset(section.get("skip_msg_types", ("system",)))
        self.reload_seconds = float(section.get("reload_seconds", 10))
        self.rules = tuple(sorted(self.known_rules))
        self._compiled = self._compile()  # a bad dictionary at start-up is fatal

    # -- dictionaries -------------------------------------------------------------------------

    def _compile(self) -> _Compiled:
        stamp = fingerprint(self.folder)
        lexicon = load_lexicon(
            self.folder,
            self.known_rules,
            self.normalizer,
            allow_file=self.allow_file,
            frames_file=self.frames_file,
        )
        compiled = CompiledLexicon(lexicon, self.normalizer, self.pinyin)
        words = common_words(self.split_frequency, 2) if self.split_words != OFF else frozenset()
        decider = Decider(lexicon.requirements, self.frame_window, self.split_words, words)
        return _Compiled(compiled, decider, stamp)

    @property
    def lexicon(self) -> CompiledLexicon:
        return self._compiled.lexicon

    def changed(self) -> bool:
        """True when the dictionary files differ from what the live automaton was built from."""
        return fingerprint(self.folder) != self._compiled.fingerprint

    def reload(self, force: bool = False) -> bool:
        """Rebuild from the files if they changed (or `force`); swap atomically. False = kept old."""
        if not force and not self.changed():
            return False
        try:
            fresh = self._compile()
        except (DictionaryError, OSError, ValueError) as exc:
            log.error("content dictionaries not reloaded, keeping the previous ones: %s", exc)
            return False
        self._compiled = fresh  # one reference swap: a scan in flight keeps the old one
        log.info(
            "content dictionaries reloaded: %d terms, %d spellings",
            fresh.lexicon.term_count,
            fresh.lexicon.spelling_count,
        )
        return True

    # -- scanning -----------------------------------------------------------------------------

    def detect(self, event: Event, key: str, ctx: Context) -> list[Finding]:
        if not isinstance(event, MessageEvent) or event.msg_type in self.skip_msg_types:
            return []
        if event.attachment is None:  # the usual chat message: one field, one hit per rule
            text = event.text
            hits = self.scan_text(text) if text else []
            return [self._finding(event, hit.rule, [FieldHit(hit, "text", text)]) for hit in hits]
        merged: dict[str, list[FieldHit]] = {}
        for field_hit in self.scan(event):
            merged.setdefault(field_hit.hit.rule, []).append(field_hit)
        return [self._finding(event, rule, hits) for rule, hits in merged.items()]

    def scan(self, event: MessageEvent, trace: list[str] | None = None) -> Iterator[FieldHit]:
        attachment = event.attachment
        name = attachment.name if attachment else ""
        url = attachment.url if attachment else ""
        if event.text:
            for hit in self.scan_text(event.text, trace):
                yield FieldHit(hit, "text", event.text)
        if name:
            found = [*self.scan_words(name, trace), self.links.scan_attachment_name(name)]
            found.append(self.numbers.scan(name))
            yield from (FieldHit(h, "attachment.name", name) for h in found if h is not None)
        if url:
            hit = self.links.scan_text(url)
            if hit is not None:
                yield FieldHit(hit, "attachment.url", url)

    def scan_text(self, text: str, trace: list[str] | None = None) -> list[Hit]:
        """Every content hit in one piece of message text."""
        hits = self.scan_words(text, trace)
        if _STRUCTURAL.search(text) is None:  # no letter, digit or ★: no link, number or marking
            return _merge(hits) if len(hits) > 1 else hits
        if _LATIN_OR_DIGIT.search(text):
            link = self.links.scan_text(text)
            if link is not None:
                hits.append(link)
            number = self.numbers.scan(text, markings=False)
            if number is not None:
                hits.append(number)
        if any(mark in text for mark in _MARKS):
            marking = self.numbers.scan(text, numbers=False)
            if marking is not None:
                hits.append(marking)
        return _merge(hits)

    def scan_words(self, text: str, trace: list[str] | None = None) -> list[Hit]:
        """The dictionary part: fast pre-check, then full normalisation and context decisions."""
        compiled = self._compiled
        lexicon = compiled.lexicon
        view = self.normalizer.fast(text)
        found = lexicon.find(view)
        if trace is None and not lexicon.triggered(found):
            return []
        norm = self.normalizer.normalize(text, view)
        if not norm.text:
            return []
        if norm.text != view:  # repeats collapsed: search the collapsed text
            found = lexicon.find(norm.text)
        return compiled.decider.decide(text, norm, lexicon.matches(found), trace)

    def _finding(self, event: MessageEvent, rule: str, hits: list[FieldHit]) -> Finding:
        first = hits[0]
        terms = list(dict.fromkeys(term for h in hits for term in h.hit.terms))
        quote = excerpt(
            first.text,
            first.hit.start,
            first.hit.end,
            self.excerpt_chars,
            mask_all=rule == identifiers.RULE,
        )
        return Finding.of_message(rule, event, {"terms": terms, "excerpt": quote})


def _merge(hits: list[Hit]) -> list[Hit]:
    """One hit per rule per field (a structural and a dictionary hit of one rule combine)."""
    by_rule: dict[str, Hit] = {}
    for hit in hits:
        seen = by_rule.get(hit.rule)
        if seen is None:
            by_rule[hit.rule] = hit
        else:
            terms = tuple(dict.fromkeys((*seen.terms, *hit.terms)))
            by_rule[hit.rule] = Hit(hit.rule, terms, seen.start, seen.end, (*seen.why, *hit.why))
    return list(by_rule.values())


def _pinyin_options(data: dict) -> PinyinOptions:
    unknown = set(data) - {"enabled", "tag", "homophones", "fuzzy"}
    if unknown:
        raise ValueError(f"[content.pinyin]: unknown option(s) {', '.join(sorted(unknown))}")
    fuzzy = []
    for pair in data.get("fuzzy", ["zh=z", "ch=c", "sh=s"]):
        long, sep, short = str(pair).partition("=")
        if not sep or not long or not short:
            raise ValueError(f"[content.pinyin].fuzzy: expected 'zh=z'-style pairs, got {pair!r}")
        fuzzy.append((long.strip(), short.strip()))
    return PinyinOptions(
        enabled=bool(data.get("enabled", True)),
        tag=str(data.get("tag", EVASION)),
        homophones=bool(data.get("homophones", True)),
        fuzzy=tuple(fuzzy),
    )


def _dictionary_folder(policy: Policy, name: str) -> Path:
    """The folder next to the policy file; the packaged default when an operator's copy has none."""
    folder = policy.path(name)
    if not folder.is_dir() and not Path(name).is_absolute():
        return CONFIG_DIR / name
    return folder
