"""The training examples: every labelled line, COLD comment and dialogue turn as the line the model
reads (streams.content.reading.model_input), with its label and weight (streams.content.training
says which data and why)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from streams.content.datasets import (
    HELD_OUT_AUTHORS,
    Labelled,
    author_of,
    benign_half,
    read_cold,
    read_dialogues,
)
from streams.content.heads import ABOUT, NONE, about_head
from streams.content.reading import model_input
from streams.core.policy_schema import PUBLIC_INSULT_HEAD


@dataclass(frozen=True, slots=True)
class Example:
    line: str  # the model's input line (streams.content.reading.model_input)
    label: str  # a rule or NONE
    source: str  # cold | benign | author_a …
    weight: int = 1
    text: str = ""  # the original text, for the gates of `train`
    unit: str = ""  # what must not be split across folds (a benign turn's dialogue); "" = the line


def gather(
    labelled: Sequence[Labelled],
    datasets: Path | None,
    oversample: int,
    negative_oversample: int | None = None,
    about_rules: Sequence[str] = (),
    chat_label: str = NONE,
) -> list[Example]:
    """Every training example; `datasets` None trains on the labelled examples alone (tests). A hard
    negative of a rule in `about_rules` is labelled about the rule (heads.about_head), not none;
    the datasets' dialogue turns are labelled `chat_label` (heads.ORDINARY_CHAT: a head of
    their own)."""
    out: list[Example] = []
    for example in never_held_out(labelled):
        author = author_of(example)
        label = example.rule if example.kind == "positive" and example.rule else NONE
        if example.kind == "hard_negative" and example.rule in about_rules:
            label = about_head(example.rule)
        weight = oversample if harmful(label) or negative_oversample is None else negative_oversample
        out.append(Example(model_input(example.text), label, author, weight, example.text))
    if datasets is not None:
        for comment in read_cold(datasets / "cold" / "train.csv"):
            out.append(
                Example(
                    model_input(comment.text),
                    PUBLIC_INSULT_HEAD if comment.offensive else NONE,
                    "cold",
                    text=comment.text,
                )
            )
        for dialogue in read_dialogues(datasets / "benign"):
            if benign_half(dialogue) == "train":
                for turn in dialogue.turns:
                    out.append(Example(model_input(turn), chat_label, "benign", text=turn, unit=dialogue.key))
    return [e for e in out if e.line]


def never_held_out(labelled: Sequence[Labelled]) -> Sequence[Labelled]:
    """`labelled`, or ValueError naming the first example of a held-out author."""
    held = {f"author_{author}" for author in HELD_OUT_AUTHORS}
    for example in labelled:
        if author_of(example) in held:
            raise ValueError(f"{example.source}: {author_of(example)} is held out: never trained on")
    return labelled


def harmful(label: str) -> bool:
    """Whether a training label is a rule's (not none, not about a rule)."""
    return label != NONE and not label.startswith(ABOUT)
