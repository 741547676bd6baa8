"""Which dictionary terms the labelled data shows mostly in harmless messages, which the model may
veto (streams.content.combine.unconfirmed), and which terms it shows at all
(TextClassifier.is_seen)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from streams.content.examples import Example, harmful

AMBIGUOUS_MIN_HARMLESS = 3  # a term is judged ambiguous on at least this many harmless messages
# (rule, units) per dictionary hit: the terms that fire alone and the `@near` pairings (matcher.Hit.units)
WordHits = Callable[[str], Iterable[tuple[str, tuple[tuple[str, ...], ...]]]]


def term_evidence(
    examples: Sequence[Example], words: WordHits
) -> tuple[dict[str, list[list[str]]], dict[str, list[str]]]:
    """Per rule, the dictionary terms, the `@near` pairings (听说 + 是真的吗, 工资 + %amount) and the
    combinations a multi-term hit makes (网络赌博 + 赌博) that fired on more harmless training
    messages (a hard negative, an ordinary line, a safe comment, a dialogue turn: label none) than
    on messages of their rule, and on at least AMBIGUOUS_MIN_HARMLESS of them: the names of
    forbidden things that notices, warnings and news use (赌博 in 严打网络赌博). A term that fires
    only through an `@near` pairing is counted in its pairings, never alone. Another rule's
    positives count for neither side. Each text is counted once, however often it is repeated.
    Each entry is a sorted list of terms.

    Second, per rule, every term counted on either side: the terms the model saw in training
    (TextClassifier.is_seen). A term nobody's examples hold, such as a code word an operator has just
    added to a dictionary, is one the model cannot judge."""
    counts: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    terms: dict[str, set[str]] = {}
    seen: set[tuple[str, str]] = set()
    for e in examples:
        if (e.text, e.label) in seen:
            continue
        seen.add((e.text, e.label))
        for rule, units in words(e.text):
            if e.label != rule and harmful(e.label):
                continue
            keys = sorted({tuple(sorted(set(unit))) for unit in units})
            if len(keys) > 1:
                keys.append(tuple(sorted({term for key in keys for term in key})))
            for key in keys:
                count = counts.setdefault((rule, key), [0, 0])
                count[not harmful(e.label)] += 1
            terms.setdefault(rule, set()).update(term for unit in units for term in unit)
    out: dict[str, list[list[str]]] = {}
    for (rule, key), (violations, harmless) in sorted(counts.items()):
        if harmless >= AMBIGUOUS_MIN_HARMLESS and harmless > violations:
            out.setdefault(rule, []).append(list(key))
    return out, {rule: sorted(found) for rule, found in sorted(terms.items())}
