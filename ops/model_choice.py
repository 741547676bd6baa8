"""Which learning library for the content model: leave-one-author-out figures and scoring cost.

    .venv/bin/python ops/model_choice.py --fasttext '{}' '{"bucket": 262144, "epoch": 25}' \
        --sklearn '{}' --speed
    .venv/bin/python ops/model_choice.py --cascade 0.01 0.1 0.3

Every variant is trained on what `qunguard model train` reads (COLD train, the benign training
half, the labelled training authors) with one labelled author left out at a time, and scored on
that author: the closest thing to a new author's text. Per rule it prints the average precision
and the best recall at precision >= 0.98 over those scores (threshold-free: no calibration or
policy threshold is involved), one JSON line per variant. `--fasttext` takes TrainingParams
overrides (streams.content.training), `--sklearn` options of a linear model over TF-IDF of hashed
character 1-3-grams (`alpha`, `ngram`, `n_features`). `--cascade` scores the two in a cascade: the
linear model's score counts only where fastText gives some rule at least the gate's probability
(left-out author's examples gated out score 0), and prints the share of the left-out authors'
non-violations that pass the gate. `--speed` times one message at a time through each library's
own scoring path, as the detector calls it. docs/eval.md has the figures.
Reads ../shared/datasets at run time; nothing of it is written anywhere.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from streams.content import training
from streams.content.classifier import NONE
from streams.content.datasets import TRAINING_AUTHORS, read_authors
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


def fasttext_variant(examples, labels, authors, overrides: dict) -> list:
    params = replace(training.TrainingParams(), **overrides)
    # The examples carry the base oversampling as weights: reweigh them as this variant says.
    examples = [
        replace(e, weight=params.oversample if e.label != NONE else params.negative_oversample)
        if e.source.startswith("author_")
        else e
        for e in examples
    ]
    jobs, scored = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for author in authors:
            test = [e for e in examples if e.source == author]
            rest = [e for e in examples if e.source != author]
            path = training._write(rest, Path(tmp) / f"{author}.txt", params.seed)
            jobs.append(training._Job(path, params.fasttext_args(), labels, training._lines(test)))
            scored.append(test)
        return training._paired(scored, training._run(jobs, 2))


def sklearn_pipeline(options: dict):
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        HashingVectorizer(analyzer="char", ngram_range=tuple(options.get("ngram", (1, 3))),
                          n_features=options.get("n_features", 1 << 20), alternate_sign=False, norm=None),
        TfidfTransformer(sublinear_tf=True),
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


def cascade(examples, labels, authors, gates: list[float]) -> list[dict]:
    """Figures of fastText (as shipped) gating the linear model (defaults), one per gate."""
    ft = {(e.source, e.line, e.label): p for e, p in fasttext_variant(examples, labels, authors, {})}
    sk = sklearn_variant(examples, labels, authors, {})
    rules = [i for i, label in enumerate(labels) if label != NONE]
    out = []
    for gate in gates:
        pairs, passed, negatives = [], 0, 0
        for e, p in sk:
            f = ft[(e.source, e.line, e.label)]  # a repeated line has one score: same text, same fold
            through = max(f[i] for i in rules) >= gate
            if e.label == NONE:
                negatives, passed = negatives + 1, passed + through
            pairs.append((e, p if through else (0.0,) * len(p)))
        found = figures(pairs, labels)
        out.append({"gate": gate, "mean": found["mean"], "negatives_through": round(passed / negatives, 3)})
    return out


def speed(examples, labels) -> dict:
    """Microseconds per message, one message per call, for a model of each library."""
    import fasttext

    lines = [e.line for e in examples[:: max(1, len(examples) // 1000)]]
    with tempfile.TemporaryDirectory() as tmp:
        path = training._write(examples, Path(tmp) / "all.txt", 1)
        ft = fasttext.train_supervised(path, **training.TrainingParams().fasttext_args())
    sk = sklearn_pipeline({})
    sk.fit([e.line.replace(" ", "") for e in examples], [labels.index(e.label) for e in examples])

    def per_message(score) -> float:
        started = time.perf_counter()
        for line in lines:
            score(line)
        return round((time.perf_counter() - started) / len(lines) * 1e6, 1)

    def sk_score(line: str):
        return sk.predict_proba([line.replace(" ", "")])

    out = {
        "fasttext": per_message(lambda line: ft.f.predict(line + "\n", -1, 0.0, "replace")),
        "sklearn": per_message(sk_score),
    }
    # SGDClassifier.decision_function multiplies by coef_.T: with coef_ in C order (as fitted) that
    # is a Fortran-order (n_features, classes) array, which scipy copies into C order on every call
    # (~100 MB at 2^20 features). The same weights in Fortran order make coef_.T C-contiguous.
    linear = sk.steps[-1][1]
    linear.coef_ = np.asfortranarray(linear.coef_)
    out["sklearn_fortran_coef"] = per_message(sk_score)
    return {"us_per_message": out, "messages": len(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fasttext", nargs="*", default=[], metavar="JSON")
    parser.add_argument("--sklearn", nargs="*", default=[], metavar="JSON")
    parser.add_argument("--cascade", nargs="*", type=float, default=[], metavar="GATE")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument(
        "--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets"
    )
    parser.add_argument("--authors", default=",".join(TRAINING_AUTHORS))
    args = parser.parse_args()
    base = training.TrainingParams()
    examples = training.gather(
        read_authors(args.authors.split(",")), args.datasets, base.oversample, base.negative_oversample
    )
    labels = tuple(sorted({e.label for e in examples}))
    authors = sorted({e.source for e in examples if e.source.startswith("author_")})
    for library, variants, run in (
        ("fasttext", args.fasttext, fasttext_variant),
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
    for row in cascade(examples, labels, authors, args.cascade) if args.cascade else ():
        print(json.dumps({"cascade": row}), flush=True)
    if args.speed:
        print(json.dumps({"speed": speed(examples, labels)}), flush=True)


if __name__ == "__main__":
    main()
