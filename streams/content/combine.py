"""How the layers' hits on one text make one decision per rule (streams.content.detector calls these
in order): the model's veto of dictionary hits made of ambiguous terms (`unconfirmed`), the model's
hits deferring to what the words decided (`deferred`), and one hit per rule (`merged`).
"""

from __future__ import annotations

from collections.abc import Callable

from streams.content.classifier import TextClassifier
from streams.content.context import CLAUSE_BREAKS, SENTENCE_BREAKS
from streams.content.matcher import Hit, ModelHit
from streams.content.reading import reads_as_whole
from streams.content.verdict import ModelSettings, first_break, last_break

VETO_CONTEXT = 8  # normalised characters besides the terms: a short clause
SENTENCE_MAX = 120  # characters each side of a hit's span, so a 64 KiB line stays cheap
# Why `unconfirmed` vetoed a hit, as `qunguard scan` says it.
_AMBIGUOUS = "terms mostly harmless in the labelled data"
_RULED_OUT = "the model all but rules it out"
_HARMLESS = "the model reads the message as harmless"


def unconfirmed(
    hits: list[Hit],
    text: str,
    view: str,
    classifier: TextClassifier,
    settings: ModelSettings,
    trace: list[str] | None,
    model_view: str | None = None,
) -> tuple[list[Hit], dict[str, float] | None]:
    """The dictionary hits (`hits`: the words' alone) the model does not contradict, and the model's
    scores of `text` where they were needed (for ModelJudge.hits, so the text is predicted once;
    None otherwise). `model_view`: reading.clause_view(text), when the caller has it.

    A hit made of terms, or of pairings, the labelled data shows mostly in harmless messages (the
    model's ambiguous terms: a notice names the forbidden thing, 听说 + 是真的吗 asks), written as
    they are spelled (Hit.disguised: an evasion, nei部 or 赌.博, is no notice), is vetoed where the
    model scores its rule below `settings.lexicon_veto_below`: the words alone do not decide those.
    Only with VETO_CONTEXT characters of context besides every occurrence of the terms in `view`
    (the normalised text): on less, the model's score is little more than its reading of the terms
    themselves (来赌博啊, 赌博赌博…), which is not evidence.

    Any other hit so written and in such context, of terms the model read in training (a word an
    operator has just added stays the words'), is vetoed where the model scores its rule below
    `lexicon_veto_every_below` (far lower: the model all but rules the rule out), or where it scores
    no rule at all at `lexicon_veto_harmless_below` (the model reads the message as harmless: a
    notice that names 机密, a news line about a killing). The second asks about every rule because
    the model's classes share one softmax: a threat that also insults (你个废物…我就弄死你) scores
    violence 0.99 and so insult 0.05, which says "violence", not "harmless". The sentence the hit is
    in must be read so too, and for the harmless veto the clause: otherwise ordinary lines around an
    explicit one would dilute the model's reading of the whole message into a veto (下周一消防演练九点
    集合，研发部那帮人就是一群废物 reads as a notice, its second clause as an insult)."""
    below = settings.lexicon_veto_below
    every_below = settings.lexicon_veto_every_below
    harmless_below = settings.lexicon_veto_harmless_below

    def cutoff(hit: Hit) -> tuple[float | None, float | None, bool] | None:
        """(the score of the hit's rule below which it is vetoed, the score every rule must stay
        below for it to be vetoed as harmless, whether its terms are ambiguous)."""
        if hit.disguised or _context(view, hit.terms) < VETO_CONTEXT:
            return None
        if below is not None and classifier.is_ambiguous(hit.rule, hit.units()):
            return below, None, True
        if (every_below is None and harmless_below is None) or not classifier.is_seen(hit.rule, hit.terms):
            return None
        return every_below, harmless_below, False

    vetoable = [(hit, c) for hit in hits if (c := cutoff(hit)) is not None]
    if not vetoable:
        return hits, None
    scores = classifier.scores(text, model_view)
    if not scores:
        return hits, scores
    top = max(scores.values())
    vetoed: list[tuple[Hit, float, str]] = []  # (hit, the cutoff it fell below, which veto)
    for hit, (at, quiet, ambiguous) in vetoable:
        if (
            at is not None
            and scores.get(hit.rule, 1.0) < at
            and (
                ambiguous
                or _scores_around(classifier, text, hit, scores, SENTENCE_BREAKS).get(hit.rule, 1.0) < at
            )
        ):
            vetoed.append((hit, at, _AMBIGUOUS if ambiguous else _RULED_OUT))
        elif (
            quiet is not None
            and top < quiet
            and max(_scores_around(classifier, text, hit, scores, CLAUSE_BREAKS).values()) < quiet
        ):
            vetoed.append((hit, quiet, _HARMLESS))
    if trace is not None:
        outranked = classifier.outranked(text) if classifier.about else {}
        for hit, cutoff_at, veto in vetoed:
            if veto == _HARMLESS:
                reason = f"{veto}: no rule scores {cutoff_at} (the highest {top:.3f})"
            else:
                reason = f"{veto}, and the model scores the rule {scores[hit.rule]:.3f} < {cutoff_at}"
            why = " (its about head outranks it)" if hit.rule in outranked else ""
            trace.append(f"{hit.rule}: words {list(hit.terms)} vetoed: {reason}{why}")
    dropped = [hit for hit, _, _ in vetoed]
    return [hit for hit in hits if hit not in dropped], scores


