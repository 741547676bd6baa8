"""streams.content.linear: scikit-learn's weights in a fastText file. fastText reads the file we
write, averages the rows `line_ids` names, and `margins` turns that average into the decision
value of the linear model that scikit-learn fitted."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import fasttext
import numpy as np
import pytest
from librt.vecs import vec

from streams.content import linear

LINES = [
    "今 天 开 会",
    "你 是 猪 吧 哈 哈",
    "垃 圾 公 司 垃 圾 公 司",
    "明 天 交 报 告",
    "鼋 鼍 鼋 鼍 全 是",
    "中 午 一 起 吃 饭",
] * 4
LABELS = ["none", "content.insult", "content.insult", "none", "content.defamation", "none"] * 4
HEADS = ("content.defamation", "content.insult")
BUCKET, NGRAMS = 1 << 10, 3


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, linear.LinearFit]:
    words = linear.vocabulary(LINES)
    found = linear.fit(LINES, LABELS, [1.0] * len(LINES), HEADS, [w for w, _ in words], BUCKET, NGRAMS,
                       alpha=1e-4, seed=1)  # fmt: skip
    path = tmp_path_factory.mktemp("linear") / "model.bin"
    labels = sorted(Counter(f"__label__{label}" for label in LABELS).items())
    linear.save(path, words, labels, found, BUCKET, NGRAMS)
    return path, found


def test_fasttext_reads_the_file_we_write(saved: tuple[Path, linear.LinearFit]) -> None:
    path, found = saved
    model = fasttext.load_model(str(path))
    assert model.get_dimension() == linear.columns(len(HEADS)) == 16
    assert sorted(model.get_labels()) == [
        "__label__content.defamation",
        "__label__content.insult",
        "__label__none",
    ]
    assert np.array_equal(model.get_input_matrix(), found.rows)


@pytest.mark.parametrize("line", ["今 天 开 会", "陌 生 的 字 😀 哈", "垃 圾 垃 圾 垃 圾", "x"])
def test_line_ids_are_the_rows_fasttext_averages(saved: tuple[Path, linear.LinearFit], line: str) -> None:
    """Unknown characters included: fastText drops their own row but hashes them into n-grams."""
    path, _ = saved
    model = fasttext.load_model(str(path))
    rows = np.random.default_rng(7).standard_normal(model.get_input_matrix().shape).astype(np.float32)
    model.set_matrices(rows, model.get_output_matrix())
    index = {w: i for i, w in enumerate(model.get_words())}
    ids = linear.line_ids(line, index, len(index), BUCKET, NGRAMS)
    assert np.allclose(rows[ids].mean(axis=0), model.get_sentence_vector(line), atol=1e-6)
    assert linear.IdCount(index, NGRAMS)(line) == len(ids)


@pytest.mark.parametrize("ngrams", [1, 2, 3, 4])
@pytest.mark.parametrize("length", [1, 2, 3, 4, 9])
def test_id_count_is_the_number_of_line_ids(ngrams: int, length: int) -> None:
    """Every line length against every n-gram order, with characters the dictionary lacks."""
    words = ["今", "天", "开", linear.EOS]
    line = " ".join("今天鼋开鼍天会今开"[:length])
    ids = linear.line_ids(line, {w: i for i, w in enumerate(words)}, len(words), BUCKET, ngrams)
    assert linear.IdCount(words, ngrams)(line) == len(ids)


def test_id_count_refuses_a_dictionary_of_longer_words() -> None:
    with pytest.raises(ValueError, match="more than one character"):
        linear.IdCount(["今天", linear.EOS], NGRAMS)


@pytest.mark.parametrize("line", ["你 是 猪 吧", "垃 圾 垃 圾 垃 圾", "明 天 开 会 吃 饭"])
def test_margins_are_the_linear_models_decision(saved: tuple[Path, linear.LinearFit], line: str) -> None:
    """sum_f c_f idf_f w_fk / sqrt(sum_f c_f idf_f^2) + b_k, computed here from the rows' own
    columns (idf_f * w_fk and idf_f^2), against what fastText's average gives through `margins`."""
    path, found = saved
    model = fasttext.load_model(str(path))
    index = {w: i for i, w in enumerate(model.get_words())}
    counts = Counter(linear.line_ids(line, index, len(index), BUCKET, NGRAMS))
    rows = found.rows.astype(np.float64)
    norm = math.sqrt(sum(c * rows[f, len(HEADS)] for f, c in counts.items()))
    expected = [
        sum(c * rows[f, k] for f, c in counts.items()) / norm + found.intercepts[k] for k in range(len(HEADS))
    ]
    ids = linear.IdCount(model.get_words(), NGRAMS)
    got = linear.margins(model.get_sentence_vector(line).tolist(), vec[float](found.intercepts), ids(line))
    assert list(got) == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_the_fit_separates_what_it_was_taught(saved: tuple[Path, linear.LinearFit]) -> None:
    path, found = saved
    model = fasttext.load_model(str(path))
    ids = linear.IdCount(model.get_words(), NGRAMS)

    def margins(line: str) -> list[float]:
        return list(
            linear.margins(model.get_sentence_vector(line).tolist(), vec[float](found.intercepts), ids(line))
        )

    insult, chat = margins("你 是 猪 吧 哈 哈"), margins("中 午 一 起 吃 饭")
    assert insult[1] > 0 > chat[1] and linear.probability(insult[1]) > linear.probability(chat[1])


