"""Calibration: a head's raw score (its column's probability, or the stack's) mapped to a calibrated
probability by a monotone table fitted at training time (`calibrate`, `Calibration`), and the
per-head thresholds on that scale turned back into raw scores and margins once (`Cutoffs`), so
that most messages are turned away before any table is read."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from librt.vecs import vec
from mypy_extensions import i64


def calibrate(raw: Sequence[float], truth: Sequence[bool]) -> dict[str, list[float]]:
    """A centred isotonic fit of truth on raw probability, as the table `Calibration`
    reads: scikit-learn's isotonic fit, each of its constant blocks replaced by one point at the
    block's mean raw probability (Oron and Flournoy's centred isotonic regression), so the map rises
    strictly between blocks. The plain fit is a staircase: every example on a step gets one score,
    and a head's threshold could only choose between whole steps (a tenth of ad's recall in one:
    docs/eval.md, seventeenth session)."""
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    if not any(truth):
        return {"x": [0.0, 1.0], "y": [0.0, 0.0]}
    x = np.asarray(raw, dtype=float)
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, truth).predict(x)
    blocks = np.unique(fitted)
    points = {(round(float(x.min()), 6), round(float(blocks[0]), 6))}
    points |= {(round(float(x[fitted == y].mean()), 6), round(float(y), 6)) for y in blocks}
    points.add((round(float(x.max()), 6), round(float(blocks[-1]), 6)))
    table = sorted(points)
    return {"x": [px for px, _ in table], "y": [py for _, py in table]}


class Calibration:
    """A monotone map raw model probability → calibrated probability: linear between the points of
    an isotonic fit, constant beyond its ends."""

    __slots__ = ("xs", "ys")

    def __init__(self, xs: tuple[float, ...], ys: tuple[float, ...]) -> None:
        # Vecs of unboxed floats, which the compiled search below reads without an object per
        # value: a score's 16 calibrations cost ~7 µs through bisect on tuples.
        self.xs: vec[float] = vec[float](xs)
        self.ys: vec[float] = vec[float](ys)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        xs, ys = tuple(map(float, data["x"])), tuple(map(float, data["y"]))
        if not xs or len(xs) != len(ys) or list(xs) != sorted(xs) or list(ys) != sorted(ys):
            raise ValueError("a calibration table needs sorted x and non-decreasing y of one length")
        return cls(xs, ys)

    def __call__(self, raw: float) -> float:
        xs, ys = self.xs, self.ys
        last = len(xs) - 1
        if raw <= xs[0]:
            return ys[0]
        if raw >= xs[last]:
            return ys[last]
        lo: i64 = 0  # bisect.bisect_right(xs, raw): the first point beyond raw
        hi: i64 = last + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if raw < xs[mid]:
                hi = mid
            else:
                lo = mid + 1
        x0, x1, y0, y1 = xs[lo - 1], xs[lo], ys[lo - 1], ys[lo]
        return y0 if x1 == x0 else y0 + (y1 - y0) * (raw - x0) / (x1 - x0)

    def inverse(self, calibrated: float) -> float:
        """The least raw probability whose calibrated value is at least `calibrated` (2.0: none).
        Once per threshold, so bisect reads tuples of the points (it takes no vec)."""
        xs, ys = tuple(self.xs), tuple(self.ys)
        if calibrated <= ys[0]:
            return 0.0
        if calibrated > ys[-1]:
            return 2.0
        i = bisect.bisect_left(ys, calibrated)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        raw = x1 if y1 == y0 else x0 + (x1 - x0) * (calibrated - y0) / (y1 - y0)
        while raw < x1 and self(raw) < calibrated:  # float rounding: step up to a value that passes
            raw = min(x1, raw + 1e-9)
        return raw


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Per-head thresholds on the calibrated score and the raw probabilities they amount to."""

    thresholds: Mapping[str, float]
    raw: Mapping[str, float]  # head → least raw probability (linear.probability) that can pass
    floor: float  # the least of `raw`: above 1, nothing can pass
    # Per column of the model (TextClassifier order), a margin below which its head cannot pass
    # (inf: no threshold): most messages are turned away without an exp() per head.
    margins: vec[float]

    def passing(self, scores: Mapping[str, float]) -> dict[str, float]:
        """The heads whose calibrated score in `scores` (TextClassifier.scores) reaches their
        threshold: what `TextClassifier.confident` finds, from a prediction already made."""
        return {head: s for head, t in self.thresholds.items() if (s := scores.get(head, 0.0)) >= t}


def least_margin(raw: float) -> float:
    """A margin a little below the one whose probability is `raw` (float rounding): a prefilter,
    the probability itself is compared after it."""
    if raw > 1.0:
        return math.inf
    if raw <= 0.0:
        return -math.inf
    if raw >= 1.0 - 1e-12:  # probability() reaches it only at margins of 27 or more
        return 27.0
    return math.log(raw / (1.0 - raw)) - 1e-6
