"""`content.malicious_link`'s learned judge: whether a message's links are phishing, read from the
hosts and the words around them.

The link checks (streams.content.links) fire on what makes a link malicious by the SPEC's definition:
an IP-literal host, a shortener, a punycode name, the blocklist, an executable. Their other
signals, a risky top-level domain, a host dressed up as another domain or spelling a brand or a
lure word, are hand-written lists: on the training authors they fired on the links of ads and
porn sites (precision 0.84) and missed phishing hosts under `.com` that no list names. With the
content model on, those signals are features instead, and this judge decides a message whose
links none of the definite checks fired on: a logistic regression over hashed features of each
such host (what the checks said of it, its top-level domain, its name's parts and character
trigrams, its path's shape) and of the message's characters and character pairs with the links
taken out (领取, 登录, 银行卡 against 退订, 会员). It is trained with the content model (`qunguard
model train`, streams.content.training), stored in its metadata (`links`) and scored only on a
message that holds a link; its threshold is `[content.model] thresholds."content.malicious_link"`.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streams.content.reading import HEAD, TAIL

RULE = "content.malicious_link"
BITS = 16
PENALTY_C = 16.0  # scikit-learn's C: 1 to 64 measured; 16 to 64 alike (docs/eval.md, thirty-second session)
LINK_MARK = "↗"  # where a link stood in the message's context
# A long message is read as the model reads it: its first HEAD and last TAIL characters, and its
# first hosts; the labelled messages are far shorter (at most 162 characters and 3 hosts).
MAX_HOSTS = 16


@dataclass(frozen=True, slots=True)
class LinkCandidate:
    """A host the definite checks did not fire on: what they said of it (`kind`: risky_tld,
    lookalike_host, impersonates, lure_host, or "" for nothing) and its parts."""

    kind: str
    host: str
    name: str  # what the host puts before its public suffix
    suffix: str  # its public suffix, "" when unknown
    path: str
    scheme: bool
    start: int  # its span in the text the features read
    end: int
    where: tuple[int, int]  # its span in the message


def features(text: str, candidates: Sequence[LinkCandidate]) -> list[str]:
    """The judge's features of a message (`text`: the link checks' view of it) and its candidates."""
    out: list[str] = []
    candidates = candidates[:MAX_HOSTS]
    for c in candidates:
        out.append("kind=" + (c.kind or "none"))
        out.append("tld=" + (c.suffix.rsplit(".", 1)[-1] if c.suffix else "unknown"))
        out.append(f"labels={min(c.name.count('.') + 1, 3)}")
        out.append(f"length={min(len(c.name) // 3, 6)}")
        if any(ch.isdigit() for ch in c.name):
            out.append("digit")
        if "-" in c.name:
            out.append("hyphen")
        for part in re.split(r"[.-]", c.name):
            out.append("part=" + part)
            out.extend("tri=" + part[i : i + 3] for i in range(len(part) - 2))
        if c.scheme:
            out.append("scheme")
        if c.path:
            out.append("path")
            out.extend(_path_features(c.path))
    context = "".join(_context(text, candidates).split())
    if len(context) > HEAD + TAIL:
        context = context[:HEAD] + context[-TAIL:]
    out.extend("char=" + ch for ch in context)
    out.extend("pair=" + context[i : i + 2] for i in range(len(context) - 1))
    return out


def _path_features(path: str) -> list[str]:
    segment = path.strip("/ ").split("/", 1)[0].split("?", 1)[0]
    if not segment:
        return []
    out = [f"segment={min(len(segment), 10)}"]
    # A shortener's code: a few letters and digits mixed (/k8Fz2), whatever the host.
    if (
        re.fullmatch(r"[a-z0-9]{3,10}", segment)
        and re.search(r"\d", segment)
        and re.search(r"[a-z]", segment)
    ):
        out.append("code")
    out.extend("word=" + w for w in re.split(r"[^a-z]+", segment) if len(w) >= 3)
    return out


def _context(text: str, candidates: Sequence[LinkCandidate]) -> str:
    pieces, at = [], 0
    for c in sorted(candidates, key=lambda c: c.start):
        if c.start >= at:
            pieces += [text[at : c.start], LINK_MARK]
            at = c.end
    pieces.append(text[at:])
    return "".join(pieces)


def bucket(feature: str, bits: int = BITS) -> int:
    """A feature's bucket (CRC-32: the same on every run and machine)."""
    return zlib.crc32(feature.encode()) & ((1 << bits) - 1)


def hashed(found: Sequence[str], bits: int = BITS) -> list[int]:
    """The distinct buckets of `found`."""
    return sorted({bucket(f, bits) for f in found})


