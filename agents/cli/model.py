"""`qunguard model train [--out DIR]`: train the content classifier (streams.content.training) on
../shared/datasets (COLD train, the training half of the benign dialogues) and the labelled authors
a and b, and write `content.bin` + `content.json` to DIR (default: config/model/, the shipped model).
Deterministic: the same inputs give the same bytes. Prints a short summary: data, time, size and
each rule's suggested threshold with its leave-one-author-out precision and recall.

`train_fold(training, workdir, policy)` is the same training on a given set of labelled examples,
returning a policy that loads the fold's model (`qunguard eval` retrains per fold with it).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from config import CONFIG_DIR
from streams.content.params import TrainingParams
from streams.content.training import train
from streams.core.policy_schema import CONTENT_RULES

MODEL_DIR = CONFIG_DIR / "model"
ERROR = 2


def add_model_parser(sub: argparse._SubParsersAction) -> None:
    model = sub.add_parser("model", help="the learned content classifier").add_subparsers(
        dest="action", required=True
    )
    p = model.add_parser("train", help="train the content classifier (deterministic) and write model + JSON")
    p.add_argument("--out", metavar="DIR", help=f"where to write content.bin/.json (default: {MODEL_DIR})")
    p.add_argument(
        "--datasets",
        metavar="DIR",
        help="the public datasets (default: $QUNGUARD_DATASETS or ../shared/datasets)",
    )
    p.add_argument("--labelled", metavar="DIR", help="folder of author_*.jsonl (default: config/labelled)")
    p.add_argument(
        "--feedback",
        metavar="FILE",
        action="append",
        default=[],
        help="reviewers' labelled examples (`qunguard review export FILE`) to train on too; repeatable",
    )
    p.add_argument("--workers", type=int, default=2, help="training processes in parallel (default 2)")
    p.add_argument(
        "--policy",
        metavar="FILE",
        help="policy TOML whose [content.model] needs_target heads are trained as gated (default: the shipped one)",
    )
    p.add_argument(
        "--about",
        metavar="RULE",
        action="append",
        choices=CONTENT_RULES,
        help="a rule whose hard negatives get an about head that vetoes it (repeatable; default: "
        f"{', '.join(TrainingParams().about_rules)}; docs/eval.md)",
    )
    p.set_defaults(func=cmd_model_train)


def cmd_model_train(args: argparse.Namespace) -> int:
    from agents.cli.eval import default_datasets
    from streams.content.datasets import LABELLED_DIR, DatasetError
    from streams.content.detector import model_gates, model_words
    from streams.core.policy import PolicyError, load_policy

    datasets = Path(args.datasets) if args.datasets else default_datasets()
    out = Path(args.out) if args.out else MODEL_DIR
    try:
        if not (datasets / "cold" / "train.csv").is_file():
            raise DatasetError(f"{datasets}: no cold/train.csv (pass --datasets DIR)")
        policy = load_policy(args.policy)
        labelled = training_examples(Path(args.labelled) if args.labelled else LABELLED_DIR, args.feedback)
        params = None if args.about is None else TrainingParams(about_rules=tuple(args.about))
        return run_train(
            labelled,
            datasets,
            out,
            max(1, args.workers),
            sys.stdout,
            model_gates(policy),
            model_words(policy),
            params,
            link_reading(policy),
        )
    except (DatasetError, PolicyError, OSError, ValueError, RuntimeError) as exc:
        print(f"qunguard model train: {exc}", file=sys.stderr)
        return ERROR


def training_examples(folder: Path, feedback: Sequence[str] = ()) -> list:
    """The training authors' examples, then the reviewers' exported ones (`qunguard review export`):
    those are not an author, so never left out or held out."""
    from streams.content.datasets import TRAINING_AUTHORS, read_authors, read_labelled

    labelled = read_authors(TRAINING_AUTHORS, folder)
    for path in feedback:
        labelled += read_labelled(Path(path))
    return labelled


def run_train(
    labelled,
    datasets: Path | None,
    out: Path,
    workers: int,
    report: TextIO,
    gates: Mapping | None = None,
    words: Callable | None = None,
    params: TrainingParams | None = None,
    links: Callable | None = None,
) -> int:
    from streams.content.classifier import model_version

    started = time.perf_counter()
    result = train(
        labelled,
        datasets,
        out,
        params or TrainingParams(),
        workers=workers,
        gates=gates,
        words=words,
        links=links,
    )
    seconds = time.perf_counter() - started
    meta = result.meta
    size = result.model.stat().st_size
    print(f"model {meta['name']} {model_version(meta)}: {result.model} ({size / 1e6:.1f} MB)", file=report)
    print(f"trained in {seconds:.0f} s on {sum(_counts(result.data).values())} examples:", file=report)
    for source, count in _counts(result.data).items():
        print(f"  {source:<12} {count}", file=report)
    print(f"suggested thresholds ({meta['cross_validation']['thresholds_from']}):", file=report)
    gated = meta["cross_validation"]["gated_heads"]
    about = meta["cross_validation"].get("about_heads", [])
    figures = meta["cross_validation"]["at_suggested_threshold"]
    for rule, threshold in meta["suggested_thresholds"].items():
        if threshold is None:
            print(f"  {rule:<22} none reaches the precision target", file=report)
            continue
        f = figures[rule]
        cold = f.get("cold_train_oof_balanced_accuracy")
        judged = (
            f"COLD train balanced accuracy {cold} (out of fold)"
            if cold is not None
            else f"precision {f['precision']}  recall {f['recall']}"
        )
        gate = "  (only where a group of people is named)" if rule in gated else ""
        gate += "  (unless its about head scores higher)" if rule in about else ""
        print(
            f"  {rule:<22} {threshold:<5}  {judged}  benign fired {f['benign_fired']:.3%}{gate}", file=report
        )
    return 0


def link_reading(policy) -> Callable:
    """The policy's link checks' reading of a text, for the link judge's training (link_judge.trained)."""
    from streams.content.links import LinkChecker, LinkPolicy

    return LinkChecker(LinkPolicy.from_section(policy.section("content"))).reading


def _counts(data: dict[str, int]) -> dict[str, int]:
    """Examples per source (before oversampling)."""
    out: dict[str, int] = {}
    for key, count in data.items():
        source = key.partition(":")[0]
        out[source] = out.get(source, 0) + count
    return out


def train_fold(training: Sequence, workdir: Path, policy, datasets: Path | None = None):
    """Train on `training` (labelled examples) plus the datasets; the policy that loads the result."""
    from agents.cli.eval import default_datasets
    from streams.content.detector import model_gates, model_words, replace_model

    datasets = datasets or default_datasets()
    result = train(
        training,
        datasets,
        workdir,
        gates=model_gates(policy),
        words=model_words(policy),
        links=link_reading(policy),
    )
    return replace_model(policy, path=str(result.model.resolve()))
