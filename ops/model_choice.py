"""Which content model: leave-one-author-out figures and scoring cost.

    .venv/bin/python ops/model_choice.py --model '{}' '{"bucket": 262144}' --sklearn '{}' \
        --speed config/model/content.bin

Every variant is trained on what `qunguard model train` reads (COLD train, the benign training
half, the labelled training authors) with one labelled author left out at a time, and scored on
that author: the closest thing to a new author's text. Per rule it prints the average precision
and the best recall at precision >= 0.98 over those scores (threshold-free: no calibration or
policy threshold is involved), one JSON line per variant. `--model` takes TrainingParams overrides
of the shipped model (streams.content.training, .linear: scikit-learn's weights scored by fastText),
`--sklearn` options of scikit-learn's own pipeline over TF-IDF of hashed character 1-3-grams
(`alpha`, `ngram`, `n_features`, `sublinear`; `mean`: counts times IDF over the number of n-grams,
fastText's averaging). `--speed` times one message at a time through a trained model's path and
through scikit-learn's pipeline. docs/eval.md has the figures.
Reads ../shared/datasets at run time; nothing of it is written anywhere.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from streams.content import training
from streams.content.datasets import TRAINING_AUTHORS, read_authors
from streams.content.examples import gather
from streams.content.heads import NONE
from streams.core.policy_schema import PUBLIC_INSULT_HEAD

PRECISION = 0.98


def figures(pairs, labels) -> dict:
    rules = {}
    for i, rule in enumerate(labels):
        if rule in (NONE, PUBLIC_INSULT_HEAD):  # the public head is judged on COLD (qunguard eval)
            continue
        ranked = sorted(((p[i], e.label == rule) for e, p in pairs), key=lambda x: -x[0])
        positives = sum(y for _, y in ranked)
        tp = fp = 0
        ap = best = 0.0
        for _, y in ranked:
            tp, fp = tp + y, fp + (not y)
            if y:
                ap += tp / (tp + fp)
            if tp and tp / (tp + fp) >= PRECISION:
                best = max(best, tp / positives)
        rules[rule] = {"ap": round(ap / positives, 3), "recall_at_p98": round(best, 3)}
    mean = {k: round(sum(r[k] for r in rules.values()) / len(rules), 4) for k in ("ap", "recall_at_p98")}
    return {"mean": mean, "rules": rules}


def model_variant(examples, labels, authors, overrides: dict) -> list:
    """The shipped model's first stage (streams.content.linear) with TrainingParams overrides: each
    head's decision values, which rank as its probabilities do (no second stage)."""
    params = replace(training.TrainingParams(), **overrides)
    # The examples carry the base oversampling as weights: reweigh them as this variant says.
    examples = [
        replace(e, weight=params.oversample if e.label != NONE else params.negative_oversample)
        if e.source.startswith("author_")
        else e
        for e in examples
    ]
    jobs, scored = [], []
    for author in authors:
        test = [e for e in examples if e.source == author]
        jobs.append(training._job([e for e in examples if e.source != author], params, labels, test))
        scored.append(test)
    return training._paired(scored, [probs for probs, _ in training._run(jobs, 2)])


def sklearn_pipeline(options: dict):
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    hashing = HashingVectorizer(
        analyzer="char",
        ngram_range=tuple(options.get("ngram", (1, 3))),
        n_features=options.get("n_features", 1 << 20),
        alternate_sign=False,
        norm=None,
    )
    if options.get("mean"):  # fastText's features: counts times IDF over the number of n-grams
        import scipy.sparse as sp

        def per_ngram(x):
            return sp.diags(1.0 / np.maximum(np.asarray(x.sum(axis=1)).ravel(), 1.0)) @ x

        return make_pipeline(
            hashing, FunctionTransformer(per_ngram, accept_sparse=True),
            TfidfTransformer(norm=None, use_idf=options.get("idf", True)),
            SGDClassifier(loss="modified_huber", alpha=options.get("alpha", 1e-5), max_iter=30, tol=None,
                          random_state=1),
        )  # fmt: skip
    return make_pipeline(
        hashing,
        TfidfTransformer(sublinear_tf=options.get("sublinear", True)),
        SGDClassifier(loss="modified_huber", alpha=options.get("alpha", 1e-5), max_iter=30, tol=None,
                      random_state=1),
    )  # fmt: skip


def sklearn_variant(examples, labels, authors, options: dict) -> list:
    texts = [e.line.replace(" ", "") for e in examples]
    pairs = []
    for author in authors:
        test = [i for i, e in enumerate(examples) if e.source == author]
        rest = [i for i, e in enumerate(examples) if e.source != author]
        model = sklearn_pipeline(options)
        model.fit([texts[i] for i in rest], [labels.index(examples[i].label) for i in rest],
                  sgdclassifier__sample_weight=[examples[i].weight for i in rest])  # fmt: skip
        probs = model.predict_proba([texts[i] for i in test])
        pairs += [(examples[i], tuple(row)) for i, row in zip(test, probs, strict=True)]
    return pairs


def speed(examples, labels, model: Path) -> dict:
    """Microseconds per message, one message per call: the shipped model's path and scikit-learn's
    pipeline fitted on the same examples."""
    from streams.content.classifier import TextClassifier

    lines = [e.line for e in examples[:: max(1, len(examples) // 1000)]]
    shipped = TextClassifier.load(model)
    sk = sklearn_pipeline({})
    sk.fit([e.line.replace(" ", "") for e in examples], [labels.index(e.label) for e in examples])

    def per_message(score) -> float:
        started = time.perf_counter()
        for line in lines:
            score(line)
        return round((time.perf_counter() - started) / len(lines) * 1e6, 1)

    def sk_score(line: str):
        return sk.predict_proba([line.replace(" ", "")])

    out = {"shipped": per_message(shipped._margins), "sklearn": per_message(sk_score)}
    # SGDClassifier.decision_function multiplies by coef_.T: with coef_ in C order (as fitted) that
    # is a Fortran-order (n_features, classes) array, which scipy copies into C order on every call
    # (~100 MB at 2^20 features). The same weights in Fortran order make coef_.T C-contiguous.
    linear = sk.steps[-1][1]
    linear.coef_ = np.asfortranarray(linear.coef_)
    out["sklearn_fortran_coef"] = per_message(sk_score)
    return {"us_per_message": out, "messages": len(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", nargs="*", default=[], metavar="JSON")
    parser.add_argument("--sklearn", nargs="*", default=[], metavar="JSON")
    parser.add_argument("--speed", type=Path, metavar="MODEL", help="a trained model file (content.bin)")
    parser.add_argument(
        "--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets"
    )
    parser.add_argument("--authors", default=",".join(TRAINING_AUTHORS))
    args = parser.parse_args()
    base = training.TrainingParams()
    examples = gather(
        read_authors(args.authors.split(",")), args.datasets, base.oversample, base.negative_oversample
    )
    labels = tuple(sorted({e.label for e in examples}))
    authors = sorted({e.source for e in examples if e.source.startswith("author_")})
    for library, variants, run in (
        ("model", args.model, model_variant),
        ("sklearn", args.sklearn, sklearn_variant),
    ):
        for spec in variants:
            started = time.monotonic()
            result = figures(run(examples, labels, authors, json.loads(spec)), labels)
            seconds = round(time.monotonic() - started)
            print(
                json.dumps({"library": library, "variant": json.loads(spec), "seconds": seconds, **result}),
                flush=True,
            )
    if args.speed:
        print(json.dumps({"speed": speed(examples, labels, args.speed)}), flush=True)


if __name__ == "__main__":
    main()
