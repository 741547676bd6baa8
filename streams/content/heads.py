"""The content model's heads and what its second stage reads: a rule's head, its about head, the
ordinary-chat head, and the inputs `StackInputs` builds from their decision values. Training
(streams.content.training) writes them, the classifier (streams.content.classifier) reads them."""

from __future__ import annotations

import math
from collections.abc import Sequence

from librt.vecs import append, vec
from mypy_extensions import i64

from streams.content.reading import characters

# The stack's last input, after the heads' decision values: log(1 + the model line's characters). A
# decision value is an average over the line's n-grams, so a short line's rests on a few of them.
# Leaving groups of training authors out, mean recall at the thresholds rose 0.726 -> 0.741 with it
# (docs/eval.md, twenty-third session).
LENGTH = "#length"
NONE = "none"  # the label of text that violates no rule
ABOUT = "about:"  # the prefix of a head that fires nothing; a rule's (`about_head`) vetoes the rule
# Ordinary conversation (the datasets' dialogue turns) as a head of its own, not folded into none: it
# fires and vetoes nothing, and the second stage reads it beside the rules' heads. Chit-chat shares
# the words of banter with insults and threats ("you're a pig", "I'll kill you" in jest), and the
# ordinary-chat budget held those heads' thresholds up; with this head the stack learns the register
# (training.TrainingParams.chat_head says what it bought).
ORDINARY_CHAT = ABOUT + "chat"
# The stack's inputs after LENGTH: a head's decision value less the ordinary-chat head's, named the
# head + VERSUS_CHAT (`StackInputs`). The stack adds up one bent line per input, so it cannot learn
# from the two decision values apart that an insult scored high means less where chat scores as
# high; from their difference it can (training.TrainingParams.versus_chat says what it bought).
VERSUS_CHAT = " - " + ORDINARY_CHAT


def rule_of(head: str) -> str:
    """The rule a model head fires: `content.insult#public` → `content.insult`."""
    return head.partition("#")[0]


def is_stacked(head: str) -> bool:
    """Whether the second stage (streams.content.stack) scores `head`: a workplace rule's head, not
    an about head and not one learned from another register (`content.insult#public`)."""
    return not head.startswith(ABOUT) and "#" not in head


def is_about_rule(head: str) -> bool:
    """Whether `head` is a rule's about head (it vetoes the rule), not the ordinary-chat head."""
    return head.startswith(ABOUT) and head != ORDINARY_CHAT


def about_head(head: str) -> str:
    """The label of messages about `head`'s rule that do not break it (its hard negatives: a
    secrecy training notice for content.confidential), where training gives them a head of their own."""
    return ABOUT + head


def length_input(line: str) -> float:
    """The stack's `LENGTH` input for a model line: log(1 + its characters)."""
    return math.log1p(characters(line))


class StackInputs:
    """What the second stage reads for a model line, in its `inputs` order (`names`): every head's
    decision value, `LENGTH`, then for each head of `versus` its decision value less the
    ordinary-chat head's (named head + `VERSUS_CHAT`). Training builds its rows with it too."""

    def __init__(self, heads: Sequence[str], versus: Sequence[str] = ()) -> None:
        if versus and ORDINARY_CHAT not in heads:
            raise ValueError("a difference from the ordinary-chat head in a model without it")
        self._chat: i64 = list(heads).index(ORDINARY_CHAT) if versus else -1
        self._versus: vec[i64] = vec[i64]([list(heads).index(head) for head in versus])
        self.names = (*heads, LENGTH, *(head + VERSUS_CHAT for head in versus))

    @classmethod
    def of(cls, heads: Sequence[str], names: Sequence[str]) -> StackInputs:
        """The inputs of a stack reading `names` over a model with `heads`; ValueError where a
        name is not one of them."""
        versus = [name.removesuffix(VERSUS_CHAT) for name in names[len(heads) + 1 :]]
        if all(head in heads for head in versus):
            inputs = cls(heads, versus)
            if inputs.names == tuple(names):
                return inputs
        raise ValueError("the stack reads other columns than the model has")

    def __call__(self, margins: vec[float], line: str) -> vec[float]:
        versus = self._versus
        row = vec[float](capacity=len(margins) + 1 + len(versus))
        for k in range(len(margins)):
            row = append(row, margins[k])
        row = append(row, length_input(line))
        if self._chat >= 0:
            chat = margins[self._chat]
            for i in range(len(versus)):
                row = append(row, margins[versus[i]] - chat)
        return row