@dataclass(frozen=True, slots=True)
class LinkJudge:
    """Weights over hashed features; a message's features count once each, scaled to unit length."""

    intercept: float
    weights: Mapping[int, float]
    bits: int = BITS

    def score(self, found: Sequence[str]) -> float:
        buckets = hashed(found, self.bits)
        if not buckets:
            return 0.0
        scale = 1.0 / math.sqrt(len(buckets))
        z = self.intercept + scale * sum(self.weights.get(b, 0.0) for b in buckets)
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0

    def explain(self, found: Sequence[str], top: int = 5) -> list[tuple[str, float]]:
        """The features that pushed the score most, either way, with what each added to its log odds."""
        scale = 1.0 / math.sqrt(max(1, len(hashed(found, self.bits))))
        weighed = {f: scale * self.weights.get(bucket(f, self.bits), 0.0) for f in found}
        return sorted(weighed.items(), key=lambda fw: -abs(fw[1]))[:top]

    def to_json(self) -> dict[str, Any]:
        return {
            "bits": self.bits,
            "intercept": round(self.intercept, 9),
            "weights": [[b, round(w, 9)] for b, w in sorted(self.weights.items()) if w != 0.0],
            "features": "per host the checks did not fire on: their verdict, top-level domain, name's "
            "parts and character trigrams, path shape; the message's characters and pairs, links out",
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinkJudge:
        bits = int(data["bits"])
        weights = {int(b): float(w) for b, w in data["weights"]}
        if not 0 < bits <= 24 or any(not 0 <= b < 1 << bits for b in weights):
            raise ValueError("links: buckets out of range")
        return cls(float(data["intercept"]), weights, bits)


def fit(rows: Sequence[Sequence[str]], harmful: Sequence[bool], c: float = PENALTY_C) -> LinkJudge:
    """A judge fitted to messages' features and whether each is a malicious link (scikit-learn's
    logistic regression, liblinear: deterministic)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    indices: list[int] = []
    data: list[float] = []
    starts = [0]
    for found in rows:
        buckets = hashed(found)
        indices += buckets
        data += [1.0 / math.sqrt(len(buckets))] * len(buckets) if buckets else []
        starts.append(len(indices))
    x = csr_matrix((data, indices, starts), shape=(len(rows), 1 << BITS))
    y = np.asarray(harmful, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("links: training needs messages with links of both kinds")
    model = LogisticRegression(C=c, solver="liblinear", max_iter=2000, random_state=0).fit(x, y)
    weights = {int(b): float(w) for b, w in enumerate(model.coef_[0]) if w != 0.0}
    return LinkJudge(float(model.intercept_[0]), weights)


Reading = Callable[[str], tuple[bool, list[str] | None]]  # links.LinkChecker.reading
GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))


def trained(
    messages: Sequence[tuple[str, bool, int | None]], reading: Reading, benign: Sequence[str] = ()
) -> tuple[LinkJudge, float, dict[str, Any]]:
    """The judge fitted to every labelled message that holds a host to judge, its suggested
    threshold and the figures at it. `messages`: (text, whether it is a malicious link, the
    held-out group whose judge scores it: training's author groups; None: never held out). The
    threshold is the one of the best F1 over every message, held-out judges scoring the judged ones
    and the definite checks deciding the rest. `benign`: ordinary dialogue turns, to count how many
    the link rule fires on (the judge never learns from them)."""
    rows: list[list[str]] = []
    harmful: list[bool] = []
    groups: list[int | None] = []
    tp = fp = fn = 0  # the definite checks' and missing links' part
    for text, bad, group in messages:
        definite, found = reading(text)
        if found is None:
            tp, fp, fn = tp + (bad and definite), fp + (definite and not bad), fn + (bad and not definite)
        else:
            rows.append(found)
            harmful.append(bad)
            groups.append(group)
    scores = [0.0] * len(rows)
    for k in sorted({g for g in groups if g is not None}):
        judge = fit(
            [r for r, g in zip(rows, groups, strict=True) if g != k],
            [h for h, g in zip(harmful, groups, strict=True) if g != k],
        )
        for i, g in enumerate(groups):
            if g == k:
                scores[i] = judge.score(rows[i])
    scored = [(s, h) for s, h, g in zip(scores, harmful, groups, strict=True) if g is not None]

    def counts(t: float) -> tuple[int, int, int]:
        hits = [h for s, h in scored if s >= t]
        return tp + sum(hits), fp + len(hits) - sum(hits), fn + sum(h for s, h in scored if s < t)

    threshold = max(GRID, key=lambda t: (_f1(*counts(t)), -t)) if scored else 0.5
    got_tp, got_fp, got_fn = counts(threshold)
    judge = fit(rows, harmful)
    fired = 0
    for text in benign:
        definite, found = reading(text)
        fired += definite or (found is not None and judge.score(found) >= threshold)
    figures = {
        "precision": round(got_tp / max(1, got_tp + got_fp), 4),
        "recall": round(got_tp / max(1, got_tp + got_fn), 4),
        "f1": round(_f1(got_tp, got_fp, got_fn), 4),
        "judged_messages": len(rows),
        "benign_fired": fired / len(benign) if benign else 0.0,
    }
    return judge, threshold, figures


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(1, 2 * tp + fp + fn)


@dataclass(frozen=True, slots=True)
class LinkModel:
    """The judge as a detector runs it: its threshold and the model that carries it (evidence)."""

    judge: LinkJudge
    threshold: float
    model: tuple[str, str]  # name, version

    def flagged(self, text: str, candidates: Sequence[LinkCandidate]) -> list[LinkCandidate]:
        """The hosts a message the judge fires on is flagged for: each that the judge, reading it
        alone with the words around it, also judges at the threshold (the phishing host, not the
        company's beside it); where none is, the one it scores highest."""
        if len(candidates) < 2:
            return list(candidates)
        alone = [(self.judge.score(features(text, [c])), c) for c in candidates[:MAX_HOSTS]]
        return [c for s, c in alone if s >= self.threshold] or [max(alone, key=lambda sc: sc[0])[1]]
