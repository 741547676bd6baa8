"""`qunguard scan`: run the content engine over text and show what matched and why.

For policy authors: each hit names the rule, the field, the dictionary terms, a masked excerpt,
how it fired (a direct term, a pinyin/homophone spelling, an `@near` co-occurrence, a structural
check) and which normalisation steps were needed for it to match. The engine's decisions are listed
too (`decided:`), those that stopped a match (allow-list, prohibition frame, split words, an `@near`
not met, a veto, a deferral) and those that let one stand beside another. When the learned
model decided or contributed, the hit shows its name, version and calibrated score and the
character n-grams of the normalised text that drove the score (occlusion: how much the score drops
without each); rules the model scored near but below their threshold are listed as decisions.
With `--reviewed`, the reviewers' allow entries in Redis (docs/review.md) are consulted as the worker
does: a hit an entry cancels in the message's group (`--group` for text) is listed as not fired, with
the entry's id.
Input: a text argument, standard input (one message per line), or a JSONL file of events.
Exit status as grep's: 0 when no content rule fired, 1 when one fired on any message, 2 on an
error (a missing file, a bad policy).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from agents.cli.inputs import InputError, read_events, require_file
from streams.content.detector import ContentDetector
from streams.content.excerpt import excerpt
from streams.content.identifiers import RULE as CONFIDENTIAL
from streams.content.links import RULE as LINK_RULE
from streams.content.matcher import ModelHit
from streams.content.normalize import steps_needed
from topics.events import MessageEvent

NOTHING_FIRED, FIRED, ERROR = 0, 1, 2
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_SPELLING = re.compile(r"pinyin/homophone spelling '([^']+)'")


@dataclass
class Scanned:
    source: str  # "text", "stdin:N" or FILE:LINE
    event_id: str
    hits: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "event_id": self.event_id,
            "hits": self.hits,
            "decisions": self.decisions,
        }


def scan_event(detector: ContentDetector, event: MessageEvent, source: str) -> Scanned:
    trace: list[str] = []
    result = Scanned(source, event.event_id)
    for field_hit in detector.scan(event, trace):
        hit = field_hit.hit
        quoted = excerpt(field_hit.text, hit.start, hit.end, detector.excerpt_chars, hit.rule == CONFIDENTIAL)
        entry = detector.allowed(event.group_id, hit.rule, {"terms": list(hit.terms), "excerpt": quoted})
        if entry is not None:
            trace.append(f"{hit.rule}: allowed in {entry.scope} by reviewers' entry {entry.entry_id}"
                         f" ({entry.reviewer_id} judged {entry.violation_id} a false positive at {entry.ts})")  # fmt: skip
            continue
        span = field_hit.text[hit.start : hit.end]
        steps = {}
        for term, why in _dictionary_terms(hit.terms, hit.why):
            spelled = _SPELLING.search(why)
            needed = steps_needed(detector.normalizer.options, span, spelled.group(1) if spelled else term)
            steps[term] = ["pinyin"] * bool(spelled) + list(needed)
        result.hits.append(
            {
                "rule": hit.rule,
                "field": field_hit.field,
                "terms": list(hit.terms),
                "excerpt": quoted,
                "why": list(hit.why),
                "normalisation": steps,
                **_model_part(detector, hit, field_hit.text),
            }
        )
    result.decisions = trace
    return result


def _model_part(detector: ContentDetector, hit: object, text: str) -> dict[str, Any]:
    """The model's evidence and the n-grams that drove its score, for a hit it decided or joined."""
    judge = detector.judge
    if not isinstance(hit, ModelHit) or judge is None:
        return {}
    links = detector.link_model
    if hit.rule == LINK_RULE and links is not None:  # the link judge's: its features, not n-grams
        _, found = detector.links.reading(text)
        drivers = links.judge.explain(found) if found else []
        return {
            **hit.evidence(),
            "features": [{"feature": f, "weight": round(w, 2)} for f, w in drivers if w],
        }
    features = judge.classifier.explain(text, hit.head or hit.rule)
    return {**hit.evidence(), "features": [{"ngram": gram, "drop": drop} for gram, drop in features]}


