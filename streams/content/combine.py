"""How the layers' hits on one text make one decision per rule (streams.content.detector calls these
in order): the model's veto of dictionary hits made of ambiguous terms (`unconfirmed`), the model's
hits deferring to what the words decided (`deferred`), and one hit per rule (`merged`).
"""

from __future__ import annotations

from streams.content.classifier import TextClassifier
from streams.content.context import SENTENCE_BREAKS
from streams.content.matcher import Hit
from streams.content.verdict import ModelHit, first_break, last_break

VETO_CONTEXT = 8  # normalised characters besides the terms: a short clause
SENTENCE_MAX = 120  # characters each side of a hit's span, so a 64 KiB line stays cheap


def unconfirmed(
    hits: list[Hit],
    text: str,
    view: str,
    classifier: TextClassifier,
    below: float | None,
    every_below: float | None,
    trace: list[str] | None,
    model_view: str | None = None,
) -> tuple[list[Hit], dict[str, float] | None]:
    """The dictionary hits (`hits`: the words' alone) the model does not contradict, and the model's
    scores of `text` where they were needed (for ModelJudge.hits, so the text is predicted once;
    None otherwise). `model_view`: classifier.clause_view(text), when the caller has it.

    A hit made of terms, or of pairings, the labelled data shows mostly in harmless messages (the
    model's ambiguous terms: a notice names the forbidden thing, 听说 + 是真的吗 asks), written as
    they are spelled (Hit.disguised: an evasion, 堵博 or 赌.博, is no notice), is vetoed where the model scores its rule below
    `below`: the words alone do not decide those. Only with VETO_CONTEXT characters of context
    besides every occurrence of the terms in `view` (the normalised text): on less, the model's
    score is little more than its reading of the terms themselves (来赌博啊, 赌博赌博…), which is
    not evidence.

    With `every_below`, any other hit so written and in such context, of terms the model read in
    training (a word an operator has just added stays the words'), is vetoed where the model scores
    its rule below that (far lower): a notice that names 机密 or a news line about a killing, which
    the model is all but sure is not the rule. Leaving one author out, that was 44 % of the
    dictionaries' false alarms on the training authors for 1.3 % of their true hits (docs/eval.md,
    fourteenth session). The sentence the hit is in must score below it too: otherwise ordinary
    lines around an explicit one would dilute the model's reading of the whole message into a veto."""

    def cutoff(hit: Hit) -> tuple[float, bool] | None:
        """The score below which the hit is vetoed, and whether its terms are ambiguous."""
        if hit.disguised or _context(view, hit.terms) < VETO_CONTEXT:
            return None
        if below is not None and classifier.is_ambiguous(hit.rule, hit.units()):
            return below, True
        if every_below is None or not classifier.is_seen(hit.rule, hit.terms):
            return None
        return every_below, False

    vetoable = [(hit, c) for hit in hits if (c := cutoff(hit)) is not None]
    if not vetoable:
        return hits, None
    scores = classifier.scores(text, model_view)
    vetoed = [
        (hit, at, ambiguous)
        for hit, (at, ambiguous) in vetoable
        if scores.get(hit.rule, 1.0) < at and (ambiguous or _sentence_below(classifier, text, hit, at))
    ]
    if trace is not None:
        outranked = classifier.outranked(text) if classifier.about else {}
        for hit, at, ambiguous in vetoed:
            why = " (its about head outranks it)" if hit.rule in outranked else ""
            reason = (
                "terms mostly harmless in the labelled data"
                if ambiguous
                else "the model all but rules it out"
            )
            trace.append(
                f"{hit.rule}: words {list(hit.terms)} vetoed: {reason},"
                f" and the model scores the rule {scores[hit.rule]:.3f} < {at}{why}"
            )
    dropped = [hit for hit, _, _ in vetoed]
    return [hit for hit in hits if hit not in dropped], scores


def _sentence_below(classifier: TextClassifier, text: str, hit: Hit, at: float) -> bool:
    """Whether the model scores the sentence of `text` that holds the hit's quoted span below `at`
    (true when that sentence is the whole text: its score is the message's)."""
    start = last_break(text, max(0, hit.start - SENTENCE_MAX), hit.start, SENTENCE_BREAKS)
    end = first_break(text, hit.end, min(len(text), hit.end + SENTENCE_MAX), SENTENCE_BREAKS)
    if start == 0 and end == len(text):
        return True
    return classifier.scores(text[start:end]).get(hit.rule, 1.0) < at


def _context(view: str, terms: tuple[str, ...]) -> int:
    """The characters of `view` besides every occurrence of `terms` (longest first)."""
    for term in sorted(terms, key=len, reverse=True):
        view = view.replace(term, "")
    return len(view)


def deferred(scored: list[ModelHit], decided: set[str], trace: list[str] | None) -> list[ModelHit]:
    """The model's hits once the words have decided what the message is: a rule the dictionaries or
    structural checks fired keeps its model score; another rule only a workplace head found is
    dropped. Most of the model's false alarms in cross-validation were a neighbouring rule of a
    message the words had already decided (an insult also scored as defamation). A qualified head
    (content.insult#public) is not deferred: public-comment abuse is its own register and comes with
    other content (a sexist comment the porn words also fire on); deferring it cost 0.013 of COLD's
    balanced accuracy."""
    kept = [hit for hit in scored if hit.rule in decided or "#" in hit.head]
    if trace is not None:
        for hit in scored:
            if hit not in kept:
                trace.append(
                    f"{hit.rule}: model score {hit.score:.3f} deferred to the words' decision {sorted(decided)}"
                )
    return kept


def merged(hits: list[Hit]) -> list[Hit]:
    """One hit per rule per field (a structural and a dictionary hit of one rule combine)."""
    by_rule: dict[str, Hit] = {}
    for hit in hits:
        seen = by_rule.get(hit.rule)
        if seen is None:
            by_rule[hit.rule] = hit
        else:
            terms = tuple(dict.fromkeys((*seen.terms, *hit.terms)))
            why = (*seen.why, *hit.why)
            scored = next((h for h in (seen, hit) if isinstance(h, ModelHit)), None)
            disguised = seen.disguised or hit.disguised
            pairings = (*seen.pairings, *hit.pairings)
            by_rule[hit.rule] = (
                Hit(hit.rule, terms, seen.start, seen.end, why, disguised, pairings)
                if scored is None
                else ModelHit(
                    hit.rule,
                    terms,
                    seen.start,
                    seen.end,
                    why,
                    disguised,
                    pairings,
                    score=scored.score,
                    model=scored.model,
                    head=scored.head,
                )
            )
    return list(by_rule.values())
