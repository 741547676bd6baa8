"""The content model's weights: a linear model over a message's character n-grams, fitted by
scikit-learn and stored in a fastText model file, so that fastText's C++ does the per-message work.

Why both libraries. Leaving one labelled author out at a time, a linear model over TF-IDF weights
of character 1-3-grams ranks violations better than fastText's own training over the same n-grams
(docs/eval.md, "One model: scikit-learn's weights in fastText's file"), while fastText scores a
message in a few microseconds and scikit-learn's pipeline in about a millisecond. fastText's
supervised model averages its input rows over a line's ids (the characters it knows, the end of
line, and the hashed bigrams and trigrams of the characters' hashes: `line_ids` reproduces them).
So the file's input rows hold, for id f with inverse document frequency idf_f and head weights w_fk,

    columns 0..H-1:  idf_f * w_fk     column H: idf_f ** 2
    (and zeros up to a multiple of 16 columns: `columns`)

and from the average h over a line's n ids (`margins`; `IdCount` counts them from the line):

    h_k * sqrt(n / h_H) + b_k  =  sum_f c_f idf_f w_fk / sqrt(sum_f c_f idf_f ** 2) + b_k

(c_f: how often id f occurs), the decision function of a linear model over counts × IDF normalised
by sqrt(sum_f c_f idf_f ** 2): the features `fit` trains on. For text without repeated n-grams that
is the usual L2-normalised TF-IDF.
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from librt.vecs import append, vec

from streams.content.reading import characters

EOS = "</s>"  # fastText's end-of-line word: every line has exactly one
_MASK64 = (1 << 64) - 1
_NGRAM_PRIME = 116049371  # fastText's multiplier when it hashes a word n-gram
_MAGIC, _VERSION = 793712314, 12  # fastText's model file signature
_SUPERVISED, _SOFTMAX = 3, 3  # fastText's enums: model and loss


def word_hash(token: str) -> int:
    """fastText's hash of a word: 32-bit FNV-1a over its UTF-8 bytes, each byte read as a signed
    char (so the bytes of a Chinese character are sign-extended before the xor)."""
    h = 2166136261
    for byte in token.encode("utf-8"):
        h = ((h ^ (byte if byte < 0x80 else byte | 0xFFFFFF00)) * 16777619) & 0xFFFFFFFF
    return h


def line_ids(line: str, words: dict[str, int], nwords: int, bucket: int, ngrams: int) -> list[int]:
    """The input rows fastText averages for `line` (space-separated words, no newline): the known
    words, the end of line, then every n-gram of 2..`ngrams` consecutive words' hashes (unknown
    words included) in its bucket after the `nwords` word rows."""
    tokens = [*line.split(), EOS]
    ids = [words[t] for t in tokens if t in words]
    # fastText keeps a word's hash as int32 and widens it to uint64 with the sign.
    hashes = [(h - (1 << 32) if h >= 1 << 31 else h) & _MASK64 for h in map(word_hash, tokens)]
    for i in range(len(hashes)):
        h = hashes[i]
        for j in range(i + 1, min(len(hashes), i + ngrams)):
            h = (h * _NGRAM_PRIME + hashes[j]) & _MASK64
            ids.append(nwords + h % bucket)
    return ids


def _known(line: str, words: dict[str, int]) -> int:
    """How many of the ids `line_ids` gives `line` come first as known words (the end of line too)."""
    return sum(1 for token in [*line.split(), EOS] if token in words)


def columns(heads: int) -> int:
    """The file's columns for `heads`: the heads and the IDF squared, padded with zeros to a
    multiple of 16, so that a row is one 64-byte cache line (14 columns scored long messages ~35 %
    slower in the engine, and 32 columns 6-15 % slower than 16: docs/bench.md)."""
    return -(-(heads + 1) // 16) * 16


class IdCount:
    """How many ids fastText averages for a line of one-character words (reading.tokens): the
    characters of `words` (the model's dictionary), the end of line, and every n-gram of 2..`ngrams`
    consecutive words, unknown ones included (`line_ids`). Counted from the line, so that the file
    needs no column for it."""

    __slots__ = ("_ngrams", "_unknown")

    def __init__(self, words: Iterable[str], ngrams: int) -> None:
        chars = sorted(w for w in words if w != EOS)
        if any(len(w) != 1 for w in chars):
            raise ValueError("a dictionary word of more than one character")
        self._unknown = re.compile("[^" + "".join(map(re.escape, chars)) + "]")
        self._ngrams = ngrams

    def __call__(self, line: str) -> int:
        tokens = characters(line) + 1  # and the end of line
        span = self._ngrams - 1  # each token starts up to `span` n-grams
        if tokens - 1 <= span:
            grams = tokens * (tokens - 1) // 2
        else:
            grams = span * (span + 1) // 2 + span * (tokens - 1 - span)
        # line[::2]: the characters without the spaces, half the line for the regex to scan.
        return tokens - len(self._unknown.findall(line[::2])) + grams


def margins(hidden: list[float], intercepts: vec[float], ids: int) -> vec[float]:
    """Each head's decision value from fastText's average row `hidden` (columns as above) over a
    line's `ids` ids (`IdCount`). A vec of unboxed floats, which the compiled stack and
    calibrations index without an object per value (streams.content.stack)."""
    heads = len(intercepts)
    squares = hidden[heads]
    if squares <= 0.0 or ids <= 0:  # nothing averaged
        return intercepts
    norm = math.sqrt(ids / squares)
    out = vec[float](capacity=heads)
    for k in range(heads):
        out = append(out, hidden[k] * norm + intercepts[k])
    return out


def probability(margin: float) -> float:
    """The raw score calibration tables map: a margin squashed into (0, 1), order kept."""
    if margin >= 0.0:
        return 1.0 / (1.0 + math.exp(-margin))
    e = math.exp(margin)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class LinearFit:
    """What `fit` returns: fastText's input rows (ids × `columns`) and the heads' intercepts."""

    rows: Any  # numpy float32 array
    intercepts: tuple[float, ...]


def fit(
    lines: Sequence[str],
    labels: Sequence[str],
    weights: Sequence[float],
    heads: Sequence[str],
    words: Sequence[str],
    bucket: int,
    ngrams: int,
    alpha: float,
    seed: int,
    rules: Collection[str] = (),
    other_rule_weight: float = 1.0,
    writers: Sequence[str] = (),
    min_writers: int = 1,
) -> LinearFit:
    """Fit one-vs-rest linear classifiers of `heads` over the lines' fastText ids weighted as above,
    and lay their weights out as fastText input rows. `words`: the fastText dictionary's words in id
    order; a label outside `heads` (none) is every head's negative.

    liblinear's exact solver (scikit-learn's LinearSVC: squared hinge loss, L2 penalty `alpha` per
    unit of example weight, C = 1 / (alpha × the summed weights)), not stochastic gradient descent:
    SGD stopped where its shuffle led, and two seeds' engines fired differently on 53 of 22,615
    untuned texts; the solver converges to the one optimum, and two seeds' engines differ on 2 of
    them (docs/eval.md, fourteenth session). `seed` only orders its coordinate steps.

    For a head in `rules`, an example labelled another of `rules` weighs `other_rule_weight` of its
    weight: rules overlap (a defamation often insults, an inflammatory post may spread a rumour),
    so another rule's violation is weaker evidence against a head than ordinary text.

    A character or an n-gram that lines of fewer than `min_writers` of `writers` (one per line: a
    labelled author, or the line itself for public text) hold is left out of training (an n-gram
    before it is hashed to its bucket): what only one author writes is that author's habit, and
    each bucket's weight is otherwise fitted to it too. A row no line keeps has IDF 0, so it
    weighs nothing and adds nothing to a line's norm in fastText's reading either."""
    import numpy as np
    from scipy import sparse
    from sklearn.svm import LinearSVC

    index = {w: i for i, w in enumerate(words)}
    nwords = len(words)
    width = nwords + bucket
    indptr, indices = [0], []
    if min_writers <= 1:
        for line in lines:
            indices.extend(line_ids(line, index, nwords, bucket, ngrams))
            indptr.append(len(indices))
    else:
        if len(writers) != len(lines):
            raise ValueError("min_writers needs one writer per line")
        # Each n-gram by its whole 64-bit hash h, before the bucket's modulo (line_ids with no word
        # rows before the buckets: a word keeps its id, an n-gram's id is h), and a flag telling
        # the two apart: nwords + h itself may pass 2^64.
        keyed = [np.array(line_ids(line, index, 0, 1 << 64, ngrams), dtype=np.uint64) for line in lines]
        sizes = [len(k) for k in keyed]
        keys = np.concatenate(keyed)
        gram = np.concatenate(
            [np.arange(size) >= _known(line, index) for line, size in zip(lines, sizes, strict=True)]
        )
        by = np.repeat(np.unique(np.asarray(writers), return_inverse=True)[1], sizes)
        order = np.lexsort((by, keys, gram))  # by feature (a word or an n-gram, then its key), then writer
        held, held_gram, held_by = keys[order], gram[order], by[order]
        feature = np.ones(len(held), dtype=bool)  # where the sorted ids start another feature
        feature[1:] = (held[1:] != held[:-1]) | (held_gram[1:] != held_gram[:-1])
        first = feature.copy()  # and where another writer of the same feature
        first[1:] |= held_by[1:] != held_by[:-1]
        which = np.cumsum(feature) - 1
        kept = np.empty(len(keys), dtype=bool)
        kept[order] = np.bincount(which[first])[which] >= min_writers
        owner = np.repeat(np.arange(len(lines)), sizes)[kept]
        keys, gram = keys[kept], gram[kept]
        ids = keys.astype(np.int64)  # a word's id; an n-gram's becomes its bucket's row
        ids[gram] = nwords + (keys[gram] % np.uint64(bucket)).astype(np.int64)
        indices = ids.tolist()
        indptr = np.searchsorted(owner, np.arange(len(lines) + 1)).tolist()
    counts = sparse.csr_matrix(
        (np.ones(len(indices), dtype=np.float64), np.array(indices, dtype=np.int64), np.array(indptr)),
        shape=(len(lines), width),
    )
    counts.sum_duplicates()
    documents = np.bincount(counts.indices, minlength=width)
    idf = np.log((1.0 + len(lines)) / (1.0 + documents)) + 1.0  # scikit-learn's smoothed IDF
    if min_writers > 1:  # a row no line kept weighs nothing and adds nothing to a norm
        idf[documents == 0] = 0.0
    x = counts @ sparse.diags(idf)
    norms = np.sqrt(np.asarray(counts @ (idf**2)[:, None]).ravel())
    x = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ x
    rows = np.zeros((width, columns(len(heads))), dtype=np.float32)
    intercepts = []
    weight = np.asarray(weights, dtype=np.float64)
    violation = np.array([label in rules for label in labels], dtype=bool)
    for k, head in enumerate(heads):
        truth = np.array([label == head for label in labels])
        if not truth.any():
            intercepts.append(-10.0)
            continue
        sample_weight = weight
        if head in rules:
            sample_weight = np.where(violation & ~truth, weight * other_rule_weight, weight)
        # dual=True: scikit-learn's "auto" takes the primal solver once the examples outnumber the
        # features (65,536 buckets and the characters): about three times the CPU on 34 authors.
        total = float(sample_weight.sum())
        model = LinearSVC(C=1.0 / (alpha * total), dual=True, tol=1e-4, max_iter=5000, random_state=seed)
        model.fit(x, truth, sample_weight=sample_weight)
        rows[:, k] = idf * model.coef_[0]
        intercepts.append(float(model.intercept_[0]))
    rows[:, len(heads)] = idf**2
    return LinearFit(rows, tuple(intercepts))


def vocabulary(lines: Iterable[str]) -> list[tuple[str, int]]:
    """The words of `lines` (space-separated) and the end of line, with their counts, most frequent
    first (ties by the word: deterministic), as fastText's dictionary holds them."""
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(line.split())
        counts[EOS] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def save(
    path: Path | str,
    words: Sequence[tuple[str, int]],
    labels: Sequence[tuple[str, int]],
    found: LinearFit,
    bucket: int,
    ngrams: int,
) -> None:
    """Write a fastText supervised model file (format version 12) whose dictionary is `words` and
    `labels` (full label words with their prefix, and counts) and whose input rows are `found`'s;
    its output rows are zero: `margins` reads the average input row, not fastText's softmax."""
    import numpy as np

    rows = np.ascontiguousarray(found.rows, dtype="<f4")
    dim = rows.shape[1]
    if rows.shape[0] != len(words) + bucket:
        raise ValueError(f"{rows.shape[0]} rows for {len(words)} words and {bucket} buckets")
    out = [struct.pack("<ii", _MAGIC, _VERSION)]
    # dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate, t
    out.append(struct.pack("<12id", dim, 5, 0, 1, 5, ngrams, _SOFTMAX, _SUPERVISED, bucket, 0, 0, 100, 1e-4))
    entries = [(w, c, 0) for w, c in words] + [(w, c, 1) for w, c in labels]
    tokens = sum(c for _, c, _ in entries)
    out.append(struct.pack("<iiiqq", len(entries), len(words), len(labels), tokens, -1))
    for word, count, kind in entries:
        out.append(word.encode("utf-8") + b"\0" + struct.pack("<qb", count, kind))
    out.append(struct.pack("<?qq", False, rows.shape[0], dim))
    out.append(rows.tobytes())
    out.append(struct.pack("<?qq", False, len(labels), dim))
    out.append(bytes(4 * len(labels) * dim))
    Path(path).write_bytes(b"".join(out))