def _dictionary_terms(terms: tuple[str, ...], why: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """Terms that came from the dictionaries (not structural labels) with their reason line."""
    for term in terms:
        reason = next((w for w in why if repr(term) in w), "")
        if reason and not reason.startswith("structural"):
            yield term, reason


def text_event(text: str, index: int = 1, group_id: str = "-") -> MessageEvent:
    return MessageEvent(event_id=f"text-{index}", ts=_EPOCH, group_id=group_id, sender_id="-", text=text)


def message_events(path: Path, errors: TextIO) -> Iterator[tuple[str, MessageEvent]]:
    """Message events of a JSONL file, each with its FILE:LINE; a bad line is reported as
    FILE:LINE: field: reason."""
    for number, event in read_events(path, errors, skipped=""):
        if isinstance(event, MessageEvent):
            yield f"{path}:{number}", event


def render(result: Scanned, out: TextIO) -> None:
    if not result.hits:
        print(f"{result.source} {result.event_id}: no content rule fired", file=out)
    for hit in result.hits:
        print(f"{result.source} {result.event_id}: {hit['rule']} ({hit['field']})", file=out)
        print(f"  terms:   {', '.join(hit['terms'])}", file=out)
        print(f"  excerpt: {hit['excerpt']}", file=out)
        for why in hit["why"]:
            print(f"  why:     {why}", file=out)
        if "model" in hit:
            model = hit["model"]
            print(f"  model:   {model['name']}@{model['version']} score {hit['score']}", file=out)
            if hit["rule"] == LINK_RULE:
                shown = ", ".join(f"{f['feature']} {f['weight']:+.2f}" for f in hit["features"])
                print(f"  drivers: {shown or 'none'} (log odds each feature added)", file=out)
            else:
                shown = ", ".join(f"{f['ngram']!r} {f['drop']:.2f}" for f in hit["features"])
                print(f"  drivers: {shown or 'none'} (decision value lost without each n-gram)", file=out)
        for term, steps in hit["normalisation"].items():
            print(
                f"  matched {term!r} after: {', '.join(steps) if steps else 'no normalisation needed'}",
                file=out,
            )
    for decision in result.decisions:
        print(f"  decided: {decision}", file=out)


def run_scan(
    detector: ContentDetector,
    text: str | None,
    file: str | None,
    as_json: bool,
    stdin: TextIO,
    out: TextIO,
    errors: TextIO,
    group_id: str = "-",
) -> int:
    if file is not None:
        try:
            path = require_file(file)
        except InputError as exc:
            print(f"qunguard scan: {exc}", file=errors)
            return ERROR
        inputs: Iterator[tuple[str, MessageEvent]] = message_events(path, errors)
    elif text is not None and text != "-":
        inputs = iter([("text", text_event(text, group_id=group_id))])
    else:
        inputs = (
            (f"stdin:{n}", text_event(line.rstrip("\n"), n, group_id))
            for n, line in enumerate(stdin, 1)
            if line.strip()
        )
    fired = False
    for source, event in inputs:
        result = scan_event(detector, event, source)
        fired = fired or bool(result.hits)
        if as_json:
            print(json.dumps(result.as_json(), ensure_ascii=False), file=out)
        else:
            render(result, out)
    return FIRED if fired else NOTHING_FIRED


def main_scan(
    text: str | None,
    file: str | None,
    as_json: bool,
    policy_path: str | None,
    reviewed: bool = False,
    group_id: str = "-",
) -> int:
    import redis.exceptions

    from streams.content.dictionary import DictionaryError
    from streams.core.policy import PolicyError, load_policy

    try:
        detector = ContentDetector(load_policy(policy_path), _allow_entries() if reviewed else None)
    except (PolicyError, DictionaryError) as exc:
        print(f"qunguard scan: {exc}", file=sys.stderr)
        return ERROR
    try:
        return run_scan(detector, text, file, as_json, sys.stdin, sys.stdout, sys.stderr, group_id)
    except redis.exceptions.RedisError as exc:
        print(f"qunguard scan: --reviewed: Redis unavailable ({exc})", file=sys.stderr)
        return ERROR


def _allow_entries():
    """The reviewers' allow entries in Redis ($REDIS_URL, $QUNGUARD_REDIS_PREFIX)."""
    from agents.connect.security import checked_settings
    from agents.stores.allow import RedisAllowEntries

    return RedisAllowEntries.from_settings(checked_settings())
