"""Which held-out model scores a training example: models leave out groups of labelled authors,
and each also a fold of the dataset examples, whole dialogues to one fold (streams.content.training)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from streams.content.datasets import stable_hash
from streams.content.examples import Example


def fold_of(example: Example, folds: int) -> int:
    """Whole dialogues go to one fold: a model that saw one turn of a conversation scores its other
    turns too kindly, and the benign limits were met out of fold more easily than on new chat."""
    return stable_hash(example.unit or example.line, "qunguard-calibration") % folds


def parts(groups: Sequence[frozenset[str]], folds: int) -> Callable[[Example], int]:
    """Which held-out model scores an example: with groups of authors, model k leaves out group k
    and the k-th of as many folds of the dataset examples (one model holds out both, so the
    datasets need no models of their own); without, the k-th of `folds` folds of every example."""
    if not groups:
        return lambda e: fold_of(e, folds)
    group_of = group_index(groups)
    return lambda e: group_of[e.source] if e.source in group_of else fold_of(e, len(groups))


def group_index(groups: Sequence[frozenset[str]]) -> dict[str, int]:
    """Each held-out author's group index (`author_groups`)."""
    return {author: k for k, group in enumerate(groups) for author in group}


def author_groups(authors: Sequence[str], groups: int | None) -> list[frozenset[str]]:
    """The authors each held-out model leaves out together: one each (None), else `groups` groups
    dealt round-robin in an order fixed by a hash of the names, so that authors written in one
    session (adjacent letters) rarely share a group."""
    if groups is None or groups >= len(authors):
        return [frozenset((author,)) for author in authors]
    order = sorted(authors, key=lambda author: stable_hash(author, "qunguard-author-groups"))
    return [frozenset(order[k::groups]) for k in range(groups)]


def held_out_by(authors: Sequence[str], groups: Sequence[frozenset[str]]) -> str:
    if not groups:
        return "none"
    if all(len(group) == 1 for group in groups):
        return "leave-one-author-out over " + ", ".join(authors)
    return f"leaving out one of {len(groups)} groups of authors at a time, over " + ", ".join(authors)
