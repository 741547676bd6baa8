"""The learned content classifier: a linear model over the character n-grams of a message (scikit-learn's
weights, scored by fastText's C++: streams.content.linear), with calibrated per-head probabilities. Trained by `qunguard model train` (streams.content.training); used by the
content detector (streams.content.verdict) and by `qunguard eval`.

Stable API (other modules rely on exactly this):

    classifier = TextClassifier.load(Path("config/model/content.bin"))   # ModelError names the file
    classifier.name, classifier.version, classifier.heads, classifier.meta
    classifier.scores(text) -> dict[head, float]          # calibrated P(head | text), every head it knows
    classifier.outranked(text) -> dict[head, float]       # the heads their about head vetoed there
    classifier.score(text, head) -> float
    cutoffs = classifier.cutoffs({"content.insult": 0.9})  # per-head thresholds, checked once
    classifier.confident(text, cutoffs) -> dict[head, float]   # the heads at or above their threshold
    classifier.explain(text, head) -> list[(ngram, drop)]      # the character n-grams that drove it

A head is one output of the model: a rule id (`content.insult`, learned from workplace examples) or
a rule id with a qualifier (`content.insult#public`, learned from public comments), so that data
of another register gets its own calibration and threshold and still fires its rule (`rule_of`;
the heads' names and the second stage's inputs are streams.content.heads).
A model may also have an about head for a head (`about_head`: `about:content.confidential`, learned
from the rule's hard negatives: notices, warnings and training about the rule). It fires nothing and
has no calibration; where its decision value is at least its head's, that head scores 0 (a notice
about secrecy read as one). A workplace rule's head is scored by the second stage (`is_stacked`;
streams.content.stack): one multinomial logistic regression over a piecewise-linear function of
every column's decision value, about heads included, of the line's length (`LENGTH`) and of some
heads' values less the ordinary-chat head's (`StackInputs`), fitted
on held-out decision values, so that it learns how the overlapping heads trade off (a defamation
written in insulting words) and how much a few words' decision values say; a head it does not
stack scores its own column's probability. Training chooses the thresholds as the scores are computed, veto included.

A model is two files side by side: the fastText model file (`NAME.bin`) and its metadata (`NAME.json`:
name, format, the model file's SHA-256, the labels, the heads' intercepts (`linear`), the second
stage's knots and weights (`stack`), one isotonic calibration table per head fitted on out-of-fold
predictions at training time, the suggested thresholds, the ambiguous dictionary terms per rule
and a summary of the training data). The model file's digest is checked before
fastText reads a byte, so a truncated or swapped file is a clear error, not a crash in C++; the
version (`model_version`) digests it with the intercepts, the stack, the calibration tables, the
ambiguous terms and the link judge (`links`, streams.content.link_judge), so a model recalibrated
around the same fastText file gets a new one.

It scores the line `streams.content.reading` makes of a text: normalised, clause breaks marked,
bounded to its first and last few hundred characters.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from librt.vecs import vec
from mypy_extensions import i64

from streams.content import linear
from streams.content.calibration import Calibration, Cutoffs, least_margin
from streams.content.heads import ABOUT, NONE, StackInputs, about_head, is_about_rule, is_stacked
from streams.content.link_judge import LinkJudge
from streams.content.reading import line_of, model_input, model_view, tokens
from streams.content.stack import Gaps, Place, Stack, softmax

# 2: links and long numbers as placeholder words; 3: 5+ digit numbers left out; 4: all numbers;
# 5: scikit-learn's linear weights in the fastText file (streams.content.linear); 6: clause breaks;
# 7: the workplace heads scored by a second stage (streams.content.stack); 8: which reads the length;
# 9: through a piecewise-linear function of each input; 10: no end-of-line column (linear.IdCount);
# 11: the stack reads heads less the ordinary-chat head
FORMAT = 11
LABEL_PREFIX = "__label__"
EXPLAIN_ORDERS = (3, 2, 1)  # the n-gram lengths `explain` occludes


def model_version(meta: Mapping[str, Any]) -> str:
    """What a violation's evidence names the model by: a digest of the model file's digest, the
    intercepts, the calibration, the second stage, the ambiguous terms and the link judge, since a
    model recalibrated or restacked around the same file, or vetoing other words, decides differently."""
    tables = json.dumps([meta.get("linear"), meta.get("calibration"), meta.get("stack")], sort_keys=True)
    if meta.get("links"):
        tables += json.dumps(meta["links"], sort_keys=True)
    if meta.get("ambiguous_terms"):
        tables += json.dumps(meta["ambiguous_terms"], sort_keys=True, ensure_ascii=False)
    if meta.get("seen_terms"):
        tables += json.dumps(meta["seen_terms"], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{meta['sha256']}\n{tables}".encode()).hexdigest()[:12]


class ModelError(ValueError):
    """A model that cannot be used; the message names the file."""


class TextClassifier:
    def __init__(self, model: Any, meta: Mapping[str, Any], source: str = "<memory>") -> None:
        from fasttext.FastText import fasttext as binding

        self._model = model
        self.meta = meta
        self.source = source
        self.name = str(meta["name"])
        self.version = model_version(meta)
        self.calibration = {head: Calibration.from_json(t) for head, t in meta["calibration"].items()}
        self.heads = tuple(sorted(self.calibration))
        # The order of the file's columns (streams.content.linear) and each head's intercept.
        self._order = tuple(str(head) for head in meta["linear"]["heads"])
        self._intercepts = vec[float]([float(b) for b in meta["linear"]["intercepts"]])
        scored = [head for head in self._order if not head.startswith(ABOUT)]
        if sorted(scored) != list(self.heads) or len(self._intercepts) != len(self._order):
            raise ValueError("the metadata's linear heads are not its calibrated heads")
        # Per column, the column of the head that vetoes it (-1: none). A head is outranked where
        # its about head's decision value is at least its own: the model reads the message as one
        # about the rule (a notice, a warning), not one that breaks it.
        about = {head: k for k, head in enumerate(self._order) if is_about_rule(head)}
        if any(head[len(ABOUT) :] not in self.heads for head in about):
            raise ValueError("an about head of a head the model does not calibrate")
        self._about = vec[i64]([about.get(about_head(head), -1) for head in self._order])
        self.about = tuple(sorted(head[len(ABOUT) :] for head in about))  # the heads that have one
        # The second stage: per column, the stack's class that scores its head (-1: the column's own
        # probability scores it).
        self.stack = Stack.from_json(meta["stack"])
        self._stack_inputs = StackInputs.of(self._order, self.stack.inputs)
        missing = [h for h in scored if is_stacked(h) and h not in self.stack.classes]
        if missing:
            raise ValueError(f"the stack does not score {', '.join(missing)}")
        self._stacked = vec[i64](
            [self.stack.classes.index(head) if is_stacked(head) else -1 for head in self._order]
        )
        self._none: i64 = self.stack.classes.index(NONE) if NONE in self.stack.classes else -1
        self._gaps = Gaps(self.stack, self._none) if self._none >= 0 else None
        if model.get_dimension() != linear.columns(len(self._order)):
            raise ValueError(f"{model.get_dimension()} columns for {len(self._order)} heads")
        # Reused by every prediction: a detector scores on one thread (the worker's event loop).
        self._hidden = binding.Vector(model.get_dimension())
        self._hidden_values = memoryview(self._hidden)
        self._ids = linear.IdCount(model.get_words(), model.f.getArgs().wordNgrams)
        # Per rule, the dictionary terms and pairings our labelled data shows mostly in harmless
        # messages (streams.content.evidence.term_evidence): the model may veto them.
        self.ambiguous: dict[str, frozenset[frozenset[str]]] = {
            rule: frozenset(frozenset(_terms(entry)) for entry in entries)
            for rule, entries in meta.get("ambiguous_terms", {}).items()
        }
        # content.malicious_link's judge of the hosts no definite link check fires on (link_judge).
        self.links = LinkJudge.from_json(meta["links"]) if meta.get("links") else None
        self.seen: dict[str, frozenset[str]] = {
            rule: frozenset(_terms(entries)) for rule, entries in meta.get("seen_terms", {}).items()
        }

    def is_seen(self, rule: str, terms: tuple[str, ...]) -> bool:
        """Whether every term of a dictionary hit of `rule` fired on some training example
        (streams.content.evidence.term_evidence): the model can judge only words it has read."""
        known = self.seen.get(rule, frozenset())
        return bool(terms) and all(term in known for term in terms)

    def is_ambiguous(self, rule: str, units: tuple[tuple[str, ...], ...]) -> bool:
        """Whether a dictionary hit of `rule` made of `units` (matcher.Hit.units: terms that fire
        alone, `@near` pairings) is one the labelled data shows mostly in harmless messages: as a
        whole, or every unit on its own."""
        known = self.ambiguous.get(rule)
        if not known or not units:
            return False
        whole = frozenset(term for unit in units for term in unit)
        return whole in known or all(frozenset(unit) in known for unit in units)

    @classmethod
    def load(cls, path: Path | str) -> TextClassifier:
        """The model at `path` and its metadata beside it (`NAME.json`); ModelError when either is
        missing, unreadable, not what the metadata describes, or not a fastText model."""
        path = Path(path)
        meta_path = path.with_suffix(".json")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"{path}: cannot read the content model: {exc.strerror}") from None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT}")
            expected = str(meta["sha256"])
        except OSError as exc:
            raise ModelError(f"{meta_path}: cannot read the model metadata: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{meta_path}: not qunguard model metadata ({exc})") from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise ModelError(f"{path}: does not match {meta_path.name} (digest differs): a partial copy?")
        import fasttext  # the C++ library loads only with a model

        try:
            model = fasttext.FastText._FastText(model_path=str(path))
            classifier = cls(model, meta, str(path))
        except (ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: not a usable qunguard model ({exc})") from None
        return classifier

    # -- scoring ------------------------------------------------------------------------------

    def _margins(self, line: str) -> vec[float]:
        """Each head's decision value (in `_order`) for one model line; empty for an empty line."""
        if not line:
            return vec[float]()
        self._model.f.getSentenceVector(self._hidden, line + "\n")
        hidden = cast(list[float], self._hidden_values.tolist())  # a float32 memoryview: floats, not ints
        return linear.margins(hidden, self._intercepts, self._ids(line))

    def scores(self, text: str, view: str | None = None) -> dict[str, float]:
        """The calibrated probability of every head the model knows, 0 where its about head outranks
        it; {} for text with nothing to score. `view`: as for `confident`."""
        line = line_of(text, view)
        found = self._margins(line)
        if len(found) == 0:
            return {}
        stacked = self.stack.probabilities(self._stack_inputs(found, line))
        return {
            head: 0.0 if self._outranked(found, k) else self.calibration[head](self._raw(found, stacked, k))
            for k, head in enumerate(self._order)
            if not head.startswith(ABOUT)
        }

    def _raw(self, found: vec[float], stacked: vec[float], k: i64) -> float:
        """The raw score of column k's head, which its calibration maps: the stack's probability of
        its class, or, for a head the stack does not score, its own margin's."""
        c = self._stacked[k]
        return stacked[c] if c >= 0 else linear.probability(found[k])

    def outranked(self, text: str) -> dict[str, float]:
        """The heads `scores` gives 0 because their about head outranks them, with the calibrated
        score they have otherwise (for `qunguard scan`)."""
        line = model_input(text)
        found = self._margins(line)
        stacked = self.stack.probabilities(self._stack_inputs(found, line)) if len(found) else vec[float]()
        return {
            self._order[k]: self.calibration[self._order[k]](self._raw(found, stacked, k))
            for k in range(len(found))
            if self._outranked(found, k)
        }

    def _outranked(self, found: vec[float], k: i64) -> bool:
        about = self._about[k]
        return about >= 0 and found[about] >= found[k]

    def score(self, text: str, head: str) -> float:
        return self.scores(text).get(head, 0.0)

    def cutoffs(self, thresholds: Mapping[str, float]) -> Cutoffs:
        """Thresholds for `confident`; ModelError for a head the model was not trained on."""
        unknown = sorted(set(thresholds) - set(self.heads))
        if unknown:
            raise ModelError(f"{self.source}: the model has no label for {', '.join(unknown)}")
        raw = {h: self.calibration[h].inverse(t) for h, t in thresholds.items()}
        # A stacked head's margin bounds its class's logit less none's: p = e^z / sum(e^z) is at
        # most 1 / (1 + e^(z_none - z)), so below that difference it cannot pass.
        margins = vec[float](
            [
                -math.inf
                if head in raw and self._stacked[k] >= 0 and self._none < 0
                else least_margin(raw.get(head, 2.0))
                for k, head in enumerate(self._order)
            ]
        )
        return Cutoffs(dict(thresholds), raw, min(raw.values(), default=2.0), margins)

    def confident(self, text: str, cutoffs: Cutoffs, view: str | None = None) -> dict[str, float]:
        """The heads of `cutoffs` whose calibrated score reaches their threshold, with the score.
        `view`: `clause_view(text)`, when the caller has it."""
        if cutoffs.floor > 1.0:
            return {}
        out = {}
        line = line_of(text, view)
        found = self._margins(line)
        margins, stacked_at = cutoffs.margins, self._stacked
        # Each made once, where some head needs it (vecs: `len` 0 until then).
        inputs = vec[float]()
        place: Place | None = None  # the inputs as the gaps read them
        logits = vec[float]()
        stacked = vec[float]()
        for k in range(len(found)):
            m = found[k]
            c = stacked_at[k]
            if c < 0:
                if m < margins[k] or self._outranked(found, k):
                    continue
                p = linear.probability(m)
            else:
                if margins[k] == math.inf or self._outranked(found, k):
                    continue
                if len(logits) == 0:
                    if len(inputs) == 0:
                        inputs = self._stack_inputs(found, line)
                    gaps = self._gaps
                    if gaps is not None:
                        if place is None:
                            place = gaps.place(inputs)
                        if gaps.below(place, c, margins[k]):
                            continue
                    logits = self.stack.logits(inputs)
                if self._none >= 0 and logits[c] - logits[self._none] < margins[k]:
                    continue
                if len(stacked) == 0:
                    stacked = softmax(logits)
                p = stacked[c]
            head = self._order[k]
            if p >= cutoffs.raw[head]:
                out[head] = self.calibration[head](p)
        return out

    def explain(self, text: str, head: str, top: int = 5) -> list[tuple[str, float]]:
        """The character n-grams of the normalised text whose removal lowers the decision value of `head` most
        (occlusion), with that drop, strongest first, non-overlapping; [] when nothing lowers it.
        The decision value (a stacked head's: its class's log odds in the stack), not the calibrated
        score: that saturates at the top of its table."""
        view = model_view(text)
        k = self._order.index(head)
        c = self._stacked[k]

        def decision(v: str) -> float:
            line = tokens(v)
            found = self._margins(line) if line else self._intercepts
            return found[k] if c < 0 else self.stack.log_odds(self._stack_inputs(found, line), c)

        base = decision(view)
        drops = []
        for n in EXPLAIN_ORDERS:
            for i in range(len(view) - n + 1):
                drop = base - decision(view[:i] + view[i + n :])
                if drop > 0:
                    drops.append((drop, -n, i))
        taken: list[tuple[int, int]] = []
        out = []
        for drop, minus_n, i in sorted(drops, reverse=True):
            span = (i, i - minus_n)
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            taken.append(span)
            out.append((view[span[0] : span[1]], round(drop, 3)))
            if len(out) == top:
                break
        return out


def _terms(entry: Any) -> list[str]:
    """One entry of the metadata's `ambiguous_terms`: a list of terms (a term or a pairing)."""
    if not isinstance(entry, list) or not all(isinstance(term, str) for term in entry):
        raise TypeError(f"ambiguous_terms: expected a list of terms, got {entry!r}")
    return entry


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