@pytest.mark.parametrize("word", ["a", "今", "鼋鼍", "😀", "</s>"])
def test_word_hash_is_fasttexts(saved: tuple[Path, linear.LinearFit], word: str) -> None:
    path, _ = saved
    model = fasttext.load_model(str(path))
    assert model.get_subword_id(word) == len(model.get_words()) + linear.word_hash(word) % BUCKET


def test_probability_keeps_the_order_and_does_not_overflow() -> None:
    values = [-1000.0, -5.0, 0.0, 5.0, 1000.0]
    probs = [linear.probability(v) for v in values]
    assert probs == sorted(probs) and probs[2] == 0.5 and probs[0] >= 0.0 and probs[-1] <= 1.0


def test_save_refuses_rows_that_do_not_fit_the_dictionary(tmp_path: Path) -> None:
    found = linear.LinearFit(np.zeros((3, 4), dtype=np.float32), (0.0, 0.0))
    with pytest.raises(ValueError, match="rows"):
        linear.save(tmp_path / "m.bin", [("a", 1)], [("__label__none", 1)], found, BUCKET, NGRAMS)


@pytest.mark.parametrize("raw", [0.0, 1e-9, 0.3, 0.5, 0.9, 0.97, 0.999999, 1.0 - 1e-13, 1.0, 2.0])
def test_the_margin_prefilter_never_turns_away_a_passing_probability(raw: float) -> None:
    from streams.content.calibration import least_margin

    least = least_margin(raw)
    for m in np.linspace(-40.0, 40.0, 8001):
        if linear.probability(float(m)) >= raw:
            assert m >= least, (raw, m, least)


def test_fit_solves_the_dual_when_examples_outnumber_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """scikit-learn's dual="auto" turns to the primal solver there, about three times slower on the
    training data (docs/eval.md, sixteenth session); the dual is the one asked for."""
    import sklearn.svm

    asked: list[object] = []

    class Recording(sklearn.svm.LinearSVC):
        def fit(self, x, y, sample_weight=None):
            asked.append((self.dual, x.shape[0] > x.shape[1]))
            return super().fit(x, y, sample_weight=sample_weight)

    monkeypatch.setattr(sklearn.svm, "LinearSVC", Recording)
    words = linear.vocabulary(LINES)
    linear.fit(LINES * 20, LABELS * 20, [1.0] * len(LINES) * 20, HEADS, [w for w, _ in words], 16, 1,
               alpha=1e-4, seed=1)  # fmt: skip
    assert asked == [(True, True)] * len(HEADS)


def test_another_rules_violation_weighs_less_against_a_head() -> None:
    """An insult line is a negative of the defamation head; at other_rule_weight 0 it teaches that
    head nothing, so the head scores it higher than at full weight. Without `rules` nothing changes."""
    words = [w for w, _ in linear.vocabulary(LINES)]
    index = {w: i for i, w in enumerate(words)}

    def fit(**kw: object) -> linear.LinearFit:
        return linear.fit(
            LINES, LABELS, [1.0] * len(LINES), HEADS, words, BUCKET, NGRAMS, alpha=1e-4, seed=1, **kw
        )

    def defamation_margin(found: linear.LinearFit, line: str) -> float:
        ids = linear.line_ids(line, index, len(words), BUCKET, NGRAMS)
        hidden = found.rows[ids].mean(axis=0)
        margins = linear.margins(hidden.tolist(), vec[float](found.intercepts), len(ids))
        return margins[HEADS.index("content.defamation")]

    insult = "垃 圾 公 司 垃 圾 公 司"
    full, light = fit(rules=HEADS, other_rule_weight=1.0), fit(rules=HEADS, other_rule_weight=0.0)
    assert defamation_margin(light, insult) > defamation_margin(full, insult)
    assert np.array_equal(fit(other_rule_weight=0.0).rows, full.rows)


def test_min_writers_leaves_out_what_one_writer_alone_writes() -> None:
    """A character or n-gram that lines of fewer than `min_writers` writers hold gets no weight and
    no IDF (fastText's row for it is zero, so it adds nothing to a line's norm), however many lines
    of that one writer hold it; the rest is fitted as before."""
    bucket = 1 << 16  # large enough that the few n-grams here share no bucket
    habit = "鼋 鼍 独 特 的 话"
    lines = [*LINES, habit, habit]
    labels = [*LABELS, "content.defamation", "content.defamation"]
    writers = [f"author_{i % 4}" for i in range(len(LINES))] + ["author_x", "author_x"]
    words = [w for w, _ in linear.vocabulary(lines)]
    index = {w: i for i, w in enumerate(words)}

    def fit(**kwargs: object) -> linear.LinearFit:
        return linear.fit(lines, labels, [1.0] * len(lines), HEADS, words, bucket, NGRAMS, alpha=1e-4, seed=1,
                          **kwargs)  # type: ignore[arg-type]  # fmt: skip

    once = set(linear.line_ids(habit, index, len(words), bucket, NGRAMS))
    kept = set(linear.line_ids("鼋 鼍 鼋 鼍 全 是", index, len(words), bucket, NGRAMS))
    found = fit(writers=writers, min_writers=2)
    assert not found.rows[sorted(once - kept)].any()  # 独, 特, 的, 话 and every n-gram with them
    assert found.rows[sorted(kept), len(HEADS)].all()  # two writers hold each of the rest
    assert fit().rows[sorted(once - kept), len(HEADS)].all()  # by default every row counts
    with pytest.raises(ValueError, match="one writer per line"):
        fit(writers=writers[:3], min_writers=2)
