"""How the layers' hits on one text make one decision per rule (streams.content.detector calls these
in order): the model's veto of dictionary hits made of ambiguous terms (`unconfirmed`), the model's
hits deferring to what the words decided (`deferred`), and one hit per rule (`merged`).
"""

from __future__ import annotations

from streams.content.classifier import TextClassifier
from streams.content.matcher import Hit
from streams.content.verdict import ModelHit

VETO_CONTEXT = 8  # normalised characters besides the terms: a short clause


def unconfirmed(
    hits: list[Hit], text: str, view: str, classifier: TextClassifier, below: float, trace: list[str] | None
) -> tuple[list[Hit], dict[str, float] | None]:
    """The dictionary hits (`hits`: the words' alone) the model does not contradict, and the model's
    scores of `text` where they were needed (for ModelJudge.hits, so the text is predicted once;
    None otherwise).

    A hit made of terms, or of pairings, the labelled data shows mostly in harmless messages (the
    model's ambiguous terms: a notice names the forbidden thing, 听说 + 是真的吗 asks), written as
    they are spelled (an evasion is no notice), is vetoed where the model scores its rule below
    `below`: the words alone do not decide those. Only with VETO_CONTEXT characters of context
    besides every occurrence of the terms in `view` (the normalised text): on less, the model's
    score is little more than its reading of the terms themselves (来赌博啊, 赌博赌博…), which is
    not evidence."""
    vetoable = [
        hit
        for hit in hits
        if not hit.spelled
        and classifier.is_ambiguous(hit.rule, hit.units())
        and _context(view, hit.terms) >= VETO_CONTEXT
    ]
    if not vetoable:
        return hits, None
    scores = classifier.scores(text)
    vetoed = [hit for hit in vetoable if scores.get(hit.rule, 1.0) < below]
    if trace is not None:
        outranked = classifier.outranked(text) if classifier.about else {}
        for hit in vetoed:
            why = " (its about head outranks it)" if hit.rule in outranked else ""
            trace.append(
                f"{hit.rule}: words {list(hit.terms)} vetoed: terms mostly harmless in the labelled data,"
                f" and the model scores the rule {scores[hit.rule]:.3f} < {below}{why}"
            )
    return [hit for hit in hits if hit not in vetoed], scores


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
            spelled = seen.spelled or hit.spelled
            pairings = (*seen.pairings, *hit.pairings)
            by_rule[hit.rule] = (
                Hit(hit.rule, terms, seen.start, seen.end, why, spelled, pairings)
                if scored is None
                else ModelHit(
                    hit.rule,
                    terms,
                    seen.start,
                    seen.end,
                    why,
                    spelled,
                    pairings,
                    score=scored.score,
                    model=scored.model,
                    head=scored.head,
                )
            )
    return list(by_rule.values())
