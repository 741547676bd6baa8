"""The content detector (SPEC §4 `content.*`): one engine for every content rule.

Per message: the text and the attachment name go through the dictionary engine (normalisation,
one automaton pass, context decisions), the text and the attachment URL through the link checks,
the attachment name through the executable check, and the text and name through the
number/marking checks. Cheap pre-filters keep the common clean message on a C-level path.
Hits merge to at most one finding per rule; the excerpt quotes the first field that fired,
masked (streams.content.excerpt).

The learned model (streams.content.verdict, `[content.model]`) scores the message text too: a rule
whose calibrated score reaches the policy's threshold fires, unless prohibition frames or the
allow-list veto it; a dictionary hit and a model hit of one rule are one finding, whose evidence
carries the model's name, version and score whenever the model reached the threshold.

Reviewers' allow entries (streams.core.allow, issue 15) are read through an optional `AllowEntries`:
a finding an entry covers in its group (or company-wide) is dropped, the model's included.

Everything compiled from the dictionaries and the model sits behind one reference (`_Compiled`):
`reload()` builds a new one off to the side and swaps it in, so a bad file keeps the old one. At
start-up a missing or corrupt model file is a PolicyError naming the file (no silent fallback).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.content import identifiers
from streams.content.classifier import TextClassifier
from streams.content.combine import deferred, merged, unconfirmed
from streams.content.context import ALL, OFF, SPLIT_MODES
from streams.content.context import Context as Decider
from streams.content.dictionary import DictionaryError, fingerprint, load_lexicon
from streams.content.excerpt import excerpt
from streams.content.identifiers import NumberChecker, NumberPolicy
from streams.content.link_judge import LinkModel
from streams.content.links import RULE as LINK_RULE
from streams.content.links import LinkChecker, LinkPolicy
from streams.content.matcher import CompiledLexicon, Hit, Match, ModelHit
from streams.content.normalize import BREAK, Normalized, Normalizer
from streams.content.reading import MODEL_OPTIONS, clause_view, model_view
from streams.content.section import (
    dictionaries,
    dictionary_folder,
    normalize_options,
    pinyin_options,
    target_words,
)
from streams.content.targets import TargetWords
from streams.content.verdict import ModelJudge, ModelSettings, vetoed_regions
from streams.core.allow import AllowEntries, AllowEntry, allowing
from streams.core.detector import Context, Detector, Finding, Reloadable
from streams.core.policy import Policy, PolicyError
from topics.events import Event, MessageEvent

log = logging.getLogger(__name__)
_LATIN_OR_DIGIT = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_MARKS = ("★", "☆")
_STRUCTURAL = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a★☆]")


@dataclass(slots=True)  # per message: not frozen (see matcher.Hit)
class FieldHit:
    hit: Hit
    field: str  # text | attachment.name | attachment.url
    text: str  # the field the hit's span refers to


@dataclass(frozen=True, slots=True)
class _Compiled:
    lexicon: CompiledLexicon
    decider: Decider
    fingerprint: str
    judge: ModelJudge | None = None
    links: LinkModel | None = None  # the link judge, when the model has one and a threshold for it


class ContentDetector(Detector, Reloadable):
    partition = "group"  # stateless; runs where the message arrives

    def __init__(self, policy: Policy, allow: AllowEntries | None = None) -> None:
        self.allow = allow  # reviewers' allow entries; None: none are consulted
        section = policy.section("content")
        options = normalize_options(section)
        try:
            self.pinyin = pinyin_options(section.get("pinyin", {}))
        except ValueError as exc:
            raise PolicyError(str(exc)) from None
        self.normalizer = Normalizer(options, precompute=True)
        # Normalised alike, the dictionaries' view is the model's without its clause breaks: one pass.
        self._shares_view = options == MODEL_OPTIONS
        self.folder = dictionaries(policy)
        self.allow_file = str(section.get("allow_list", "allow.txt"))
        self.frames_file = str(section.get("prohibition_frames", "frames.txt"))
        self.targets_path = target_words(policy)
        self.frame_window = int(section.get("frame_window", 20))
        self.split_words = str(section.get("split_words", ALL))
        self.traditional_is_disguise = bool(section.get("traditional_is_disguise", False))
        if self.split_words not in SPLIT_MODES:
            raise PolicyError(f"[content].split_words: expected one of {', '.join(SPLIT_MODES)}")
        self.known_rules = tuple(rule for rule in policy.rules if rule.startswith("content."))
        self.links = LinkChecker(LinkPolicy.from_section(section))
        self.numbers = NumberChecker(NumberPolicy.from_section(section))
        self.excerpt_chars = int(section.get("excerpt_chars", 60))
        self.skip_msg_types = frozenset(section.get("skip_msg_types", ("system",)))
        self.reload_seconds = float(section.get("reload_seconds", 10))
        self.rules = tuple(sorted(self.known_rules))
        self.model = ModelSettings.from_section(section.get("model", {}))
        self.model_path = dictionary_folder(policy, self.model.path) if self.model.enabled else None
        if self.model_path is not None:
            model_view("")  # build the model's normaliser now, not on a message
        try:
            self._compiled = self._compile()  # a bad dictionary or model at start-up is fatal
        except ValueError as exc:
            if self.model_path is None or isinstance(exc, DictionaryError):
                raise
            raise PolicyError(f"[content.model] path: {exc}") from None

    # -- dictionaries -------------------------------------------------------------------------

    def _compile(self) -> _Compiled:
        stamp = self._fingerprint()
        lexicon = load_lexicon(
            self.folder,
            self.known_rules,
            self.normalizer,
            allow_file=self.allow_file,
            frames_file=self.frames_file,
            targets_file=self.targets_path.name,
        )
        compiled = CompiledLexicon(lexicon, self.normalizer, self.pinyin)
        segmenter = compiled.segmenter if self.split_words != OFF else None
        decider = Decider(
            lexicon.requirements, self.frame_window, self.split_words, segmenter, self.traditional_is_disguise
        )
        judge: ModelJudge | None = None
        links: LinkModel | None = None
        if self.model_path is not None:
            needs = self.model.needs_target
            targets = TargetWords.load(self.targets_path, self.normalizer) if needs else None
            classifier = TextClassifier.load(self.model_path)
            thresholds = dict(self.model.thresholds or {})
            link_threshold = thresholds.pop(LINK_RULE, None)  # the link judge's, not a head's
            judge = ModelJudge(classifier, thresholds, self.frame_window, targets, needs)
            if classifier.links is not None and link_threshold is not None:
                links = LinkModel(classifier.links, link_threshold, judge.model)
        return _Compiled(compiled, decider, stamp, judge, links)

    def _fingerprint(self) -> str:
        stamp = fingerprint(self.folder)
        if self.model_path is None:
            return stamp
        files = (self.model_path, self.model_path.with_suffix(".json"))
        return stamp + "".join(f":{_stat(path)}" for path in files)

    @property
    def lexicon(self) -> CompiledLexicon:
        return self._compiled.lexicon

    @property
    def judge(self) -> ModelJudge | None:
        """The learned model with the policy's thresholds; None when the policy turns it off."""
        return self._compiled.judge

    @property
    def link_model(self) -> LinkModel | None:
        """The model's link judge with its threshold; None when the policy gives it none."""
        return self._compiled.links

    def changed(self) -> bool:
        """True when the dictionary or model files differ from what is in use."""
        return self._fingerprint() != self._compiled.fingerprint

    def reload(self, force: bool = False) -> bool:
        """Rebuild from the files if they changed (or `force`); swap atomically. False = kept old."""
        if not force and not self.changed():
            return False
        try:
            fresh = self._compile()
        except (DictionaryError, OSError, ValueError) as exc:
            log.error("content dictionaries/model not reloaded, keeping the previous ones: %s", exc)
            return False
        self._compiled = fresh  # one reference swap: a scan in flight keeps the old one
        log.info(
            "content dictionaries reloaded: %d terms, %d spellings; model %s",
            fresh.lexicon.term_count,
            fresh.lexicon.spelling_count,
            "@".join(fresh.judge.model) if fresh.judge else "off",
        )
        return True

    # -- scanning -----------------------------------------------------------------------------

    def detect(self, event: Event, key: str, ctx: Context) -> list[Finding]:
        if not isinstance(event, MessageEvent) or event.msg_type in self.skip_msg_types:
            return []
        if event.attachment is None:  # the usual chat message: one field, one hit per rule
            text = event.text
            hits = self.scan_text(text) if text else []
            findings = [self._finding(event, hit.rule, [FieldHit(hit, "text", text)]) for hit in hits]
        else:
            merged: dict[str, list[FieldHit]] = {}
            for field_hit in self.scan(event):
                merged.setdefault(field_hit.hit.rule, []).append(field_hit)
            findings = [self._finding(event, rule, hits) for rule, hits in merged.items()]
        if self.allow is None or not findings:
            return findings
        return [f for f in findings if self.allowed(event.group_id, f.rule, f.evidence) is None]

    def allowed(self, group_id: str, rule: str, evidence: dict[str, Any]) -> AllowEntry | None:
        """The reviewers' allow entry that cancels a finding of `rule` with this evidence (terms,
        excerpt) in `group_id`, or None; `qunguard scan` names it."""
        if self.allow is None:
            return None
        return allowing(self.allow.for_group(group_id), rule, evidence["terms"], evidence["excerpt"])

    def scan(self, event: MessageEvent, trace: list[str] | None = None) -> Iterator[FieldHit]:
        attachment = event.attachment
        name = attachment.name if attachment else ""
        url = attachment.url if attachment else ""
        if event.text:
            for hit in self.scan_text(event.text, trace):
                yield FieldHit(hit, "text", event.text)
        if name:
            found: list[Hit | None] = [*self.scan_words(name, trace), self.links.scan_attachment_name(name)]
            found.append(self.numbers.scan(name))
            yield from (FieldHit(h, "attachment.name", name) for h in found if h is not None)
        if url:
            link = self.links.scan_text(url)
            if link is not None:
                yield FieldHit(link, "attachment.url", url)

    def scan_text(self, text: str, trace: list[str] | None = None) -> list[Hit]:
        """Every content hit in one piece of message text: dictionaries, structure, the model."""
        judge = self._compiled.judge
        clauses = None  # the model's view with clause breaks, when it shares the dictionaries'
        if judge is not None and self._shares_view:
            clauses = clause_view(text)
            view = clauses.replace(BREAK, "") if BREAK in clauses else clauses
        else:
            view = self.normalizer.fast(text)
        hits, looked = self._lexical(text, trace, view)
        scores = None
        if hits and judge is not None and self.model.vetoes_words:
            hits, scores = unconfirmed(hits, text, view, judge.classifier, self.model, trace, clauses)
        if _STRUCTURAL.search(text) is not None:  # a letter, digit or ★: links, numbers, markings
            self._structural(text, hits, looked, trace)
        if judge is not None:
            matches = self._matches if looked is None else lambda _: looked
            scored = judge.hits(text, matches, trace, clauses, scores)
            if hits and self.model.defer_to_lexicon:
                known = scores
                classifier = judge.classifier

                def model_scores() -> dict[str, float]:
                    return known if known is not None else classifier.scores(text, clauses)

                scored = deferred(
                    scored,
                    {h.rule for h in hits},
                    trace,
                    model_scores,
                    self.model.defer_unless_below,
                    self.model.defer_unless_above,
                )
            hits += scored
        return merged(hits) if len(hits) > 1 else hits

    def _structural(
        self,
        text: str,
        hits: list[Hit],
        looked: tuple[Normalized, list[Match]] | None,
        trace: list[str] | None,
    ) -> None:
        if _LATIN_OR_DIGIT.search(text):

            def framed() -> list[tuple[int, int]]:
                norm, found = looked if looked is not None else self._matches(text)
                return vetoed_regions(text, norm, found, self.frame_window)

            link = self.links.scan_text(text, framed, trace, self._compiled.links)
            if link is not None:
                hits.append(link)
            number = self.numbers.scan(text, markings=False)
            if number is not None:
                hits.append(number)
        if any(mark in text for mark in _MARKS):
            marking = self.numbers.scan(text, numbers=False)
            if marking is not None:
                hits.append(marking)

    def _matches(self, text: str) -> tuple[Normalized, list[Match]]:
        """Every dictionary match in `text` with its normalisation (for the model's vetoes)."""
        lexicon = self._compiled.lexicon
        norm = self.normalizer.normalize(text)
        return norm, lexicon.matches(lexicon.find(norm.text))

    def scan_words(self, text: str, trace: list[str] | None = None, view: str | None = None) -> list[Hit]:
        """The dictionary part: fast pre-check, then full normalisation and context decisions.
        `view` is `self.normalizer.fast(text)` when the caller has it."""
        return self._lexical(text, trace, view)[0]

    def _lexical(
        self, text: str, trace: list[str] | None, view: str | None
    ) -> tuple[list[Hit], tuple[Normalized, list[Match]] | None]:
        """`scan_words` and the normalisation and matches it looked at (None when the pre-check
        ended it), which the model's vetoes would otherwise compute again (`_matches`)."""
        compiled = self._compiled
        lexicon = compiled.lexicon
        if view is None:
            view = self.normalizer.fast(text)
        found = lexicon.find(view)
        if trace is None and not lexicon.triggered(found):
            return [], None
        norm = self.normalizer.normalize(text, view)
        if not norm.text:
            return [], None
        if norm.text != view:  # repeats collapsed: search the collapsed text
            found = lexicon.find(norm.text)
        matches = lexicon.matches(found)
        return compiled.decider.decide(text, norm, matches, trace), (norm, matches)

    def _finding(self, event: MessageEvent, rule: str, hits: list[FieldHit]) -> Finding:
        first = hits[0]
        if len(hits) == 1:  # the usual finding: one field
            terms = list(first.hit.terms)
            scored = first.hit if isinstance(first.hit, ModelHit) else None
        else:
            terms = list(dict.fromkeys(term for h in hits for term in h.hit.terms))
            scored = next((h.hit for h in hits if isinstance(h.hit, ModelHit)), None)
        quote = excerpt(
            first.text,
            first.hit.start,
            first.hit.end,
            self.excerpt_chars,
            mask_all=rule == identifiers.RULE,
        )
        evidence: dict[str, Any] = {"terms": terms, "excerpt": quote}
        if scored is not None:
            evidence.update(scored.evidence())
        return Finding.of_message(rule, event, evidence)


