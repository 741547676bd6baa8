"""The `qunguard eval` command: its arguments, the policy and data it reads, and the document it
writes (agents.cli.eval builds it, agents.cli.eval_tables prints it as tables)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.cli.eval import (
    DESCRIPTION,
    ERROR,
    SECTIONS,
    EvalOptions,
    FoldTrainer,
    default_corpus,
    default_datasets,
    run_eval,
)
from streams.content.datasets import LABELLED_DIR, DatasetError, Labelled
from streams.content.verdict import ModelSettings
from streams.core.policy import Policy


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="per-rule precision/recall/F1 of the content engine: cross-validation, held-out authors, COLD, "
        "benign dialogues",
        description=DESCRIPTION,
    )
    p.add_argument("--policy", metavar="FILE", help="policy TOML (default: config/policy.toml)")
    p.add_argument("--json", action="store_true", help="one JSON document instead of the tables")
    p.add_argument("--quick", action="store_true", help="a fixed tenth of every set (a smoke test)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--only", metavar="SECTIONS", help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--labelled", metavar="DIR", default=str(LABELLED_DIR), help="the labelled author_*.jsonl")
    p.add_argument("--datasets", metavar="DIR", help="the shared datasets (default: $QUNGUARD_DATASETS or "
                   "../shared/datasets beside the checkout)")  # fmt: skip
    p.add_argument("--corpus", metavar="DIR", help="the shared corpus (default: $QUNGUARD_CORPUS or "
                   "../shared/corpus beside the checkout)")  # fmt: skip
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--keep-folds", metavar="DIR", help="keep each fold's model in DIR and reuse it while "
                   "the fold's examples are the same (empty DIR after changing the training)")  # fmt: skip
    p.set_defaults(func=main_eval)


def main_eval(args: argparse.Namespace) -> int:
    import dataclasses
    import tempfile

    import streams.content.detector  # noqa: F401  (the compiled hot path, for the staleness check)
    from agents.bench.build import stale_modules
    from streams.content.dictionary import DictionaryError
    from streams.core.policy import PolicyError, load_policy

    stale = stale_modules()
    if stale:
        print(
            f"qunguard eval: {', '.join(stale)} changed since compiled: run `make compiled`", file=sys.stderr
        )
        return ERROR
    sections = tuple(s.strip() for s in args.only.split(",")) if args.only else SECTIONS
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or args.folds < 2:
        problem = f"unknown section(s) {', '.join(unknown)}" if unknown else "--folds must be at least 2"
        print(f"qunguard eval: {problem}", file=sys.stderr)
        return ERROR
    try:
        policy = load_policy(args.policy)
        datasets = Path(args.datasets) if args.datasets else default_datasets()
        options = EvalOptions(
            policy=policy,
            labelled=Path(args.labelled),
            datasets=datasets,
            corpus=Path(args.corpus) if args.corpus else default_corpus(),
            folds=args.folds,
            quick=args.quick,
            sections=sections,
            trainer=fold_trainer(policy, datasets, args.quick),
        )
        if args.keep_folds and options.trainer is not None:
            keep = Path(args.keep_folds)
            keep.mkdir(parents=True, exist_ok=True)
            kept = KeptFolds(options.trainer, policy, str(datasets.resolve()))
            doc = run_eval(dataclasses.replace(options, trainer=kept), keep)
        else:
            with tempfile.TemporaryDirectory(prefix="qunguard-eval-") as workdir:
                doc = run_eval(options, Path(workdir))
    except (PolicyError, DictionaryError, DatasetError, OSError) as exc:
        print(f"qunguard eval: {exc}", file=sys.stderr)
        return ERROR
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        if args.json:
            print(json.dumps(doc, ensure_ascii=False, indent=2), file=out)
        else:
            from agents.cli.eval_tables import render

            render(doc, out)
    finally:
        if args.out:
            out.close()
    return 0


def fold_trainer(policy: Policy, datasets: Path, quick: bool) -> FoldTrainer | None:
    """How to retrain the model for one fold (agents.cli.model.train_fold, on the fold's labelled
    examples plus the datasets' training parts), or None: the policy runs no model, or `quick`."""
    if quick or not ModelSettings.from_section(policy.section("content").get("model", {})).enabled:
        return None
    from agents.cli.model import train_fold

    def trainer(training: Sequence[Labelled], workdir: Path) -> Policy:
        return train_fold(training, workdir, policy, datasets)

    return trainer


@dataclass(frozen=True, slots=True)
class KeptFolds:
    """A FoldTrainer that keeps each fold's model in the fold's folder and trains again only when
    the fold's examples (or the datasets folder) differ from those the kept model was trained on
    (`--keep-folds`): the same fold models then judge one decision change after another in seconds
    instead of a retraining each. A change to the training itself is not seen: empty the folder."""

    trainer: FoldTrainer
    policy: Policy
    salt: str = ""  # what else the fold trains on: the datasets folder

    def __call__(self, training: Sequence[Labelled], workdir: Path) -> Policy:
        from streams.content.detector import replace_model

        stamp = workdir / STAMP
        digest = self.digest(training)
        try:
            kept = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = None
        kept = kept if isinstance(kept, dict) else {}
        model = kept.get("model")
        path = model.get("path") if isinstance(model, dict) else None
        if kept.get("examples") == digest and isinstance(path, str) and Path(path).is_file():
            print(f"eval: cv: {workdir.name}: the model kept in {workdir}", file=sys.stderr)
            return replace_model(self.policy, **model)
        workdir.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        trained = self.trainer(training, workdir)
        # What the trainer set (the model's path): the run's own settings (thresholds, vetoes) apply
        # to a kept model, which is the point of keeping it.
        ours = self.policy.section("content").get("model", {})
        model = {k: v for k, v in trained.section("content")["model"].items() if ours.get(k) != v}
        stamp.write_text(
            json.dumps({"examples": digest, "model": model}, ensure_ascii=False), encoding="utf-8"
        )
        return trained

    def digest(self, training: Sequence[Labelled]) -> str:
        h = hashlib.sha256(self.salt.encode())
        for e in training:
            h.update(f"\0{e.rule or ''}\0{e.kind}\0{e.text}".encode())
        return h.hexdigest()


STAMP = "kept.json"  # in a fold's folder: the digest of its examples and the model settings the trainer set
