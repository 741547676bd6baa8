"""Context decisions on dictionary matches: allow-list, word alignment, prohibition frames, co-occurrence.

In order, for each term match on the normalised text:
1. an allow-list entry that covers it cancels it (a reviewer's or policy author's exception);
2. a Latin edge must not continue a Latin word in the original (sb in usb, se情 in rose情);
3. the match must line up with the word segmentation of the text (streams.content.segment:
   路口|交通 ⊃ 口交, 宝鸡|巴士 ⊃ 鸡巴, 大|麻烦 ⊃ 大麻 are not words), for every match or, as the
   policy says, only pinyin/homophone spellings; a spelling must not run across punctuation of the
   original either (a name with a middle dot, a rating and a comma);
4. a prohibition frame shortly before it in the same clause (严禁发布赌博), or an after-frame
   shortly after it in the same sentence (赌博一经发现…), suppresses it;
5. inside a 《…》 title that holds more than the match, it names a work (《东方快车杀人案》, a novel), not
   the thing: a mention, which the model still judges. A title that is the term alone (a banned
   book named by its title) still fires.
Surviving direct terms fire their rule; grouped terms fire only through an `@near` requirement
(term A within N characters of term B: hearsay + company event, target + disparagement, offer +
contact or price). Every decision is written to `trace` when one is given (`qunguard scan`).
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable

from streams.content.addresses import holds_address
from streams.content.dictionary import BUILTIN_GROUPS, DIRECT, Requirement
from streams.content.matcher import (
    ALLOW,
    FRAME,
    FRAME_AFTER,
    MENTION,
    PINYIN,
    TERM,
    Entry,
    Hit,
    Match,
    terms_of,
)
from streams.content.normalize import NUMERALS, Normalized, NormalizeOptions, Normalizer
from streams.content.segment import MessageWords, Segmenter

# A frame before a hit reaches to the end of its clause; a frame after a hit reaches back to the
# start of its sentence, because such frames usually follow a comma (色情内容，一经发现…).
CLAUSE_BREAKS = frozenset("。！？!?；;，,\n\r")
SENTENCE_BREAKS = frozenset("。！？!?；;\n\r")
_BUILTINS = {name: re.compile(pattern) for name, pattern in BUILTIN_GROUPS.items()}
_NUMERAL_VIEW = frozenset({"%phone"})  # read 一三九… as digits
_INSIDE_NOT_AMOUNT = frozenset(":：/／-－")  # inside a figure of the original: a time, date or range
_AFTER_NOT_AMOUNT = frozenset("%％‰")  # after it: a ratio
_DIGIT = re.compile(r"\d")
# Eleven digits in a row, numerals counted: the least a %phone match needs.
_NUMERAL_RUN = re.compile(rf"[\d{''.join(map(chr, NUMERALS))}]{{11}}")
_FRAMES = frozenset({FRAME, FRAME_AFTER, MENTION})
_TITLE = re.compile(r"《([^《》\n]{1,60})》")
SPELLINGS, ALL, OFF = "spellings", "all", "off"
SPLIT_MODES = (SPELLINGS, ALL, OFF)


class Context:
    def __init__(
        self,
        requirements: Iterable[Requirement],
        frame_window: int,
        split_words: str = ALL,
        segmenter: Segmenter | None = None,
        traditional_is_disguise: bool = False,
    ) -> None:
        """`split_words`: which matches must align with the words (`segmenter`; None: none).
        `traditional_is_disguise`: a term written in traditional characters is an evasion (Hit.disguised)."""
        if split_words not in SPLIT_MODES:
            raise ValueError(f"[content].split_words: expected one of {', '.join(SPLIT_MODES)}")
        self.frame_window = frame_window
        self.as_typed = _AS_TYPED_SIMPLIFIED if traditional_is_disguise else _AS_TYPED
        self.split_words = split_words if segmenter is not None else OFF
        self.segmenter = segmenter
        self.requirements: dict[str, list[Requirement]] = defaultdict(list)
        for req in requirements:
            self.requirements[req.rule].append(req)
        # Per rule, the declared groups of each @near line: a grouped match of a rule none of whose
        # lines has all its groups in the message cannot fire, so its alignment is not checked.
        self._declared = {
            rule: [frozenset(g for g in req.groups if not g.startswith("%")) for req in reqs]
            for rule, reqs in self.requirements.items()
        }
        self.builtins = {
            name for reqs in self.requirements.values() for req in reqs for name in req.groups
        } & set(_BUILTINS)

    def decide(
        self, original: str, norm: Normalized, matches: list[Match], trace: list[str] | None = None
    ) -> list[Hit]:
        allows: list[Match] = []
        frames: list[Match] = []
        terms: list[Match] = []
        grouped = False  # some term belongs to an @group (most messages: none)
        for m in matches:
            kind = m.entry.kind
            if kind == TERM:
                terms.append(m)
                grouped = grouped or m.entry.group != DIRECT
            elif kind == ALLOW:
                allows.append(m)
            elif kind in _FRAMES:
                frames.append(m)
        kept: dict[str, list[Match]] = defaultdict(list)
        titles = _titles(original) if "《" in original else ()
        words = None
        if self.segmenter is not None:
            words = self.segmenter.words(original, norm, [(m.start, m.end) for m in terms])
        possible = self._possible(terms) if grouped else ()
        for m in terms:
            aligning = words
            if m.entry.group != DIRECT and m.entry.rule not in possible:
                if trace is None:
                    continue  # a grouped term no @near line of its rule can use: nothing to decide
                aligning = None  # decided for the trace only
            reason = self._veto(original, norm, m, allows, frames, aligning)
            if not reason and titles:
                reason = _in_title(original, norm, m, titles)
            if reason:
                if trace is not None:
                    trace.append(f"{m.entry.rule}: {_describe(m, norm)} {reason}")
                continue
            kept[m.entry.rule].append(m)
        builtins = self._builtins(original, norm, kept) if grouped else []
        present = {m.entry.group for m in builtins}
        hits = []
        for rule, found in kept.items():
            chosen = [m for m in found if m.entry.group == DIRECT]
            # The reasons are for `qunguard scan` (which passes a trace): not formatted otherwise.
            why = [f"term {_describe(m, norm)}" for m in chosen] if trace is not None else []
            requirements = self.requirements.get(rule, ()) if grouped else ()
            groups = present.union(m.entry.group for m in found) if requirements else present
            pairings = []
            for req in requirements:
                picked = near(found + builtins, req) if groups.issuperset(req.groups) else []
                if picked:
                    chosen.extend(picked)
                    pairings.append(tuple(sorted({m.entry.term for m in picked})))
                    if trace is not None:
                        parts = " + ".join(f"{m.entry.group}:{_describe(m, norm)}" for m in picked)
                        why.append(f"@near {' '.join(req.groups)} within {req.within}: {parts}")
                elif trace is not None and any(m.entry.group == req.groups[0] for m in found):
                    trace.append(f"{rule}: @near {' '.join(req.groups)} within {req.within} not met")
            if chosen:
                hits.append(_hit(rule, chosen, original, norm, self.as_typed, tuple(why), tuple(pairings)))
            elif trace is not None:
                trace.append(f"{rule}: only grouped terms {list(terms_of(found))}, no @near met")
        return hits

    def _veto(
        self,
        original: str,
        norm: Normalized,
        m: Match,
        allows: list[Match],
        frames: list[Match],
        words: MessageWords | None,
    ) -> str | None:
        for allow in allows:
            if allow.start <= m.start and m.end <= allow.end:
                return f"cancelled by allow-list entry {allow.entry.term!r}"
        if not _latin_bounded(norm, original, m):
            return "inside a longer Latin word"
        if words is not None and self._check_split(m):
            reason = words.misaligned(m.start, m.end, spelled=m.entry.spelling == PINYIN)
            if reason:
                return reason
        for frame in frames:
            if frame.entry.kind == MENTION:
                return f"a mention: the message is framed by {frame.entry.term!r} (the model still judges it)"
            if governs(norm, original, frame, m, self.frame_window):
                side = "prohibition frame" if frame.entry.kind == FRAME else "after-frame"
                return f"suppressed by {side} {frame.entry.term!r}"
        return None

    def _possible(self, terms: list[Match]) -> set[str]:
        """Rules with an @near line whose declared groups all have a match among `terms`."""
        present: dict[str, set[str]] = defaultdict(set)
        for m in terms:
            if m.entry.group != DIRECT:
                present[m.entry.rule].add(m.entry.group)
        return {
            rule
            for rule, groups in present.items()
            if any(needed <= groups for needed in self._declared.get(rule, ()))
        }

    def _check_split(self, m: Match) -> bool:
        if self.split_words == OFF:
            return False
        return self.split_words == ALL or m.entry.spelling == PINYIN

    def _builtins(self, original: str, norm: Normalized, kept: dict[str, list[Match]]) -> list[Match]:
        """Built-in group matches, computed only when some grouped term matched at all."""
        if not self.builtins or not any(m.entry.group != DIRECT for ms in kept.values() for m in ms):
            return []
        # Every built-in group needs a digit (or, read as a phone number, eleven digits/numerals
        # in a row); the checks below skip the regexes and the numeral view for texts without.
        has_digit = _DIGIT.search(norm.text) is not None
        numerals = ""
        out = []
        for name in sorted(self.builtins):
            if name in _NUMERAL_VIEW:
                if _NUMERAL_RUN.search(norm.text) is None:
                    continue
                numerals = numerals or norm.text.translate(NUMERALS)
                text = numerals
            elif has_digit:
                text = norm.text
            else:
                continue
            confirm = _ORIGINAL_CHECKS.get(name)
            for found in _BUILTINS[name].finditer(text):
                if confirm is None or confirm(original, norm.span(*found.span())):
                    out.append(Match(found.start(), found.end(), _builtin_entry(name)))
        return out


def governs(norm: Normalized, original: str, frame: Match, term: Match, window: int) -> bool:
    """Whether a prohibition frame (FRAME: 禁止…) or an after-frame (FRAME_AFTER: …是违法的) governs
    `term`: the term lies wholly within the `window` normalised characters after the frame (before
    the after-frame) with no clause break (sentence break) between them, the stretch that
    verdict.vetoed_regions sets aside. The dictionaries suppress such a term; the model's veto counts
    a frame for a rule only where it governs a term of that rule."""
    if frame.entry.kind == FRAME:
        first, second, breaks = frame, term, CLAUSE_BREAKS
        reach = term.end - frame.end
    else:
        first, second, breaks = term, frame, SENTENCE_BREAKS
        reach = frame.start - term.start
    if first.end <= second.start and reach <= window:
        between = original[norm.offsets[first.end - 1] + 1 : norm.offsets[second.start]]
        return not breaks.intersection(between)
    return False


def _amount(original: str, span: tuple[int, int]) -> bool:
    """Whether a figure (its span in the original) reads as an amount: no :, / or - inside it
    (18:00, 12/15, 2024-06, 3000-5000) and no % after it (40%)."""
    lo, hi = span
    return _INSIDE_NOT_AMOUNT.isdisjoint(original[lo:hi]) and original[hi : hi + 1] not in _AFTER_NOT_AMOUNT


def _secret_token(original: str, span: tuple[int, int]) -> bool:
    """Whether a token (its span in the original) is more than the characters of a link, a domain
    or an IP address, which normalisation runs together (http://1.2.3.4/oa → http1234oa). A link
    with credentials in it (mysql://root:pw@host) is still a secret."""
    text = original[span[0] : span[1]]
    return "@" in text or not holds_address(text)


# Built-in groups whose matches the original text must confirm (signs normalisation removed).
_ORIGINAL_CHECKS = {"%amount": _amount, "%token": _secret_token}


def _titles(original: str) -> list[tuple[int, int]]:
    """The (start, end) of each 《…》 title's text in `original`."""
    return [found.span(1) for found in _TITLE.finditer(original)]


def _in_title(original: str, norm: Normalized, m: Match, titles: list[tuple[int, int]]) -> str | None:
    """Why `m` is a mention of a work's title, or None (module docstring, step 5)."""
    start, end = norm.span(m.start, m.end)
    index = bisect.bisect_right(titles, (start, len(original))) - 1  # the last title starting by `start`
    if index < 0:
        return None
    lo, hi = titles[index]
    if end <= hi and original[lo:hi].strip() != original[start:end]:
        return "inside a work's title 《…》: a mention (the model still judges it)"
    return None


def _builtin_entry(name: str) -> Entry:
    return Entry(TERM, group=name, term=name)


def near(found: list[Match], req: Requirement) -> list[Match]:
    """Matches of `req.groups` such that, around some anchor of the first group, every group occurs.
    The other groups' matches are other words than the anchor: a term listed in two groups (真的假的 as
    hearsay and as doubt) does not pair with itself."""
    by_group: dict[str, list[Match]] = defaultdict(list)
    for m in found:
        by_group[m.entry.group].append(m)
    for anchor in by_group.get(req.groups[0], ()):
        picked = [anchor]
        span = (anchor.start, anchor.end)
        for group in req.groups[1:]:
            close = [
                m
                for m in by_group.get(group, ())
                if _gap(anchor, m) <= req.within and (m.start, m.end) != span
            ]
            if not close:
                break
            picked.append(min(close, key=lambda m: _gap(anchor, m)))
        else:
            return picked
    return []


def _gap(a: Match, b: Match) -> int:
    return max(0, max(a.start, b.start) - min(a.end, b.end))


def _latin_bounded(norm: Normalized, original: str, m: Match) -> bool:
    """A match that starts or ends with a Latin letter/digit must not continue a Latin word."""
    text = norm.text
    if "\x7f" < text[m.start] < "\uff01" and "\x7f" < text[m.end - 1] < "\uff01":
        return True  # neither edge is Latin (the usual CJK match): nothing to check
    start, end = norm.span(m.start, m.end)
    if _ascii_alnum(text[m.start]) and start > 0 and _ascii_alnum(original[start - 1]):
        return False
    return not (_ascii_alnum(text[m.end - 1]) and end < len(original) and _ascii_alnum(original[end]))


def _ascii_alnum(ch: str) -> bool:
    if "\uff01" <= ch <= "\uff5e":  # full-width ASCII
        ch = chr(ord(ch) - 0xFEE0)
    return ch.isascii() and ch.isalnum()


def _describe(m: Match, norm: Normalized) -> str:
    seen = norm.text[m.start : m.end]
    if m.entry.term.startswith("%"):
        return f"{m.entry.term} {seen!r}"
    if m.entry.spelling == PINYIN:
        return f"{m.entry.term!r} (pinyin/homophone spelling {seen!r})"
    return repr(m.entry.term)


def _hit(
    rule: str,
    chosen: list[Match],
    original: str,
    norm: Normalized,
    as_typed: Normalizer,
    why: tuple[str, ...],
    pairings: tuple[tuple[str, ...], ...],
) -> Hit:
    disguised = any(_disguised(original, norm, m, as_typed) for m in chosen)
    if len(chosen) == 1:  # the usual hit: one term
        lo, hi = norm.span(chosen[0].start, chosen[0].end)
        return Hit(rule, terms_of(chosen), lo, hi, why, disguised, pairings)
    start = min(m.start for m in chosen)
    end = max(m.end for m in chosen)
    lo, hi = norm.span(start, end)
    return Hit(rule, terms_of(sorted(chosen, key=lambda m: m.start)), lo, hi, why, disguised, pairings)


# How a term is typed without disguise: width, case and script. Where people write simplified
# characters, a term in traditional ones is a disguise too (`traditional_is_disguise`).
_AS_TYPED = Normalizer(NormalizeOptions(variants=False, strip_noise=False, collapse_repeats=False))
_AS_TYPED_SIMPLIFIED = Normalizer(
    NormalizeOptions(t2s=False, variants=False, strip_noise=False, collapse_repeats=False)
)


def _disguised(original: str, norm: Normalized, m: Match, as_typed: Normalizer) -> bool:
    """Whether a term's match was written as an evasion: pinyin letters for its characters (nei部),
    or characters that read as the term only once more than `as_typed` normalises them (look-alike
    variants, noise or repeats inside it: 赌.博, ᴀv). A built-in group's figure (%amount) is not a term.

    A homophone in characters alone (堵博) is not taken for one: ordinary words sound like terms
    too (请凭码领取 reads 平码 in a parcel notice), so such a hit is the model's to veto like any
    other; a homophone written to evade lands in a message the model reads as breaking the rule.
    On the held-out authors this removed 28 of 737 false alarms and no true hit (docs/eval.md)."""
    if m.entry.term.startswith("%"):
        return False
    lo, hi = norm.span(m.start, m.end)
    if m.entry.spelling == PINYIN and any(_ascii_alnum(ch) for ch in original[lo:hi]):
        return True
    return as_typed(original[lo:hi]) != norm.text[m.start : m.end]