def _scores_around(
    classifier: TextClassifier, text: str, hit: Hit, scores: dict[str, float], breaks: frozenset[str]
) -> dict[str, float]:
    """The model's scores of the sentence (SENTENCE_BREAKS) or clause (CLAUSE_BREAKS) of `text`
    that holds the hit's quoted span (`scores`, the message's, when the model reads it as the whole);
    {rule: 1.0} when it has nothing to score."""
    start = last_break(text, max(0, hit.start - SENTENCE_MAX), hit.start, breaks)
    end = first_break(text, hit.end, min(len(text), hit.end + SENTENCE_MAX), breaks)
    if reads_as_whole(text, start, end):
        return scores
    return classifier.scores(text[start:end]) or {hit.rule: 1.0}


def _context(view: str, terms: tuple[str, ...]) -> int:
    """The characters of `view` besides every occurrence of `terms` (longest first)."""
    for term in sorted(terms, key=len, reverse=True):
        view = view.replace(term, "")
    return len(view)


def deferred(
    scored: list[ModelHit],
    decided: set[str],
    trace: list[str] | None,
    scores: Callable[[], dict[str, float]] | None = None,
    unless_below: float | None = None,
    unless_above: float | None = None,
) -> list[ModelHit]:
    """The model's hits once the words have decided what the message is: a rule the dictionaries or
    structural checks fired keeps its model score; another rule only a workplace head found is
    dropped. Most of the model's false alarms in cross-validation were a neighbouring rule of a
    message the words had already decided (an insult also scored as defamation). A qualified head
    (content.insult#public) is not deferred: public-comment abuse is its own register and comes with
    other content (a sexist comment the porn words also fire on); deferring it cost 0.013 of COLD's
    balanced accuracy.

    A rule the words fired that the model all but rules out (`scores()` below `unless_below`)
    decides nothing: there the words' reading is the doubtful one (an ad word for exam cheating in a
    report that a colleague had someone sit his exam). A rule without a head (links) still decides.
    And a hit scoring at least `unless_above` is never deferred: the model is then as sure as the
    words (an ad whose shortened link the link checks flag)."""
    if unless_below is not None and scores is not None and any(hit.rule not in decided for hit in scored):
        model = scores()
        doubted = {rule for rule in decided if model.get(rule, 1.0) < unless_below}
        if doubted and trace is not None:
            trace.append(
                f"{sorted(doubted)}: decide nothing for the model: it scores them below {unless_below}"
            )
        decided = decided - doubted
        if not decided:
            return scored
    sure = [hit for hit in scored if unless_above is not None and hit.score >= unless_above]
    kept = [hit for hit in scored if hit.rule in decided or "#" in hit.head or hit in sure]
    if trace is not None:
        for hit in scored:
            if hit not in kept:
                trace.append(
                    f"{hit.rule}: model score {hit.score:.3f} deferred to the words' decision {sorted(decided)}"
                )
            elif hit.rule not in decided and hit in sure:
                trace.append(
                    f"{hit.rule}: model score {hit.score:.3f} stands beside the words' decision"
                    f" {sorted(decided)}: at least {unless_above}"
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