def model_words(policy: Policy) -> Callable[[str], list[tuple[str, tuple[tuple[str, ...], ...]]]]:
    """The dictionaries' hits on a text as (rule, units: matcher.Hit.units), as the policy's detector
    finds them (the model off): what training counts to find the ambiguous terms
    (streams.content.training)."""
    words = ContentDetector(replace_model(policy, enabled=False))
    return lambda text: [(hit.rule, hit.units()) for hit in words.scan_words(text)]


def replace_model(policy: Policy, **model: Any) -> Policy:
    """`policy` with `[content.model]` keys replaced."""
    content = dict(policy.section("content"))
    content["model"] = {**content.get("model", {}), **model}
    return dataclasses.replace(policy, sections={**policy.sections, "content": content})


def model_gates(policy: Policy) -> dict[str, Callable[[str], str | None]]:
    """The model heads the policy lets fire only where a group of people is named (`[content.model]
    needs_target`), each with that check: training chooses their thresholds as the detector runs them."""
    section = policy.section("content")
    needs = ModelSettings.from_section(section.get("model", {})).needs_target
    if not needs:
        return {}
    targets = TargetWords.load(target_words(policy), Normalizer(normalize_options(section)))
    return dict.fromkeys(needs, targets.named)


def _stat(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return f"{st.st_size}-{st.st_mtime_ns}"
