"""What the content model reads of a text: its normalised clauses, bounded, as one fastText line.

The text is normalised as the dictionaries are (NFKC, case folding, traditional → simplified, noise
removed), with a break token pair where one clause ends and the next begins (`clause_view`); links
become a placeholder word and numbers are left out, and only its first `HEAD` and last `TAIL`
characters are kept (`bounded`), so 64 KiB of text, control characters, lone surrogates or 10,000
emoji cost no more than a long chat message (emoji and control characters are noise: they
normalise away). `tokens` spaces the characters out: the model's word n-grams are character
n-grams. Training (streams.content.training) writes the lines the classifier
(streams.content.classifier) scores: `model_input`.
"""

from __future__ import annotations

import re
from functools import cache

from streams.content.normalize import BREAK, NormalizeOptions, Normalizer, closed_up

HEAD, TAIL = 384, 128  # normalised characters scored: the start and the end of a long text
_RAW_SLICE = 4  # raw characters read per scored character (noise normalises away)
MODEL_OPTIONS = NormalizeOptions()  # every step: as the dictionaries are normalised by default


# Where the text breaks between clauses: punctuation that ends one, and white space (not the ASCII
# colon, which every link holds). The model's view holds two BREAK tokens there, so that not even a
# trigram spans two clauses (保密，先别转 holds neither 密先别 nor 密 | 先). A "|" of the text itself is
# noise, as for the dictionaries: these can only be breaks.
_CLAUSE_BREAKS = re.compile(r"[。！？!?；;，,、：\s]+")
_BREAK_PAIR = BREAK * 2
_BREAK_RUN = re.compile(re.escape(BREAK) + "+")


@cache
def _normalizer() -> Normalizer:
    return Normalizer(MODEL_OPTIONS, precompute=True, keep_breaks=True)


def model_view(text: str) -> str:
    """The bounded normalised view the model reads (before tokenisation): the clauses normalised
    (noise removed, traditional → simplified …) and joined by two BREAK tokens."""
    if len(text) > _RAW_SLICE * (HEAD + TAIL):
        text = text[: _RAW_SLICE * HEAD] + text[-_RAW_SLICE * TAIL :]
    return bounded(clause_view(text))


def clause_view(text: str) -> str:
    """`text` normalised under MODEL_OPTIONS with a BREAK wherever clauses break (not yet bounded).
    Without the BREAKs, it is the dictionaries' view of the text under the same options, so the
    content detector computes it once for both (streams.content.detector)."""
    # Regex passes in C: a "|" of the text goes, each run of break characters becomes one BREAK.
    # Spread-out text is closed up first: its spaces are a disguise, not breaks between clauses
    # (垃 圾 员 工 read as four one-character clauses holds no n-gram the model knows).
    if " " in text or "\u3000" in text:
        text = closed_up(text)[0]
    return _normalizer().fast(_CLAUSE_BREAKS.sub(BREAK, text.replace(BREAK, "")))


# Links and long numbers are the structural checks' to judge (streams.content.links, .identifiers).
# The model sees that a link was there (a placeholder word), not its characters, so it cannot learn
# "a URL is malicious" (which fired it on documentation links). Numbers are left out altogether:
# with a placeholder word for long numbers the model learned "a code and a number are a secret" from
# the authors' ID and bank-card examples and fired on invoice and company-registration codes; with
# only those left out, it fired content.confidential at 0.976 on a quality-check tally of short
# numbers. Leaving every number out costs nothing measurable (leave-one-author-out mean average
# precision 0.891 against 0.892 with short numbers kept, ops/model_choice.py), and the identifiers
# check judges personal numbers by their checksums.
_STRUCTURAL = re.compile(r"[0-9]+|(?:https?|ftp|www)[a-z0-9]*")
_ASCII_ALNUM = re.compile(r"[0-9a-z]")  # a quick scan first: most chat has neither


def reads_as_whole(text: str, start: int, end: int) -> bool:
    """Whether the model reads text[start:end] as it reads `text`: only clause breaks outside it
    (a break at either end of a view is dropped) and `text` short enough to be read whole."""
    return (
        len(text) <= _RAW_SLICE * (HEAD + TAIL)
        and (start == 0 or _CLAUSE_BREAKS.fullmatch(text, 0, start) is not None)
        and (end == len(text) or _CLAUSE_BREAKS.fullmatch(text, end) is not None)
    )


def _placeholder(m: re.Match[str]) -> str:
    return "" if m.group(0)[0].isdigit() else "网址"


def bounded(view: str) -> str:
    """A normalised view as the model reads it: links replaced by a placeholder word, numbers left
    out, then at most the first HEAD and the last TAIL characters."""
    if _ASCII_ALNUM.search(view):
        view = _STRUCTURAL.sub(_placeholder, view)
    if BREAK in view:  # a pair between clauses, none at the ends (a number left out leaves none)
        if _BREAK_PAIR in view:  # breaks with only noise or a number between them (rare): one
            view = _BREAK_RUN.sub(BREAK, view)
        view = view.strip(BREAK).replace(BREAK, _BREAK_PAIR)
    return view if len(view) <= HEAD + TAIL else view[:HEAD] + view[-TAIL:]


def tokens(view: str) -> str:
    """One fastText line: the characters separated by spaces (the model's word n-grams are
    character n-grams). str.replace inserts in C, eight times faster than " ".join."""
    return view.replace("", " ")[1:-1]


def characters(line: str) -> int:
    """How many characters a model line holds (`tokens`: one space between each two), counted
    without splitting it."""
    return (len(line) + 1) // 2


def model_input(text: str) -> str:
    """The line the model scores for `text` (training writes the same lines)."""
    return tokens(model_view(text))


def line_of(text: str, view: str | None) -> str:
    """`model_input(text)`, from `view` (`clause_view(text)`) where the caller has it and the text
    is short enough to be read whole."""
    if view is None or len(text) > _RAW_SLICE * (HEAD + TAIL):
        return model_input(text)
    return tokens(bounded(view))
