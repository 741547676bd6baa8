"""The learned content classifier (layer 2 of issue 14): deterministic training on a tiny synthetic
set written here, loading and its errors, bounded scoring of bad input, monotone calibration, the
policy's thresholds, prohibition-frame vetoes, evidence fields, live reload, and `qunguard scan`."""

from __future__ import annotations

import io
import json
import math
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from librt.vecs import vec

from agents.cli.scan import run_scan
from config import CONFIG_DIR
from streams.content import linear
from streams.content.calibration import Calibration, calibrate
from streams.content.classifier import ModelError, TextClassifier, model_version
from streams.content.combine import deferred
from streams.content.datasets import HELD_OUT_AUTHORS, TRAINING_AUTHORS, Labelled
from streams.content.detector import ContentDetector
from streams.content.examples import gather
from streams.content.heads import LENGTH, length_input
from streams.content.matcher import ModelHit
from streams.content.params import TrainingParams
from streams.content.reading import model_input
from streams.content.training import train
from streams.core.policy import Policy, PolicyError, load_policy
from streams.core.policy_schema import policy_problems
from topics.events import MessageEvent

TS = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
TINY = TrainingParams(folds=3, oversample=1, negative_oversample=1)
# A made-up vocabulary no dictionary knows: the tiny model learns that 鼋鼍 marks defamation.
NAMES = ("张三", "李四", "王五", "赵六", "钱七", "孙八")
THINGS = ("报告", "方案", "账目", "数据", "总结", "计划")
CHAT = (
    "明天开会记得带电脑",
    "中午一起吃饭吗",
    "文件已经发到邮箱",
    "会议室改到三楼",
    "收到，谢谢",
    "周五交周报",
)


def tiny_set() -> list[Labelled]:
    out = []
    for author in ("a", "b"):
        line = 0
        for i, name in enumerate(NAMES):
            for j, thing in enumerate(THINGS):
                line += 1
                source = f"labelled/author_{author}.jsonl:{line}"
                if (i + j) % 2 == (author == "b"):
                    # 9-17 characters, around the chat lines' 10-14: length alone tells little
                    smears = "鼋鼍" * (1 + (i + j) % 5)
                    out.append(
                        Labelled(f"{name}的{thing}全是{smears}", "content.defamation", "positive", source)
                    )
                else:
                    out.append(
                        Labelled(f"{name}的{thing}{CHAT[(i + j) % len(CHAT)]}", None, "benign", source)
                    )
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    train(tiny_set(), None, out, TINY)
    return out / "content.bin"


def with_model(path: Path, **model: object) -> Policy:
    policy = load_policy()
    content = dict(policy.section("content"))
    content["model"] = {"enabled": True, "path": str(path), **model}
    return replace(policy, sections={**policy.sections, "content": content})


def findings(detector: ContentDetector, text: str):
    event = MessageEvent(event_id="m-1", ts=TS, group_id="g", sender_id="wx_a", text=text)
    return detector.detect(event, "g", None)  # type: ignore[arg-type]


# -- training ---------------------------------------------------------------------------------


def test_training_is_deterministic(tiny: Path, tmp_path: Path) -> None:
    train(tiny_set(), None, tmp_path, TINY)
    assert (tmp_path / "content.bin").read_bytes() == tiny.read_bytes()
    assert (tmp_path / "content.json").read_bytes() == tiny.with_suffix(".json").read_bytes()


def test_an_unscored_rule_is_learned_from_but_has_no_head(tmp_path: Path) -> None:
    """TrainingParams.unscored: the rule's examples stay every head's negatives, so the other heads
    come out as they would with its head kept; only its column and calibration are gone. The stack
    (streams.content.stack) still knows the rule as a class, but cannot read the column."""
    links = [
        Labelled(
            f"{name}请点这个链接领奖 LINK",
            "content.malicious_link",
            "positive",
            f"labelled/author_{a}.jsonl:{99 + i}",
        )
        for a in ("a", "b")
        for i, name in enumerate(NAMES)
    ]
    data = tiny_set() + links
    kept = train(data, None, tmp_path / "kept", replace(TINY, unscored=())).meta
    dropped = train(data, None, tmp_path / "dropped", TINY).meta
    assert kept["linear"]["heads"] == ["content.defamation", "content.malicious_link"]
    assert dropped["linear"]["heads"] == ["content.defamation"]
    assert (
        "content.malicious_link" in dropped["labels"]
        and "content.malicious_link" not in dropped["calibration"]
    )
    assert dropped["linear"]["intercepts"] == kept["linear"]["intercepts"][:1]
    assert dropped["stack"]["inputs"] == ["content.defamation", LENGTH]
    assert "content.malicious_link" in dropped["stack"]["classes"]


@pytest.mark.parametrize("author", HELD_OUT_AUTHORS)
def test_training_refuses_the_held_out_authors(author: str) -> None:
    held = [Labelled("随便一句话", None, "benign", f"labelled/author_{author}.jsonl:1")]
    with pytest.raises(ValueError, match="held out"):
        gather(held, None, 3)


def test_model_train_adds_the_reviewers_exported_examples(tmp_path: Path) -> None:
    from agents.cli.model import training_examples

    line = '{"text": "%s", "rule": "content.ad", "kind": "positive", "note": ""}\n'
    for author in TRAINING_AUTHORS:
        (tmp_path / f"author_{author}.jsonl").write_text(line % f"作者{author}的例子", encoding="utf-8")
    export = tmp_path / "verdicts.jsonl"
    export.write_text(line.replace("positive", "hard_negative") % "审核人判为误报的摘录", encoding="utf-8")
    examples = training_examples(tmp_path, [str(export)])
    assert len(examples) == len(TRAINING_AUTHORS) + 1
    assert examples[-1].kind == "hard_negative" and examples[-1].source.startswith(str(export))
    assert {e.source for e in gather(examples, None, 3)} >= {"verdicts"}


def test_the_stack_reads_the_length_of_the_line_training_read(tiny: Path) -> None:
    """heads.LENGTH: the stack's last input is the length of the line training wrote for an
    example (gather), which is the line the classifier scores for its text; a longer line of the
    same decision values is another input."""
    classifier = TextClassifier.load(tiny)
    head = "content.defamation"
    for example in gather(tiny_set()[:8], None, 1):
        found = classifier._margins(example.line)
        stacked = classifier.stack.probabilities(vec[float]([*found, length_input(example.line)]))
        expected = classifier.calibration[head](stacked[classifier.stack.classes.index(head)])
        assert classifier.scores(example.text)[head] == pytest.approx(expected, abs=1e-12)
    assert classifier.stack.inputs[-1] == LENGTH
    for text in (
        "你好 世界",
        "点击 http://x.cn 领取,限时",
        "第一句。第二句！",
        "a b  c",
        "发票 044031900111",
    ):
        line = model_input(text)
        assert length_input(line) == math.log1p(len(line.split()))  # a character per token


def test_metadata_describes_the_model(tiny: Path) -> None:
    meta = json.loads(tiny.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["rules"] == ["content.defamation"] and meta["labels"] == ["content.defamation", "none"]
    assert meta["training_data"] == {"author_a:content.defamation": 18, "author_a:none": 18,
                                     "author_b:content.defamation": 18, "author_b:none": 18}  # fmt: skip
    assert "COLD" in meta["attribution"]


# -- loading ----------------------------------------------------------------------------------


def test_loads_and_scores(tiny: Path) -> None:
    classifier = TextClassifier.load(tiny)
    assert classifier.heads == ("content.defamation",) and len(classifier.version) == 12
    assert classifier.score("周七的方案全是鼋鼍鼋鼍", "content.defamation") > 0.8
    assert classifier.score("周七的方案中午一起吃饭吗", "content.defamation") < 0.5


@pytest.mark.parametrize("damage", ["missing", "json", "digest", "garbage", "labels"])
def test_a_broken_model_is_an_error_naming_the_file(tiny: Path, tmp_path: Path, damage: str) -> None:
    model, meta = tmp_path / "content.bin", tmp_path / "content.json"
    shutil.copy(tiny, model)
    shutil.copy(tiny.with_suffix(".json"), meta)
    data = json.loads(meta.read_text(encoding="utf-8"))
    if damage == "missing":
        model.unlink()
    elif damage == "json":
        meta.write_text("{not json", encoding="utf-8")
    elif damage == "digest":  # a partial copy: fastText itself would read it without complaint
        model.write_bytes(model.read_bytes()[:10_000])
    elif damage == "garbage":
        model.write_bytes(b"not a model")
        data["sha256"] = __import__("hashlib").sha256(b"not a model").hexdigest()
        meta.write_text(json.dumps(data), encoding="utf-8")
    else:
        data["calibration"]["content.insult"] = data["calibration"]["content.defamation"]
        meta.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError) as exc:
        TextClassifier.load(model)
    assert str(tmp_path) in str(exc.value)


def test_the_version_names_the_calibration_too(tiny: Path) -> None:
    """Recalibrating around the same fastText file changes decisions, so it changes the version."""
    meta = json.loads(tiny.with_suffix(".json").read_text(encoding="utf-8"))
    assert TextClassifier.load(tiny).version == model_version(meta)
    table = meta["calibration"]["content.defamation"]
    recalibrated = {
        **meta,
        "calibration": {**meta["calibration"], "content.defamation": {**table, "y": table["y"][::-1]}},
    }
    assert model_version(recalibrated) != model_version(meta)
    assert model_version(json.loads(json.dumps(meta))) == model_version(meta)


def test_a_missing_model_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"\[content.model\] path: .*nowhere.bin"):
        ContentDetector(with_model(tmp_path / "nowhere.bin"))


def test_shipped_model_loads_and_matches_its_metadata() -> None:
    # How long it takes is the content bench's `model_load_seconds` (issue 14: at most 2 s).
    classifier = TextClassifier.load(CONFIG_DIR / "model" / "content.bin")
    policy = load_policy()
    thresholds = policy.section("content")["model"]["thresholds"]
    # every threshold is a head's but links', which is the link judge's (streams.content.link_judge)
    assert set(thresholds) - {"content.malicious_link"} <= set(classifier.heads)
    assert classifier.links is not None and classifier.links.weights
    # Committed with every retrain: 2^19 hashed rows of 16 floats, 34 MB (TrainingParams.bucket;
    # 2^18 rows, 17 MB, before the thirty-seventh session; rows of 32 floats while the file kept an
    # end-of-line column: docs/bench.md, thirty-first session).
    assert (CONFIG_DIR / "model" / "content.bin").stat().st_size < 35_000_000
    # Links are the link checks' and the link judge's to decide: the model learns from their examples
    # but keeps no head for them (TrainingParams.unscored), so the rows stay one cache line.
    assert "content.malicious_link" not in classifier.heads
    assert linear.columns(len(classifier.meta["linear"]["heads"])) == 16


# -- bad input --------------------------------------------------------------------------------

BAD = {
    "empty": "",
    "64KiB": "骂" * 65_536,
    "control": "\x00\x01\x1b[31m\x7f" * 500,
    "surrogates": "\ud800你好\udfff" * 100,
    "emoji": "😀" * 10_000,
    "newlines": "第一行\n第二行\r\n\t第三行",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_bounded(name: str) -> None:
    classifier = TextClassifier.load(CONFIG_DIR / "model" / "content.bin")
    text = BAD[name]
    scores = classifier.scores(text)
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert len(model_input(text)) < 1100  # a bounded prefix and suffix, whatever the length
    classifier.explain(text[:200], "content.insult")


def test_bad_input_through_the_detector() -> None:
    detector = ContentDetector(load_policy())
    for text in BAD.values():
        findings(detector, text)  # no exception


# -- calibration and thresholds ---------------------------------------------------------------


def test_calibration_is_monotone_and_inverts() -> None:
    classifier = TextClassifier.load(CONFIG_DIR / "model" / "content.bin")
    grid = [i / 1000 for i in range(1001)]
    for rule, fit in classifier.calibration.items():
        values = [fit(x) for x in grid]
        assert values == sorted(values), rule
        for target in (0.5, 0.85, 0.97):
            raw = fit.inverse(target)
            if raw <= 1.0:
                assert fit(raw) >= target
                assert raw == 0.0 or fit(raw - 1e-6) < target + 1e-9


def test_confident_agrees_with_scores_at_the_bottom_of_the_scale() -> None:
    """fastText reports a probability plus 1e-5; a threshold whose raw cutoff is that small must
    still fire on a score `scores` shows at or above it."""
    classifier = TextClassifier.load(CONFIG_DIR / "model" / "content.bin")
    for head in classifier.heads:
        threshold = classifier.calibration[head](0.0) + 1e-4
        cutoffs = classifier.cutoffs({head: threshold})
        for text in ("明天上午十点开会", "这份报表谁来核对一下", "好的收到"):
            score = classifier.scores(text)[head]
            assert (head in classifier.confident(text, cutoffs)) == (score >= threshold), (head, text)


def test_passing_finds_from_scores_what_confident_finds_from_a_prediction() -> None:
    classifier = TextClassifier.load(CONFIG_DIR / "model" / "content.bin")
    thresholds = load_policy().section("content")["model"]["thresholds"]
    cutoffs = classifier.cutoffs({head: t for head, t in thresholds.items() if head in classifier.heads})
    texts = ("明天上午十点开会", "你就是个废物,滚出去", "加微信领优惠券,日赚五百", "听说公司下个月要裁员了")
    for text in texts:
        assert cutoffs.passing(classifier.scores(text)) == classifier.confident(text, cutoffs), text
    assert any(classifier.confident(text, cutoffs) for text in texts)  # some head passes somewhere


def test_calibration_table_is_checked() -> None:
    with pytest.raises(ValueError):
        Calibration.from_json({"x": [0.0, 1.0], "y": [0.9, 0.1]})
    table = Calibration.from_json({"x": [0.2, 0.8], "y": [0.0, 1.0]})
    assert table(0.0) == 0.0 and table(0.5) == pytest.approx(0.5) and table(1.0) == 1.0


def test_calibration_rises_between_the_isotonic_blocks() -> None:
    """training.calibrate: one point per block of the isotonic fit, at the block's mean raw
    probability, so two examples on one step of the plain fit get different scores."""
    raw = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]
    truth = [False, False, True, False, True, False, True, True]
    table = calibrate(raw, truth)
    assert table["x"] == [0.1, 0.15, 0.5, 0.85, 0.9]  # blocks {.1 .2} {.3 .4 .6 .7} {.8 .9}, and the ends
    assert table["y"] == [0.0, 0.0, 0.5, 1.0, 1.0]
    fit = Calibration.from_json(table)
    assert fit(0.3) < fit(0.4) < fit(0.6) < fit(0.7)  # one step of the plain fit, four scores
    assert fit(0.05) == 0.0 and fit(0.95) == 1.0
    assert calibrate([0.2, 0.8], [False, False]) == {"x": [0.0, 1.0], "y": [0.0, 0.0]}


def test_only_rules_with_a_threshold_fire(tiny: Path) -> None:
    text = "周七的方案全是鼋鼍鼋鼍"
    assert [f.rule for f in findings(ContentDetector(with_model(tiny, thresholds={})), text)] == []
    detector = ContentDetector(with_model(tiny, thresholds={"content.defamation": 0.5}))
    assert detector.judge is not None and detector.judge.cutoffs.thresholds == {"content.defamation": 0.5}
    assert [f.rule for f in findings(detector, text)] == ["content.defamation"]


def test_policy_schema_checks_the_model_keys() -> None:
    data = {
        "rules": {},
        "content": {"model": {"enabled": "yes", "thresholds": {"content.insult": 1.5, "content.nope": 0.5}}},
    }
    problems = [p.at("policy.toml") for p in policy_problems(data) if "model" in p.at("")]
    assert any("enabled: must be true or false" in p for p in problems)
    assert any('"content.insult": must be a probability' in p for p in problems)
    assert any('"content.nope": unknown model head' in p for p in problems)
    data["content"]["model"] = {"needs_target": ["content.insult#nope"]}
    assert any("needs_target" in p.at("") for p in policy_problems(data))


# -- the decision: evidence, frames, reload, scan ---------------------------------------------


def test_a_model_hit_carries_model_and_score(tiny: Path) -> None:
    detector = ContentDetector(with_model(tiny, thresholds={"content.defamation": 0.5}))
    (finding,) = findings(detector, "周七的方案全是鼋鼍鼋鼍")
    version = TextClassifier.load(tiny).version
    assert finding.evidence["model"] == {
        "name": "qunguard-content",
        "version": version,
        "head": "content.defamation",
    }
    assert 0.5 <= finding.evidence["score"] <= 1.0 and finding.evidence["terms"] == []


def test_deferring_to_the_lexicon_drops_a_rule_only_the_model_found(tiny: Path) -> None:
    text = "周七的方案全是鼋鼍鼋鼍,傻逼"  # the words say insult; the tiny model says defamation (0.85)
    both = ContentDetector(with_model(tiny, thresholds={"content.defamation": 0.2}))
    assert {f.rule for f in findings(both, text)} == {"content.insult", "content.defamation"}
    deferring = ContentDetector(
        with_model(tiny, thresholds={"content.defamation": 0.2}, defer_to_lexicon=True)
    )
    assert {f.rule for f in findings(deferring, text)} == {"content.insult"}
    assert [f.rule for f in findings(deferring, "周七的方案全是鼋鼍鼋鼍")] == ["content.defamation"]


def test_a_words_rule_the_model_all_but_rules_out_decides_nothing() -> None:
    """The model's hit of another rule stands where the model scores the words' rule below
    `defer_unless_below`; a rule without a head (links) still decides."""
    hit = ModelHit("content.defamation", (), 0, 9, (), score=0.99, head="content.defamation")
    scores = {"content.insult": 0.005, "content.defamation": 0.99}
    assert deferred([hit], {"content.insult"}, None) == []
    trace: list[str] = []
    assert deferred([hit], {"content.insult"}, trace, lambda: scores, 0.02) == [hit]
    assert any("decide nothing for the model" in line for line in trace)
    assert deferred([hit], {"content.insult"}, None, lambda: {**scores, "content.insult": 0.05}, 0.02) == []
    assert deferred([hit], {"content.malicious_link"}, None, lambda: scores, 0.02) == []


def test_a_model_hit_as_sure_as_the_words_is_not_deferred() -> None:
    """`defer_unless_above`: a hit scoring at least it stands beside the words' rule, a link's too."""
    sure = ModelHit("content.porn", (), 0, 9, (), score=0.995, head="content.porn")
    unsure = ModelHit("content.ad", (), 0, 9, (), score=0.95, head="content.ad")
    trace: list[str] = []
    assert deferred([sure, unsure], {"content.malicious_link"}, trace, None, None, 0.99) == [sure]
    assert any(line.startswith("content.porn: model score 0.995 stands beside") for line in trace)
    assert deferred([sure, unsure], {"content.malicious_link"}, None) == []


def test_a_prohibition_frame_vetoes_a_model_hit_where_it_names_the_rule(tiny: Path) -> None:
    detector = ContentDetector(with_model(tiny, thresholds={"content.defamation": 0.2}))
    notice = "严禁说周七的方案全是鼋鼍鼋鼍在造假"  # 造假: a defamation term the frame governs
    assert findings(detector, notice) == []
    trace: list[str] = []
    detector.scan_text(notice, trace)
    assert any("vetoed" in line for line in trace)
    # the frame governs its own clause only
    assert [f.rule for f in findings(detector, "严禁迟到，周七的方案全是鼋鼍鼋鼍在造假")] == [
        "content.defamation"
    ]
    # and a frame that names nothing of the rule is not a notice against it (不要再相信…)
    assert [f.rule for f in findings(detector, "严禁说周七的方案全是鼋鼍鼋鼍")] == ["content.defamation"]


def test_the_models_veto_reads_a_frame_as_the_dictionaries_do(tiny: Path) -> None:
    # One predicate (context.governs): a frame governs a term that lies wholly within its window.
    detector = ContentDetector(with_model(tiny, thresholds={"content.defamation": 0.2}))
    window = detector.frame_window
    lead = "说周七的方案全是鼋鼍鼋鼍"

    def read(before_term: int) -> tuple[list[str], list[str]]:
        """(rules found, trace) with 造假 this many characters into the frame's window."""
        text = "严禁" + lead + "甲乙丙丁戊己庚辛壬癸"[: before_term - len(lead)] + "造假"
        trace: list[str] = []
        detector.scan_text(text, trace)
        return [f.rule for f in findings(detector, text)], trace

    def governed(trace: list[str]) -> tuple[bool, bool]:  # (the words', the model's reading)
        return (
            any("'造假' suppressed by prohibition frame" in line for line in trace),
            any(line.startswith("content.defamation: model score") and "vetoed" in line for line in trace),
        )

    found, trace = read(window - 2)  # 造假 ends on the window's last character
    assert found == [] and governed(trace) == (True, True)
    found, trace = read(window - 1)  # one past it: governed by neither
    assert found == ["content.defamation"] and governed(trace) == (False, False)


def test_a_head_that_needs_a_target_fires_only_where_a_group_of_people_is_named(tiny: Path) -> None:
    gated = ContentDetector(
        with_model(tiny, thresholds={"content.defamation": 0.5}, needs_target=["content.defamation"])
    )
    assert findings(gated, "周七的方案全是鼋鼍鼋鼍") == []
    trace: list[str] = []
    gated.scan_text("周七的方案全是鼋鼍鼋鼍", trace)
    assert any("names no group of people" in line for line in trace)
    assert [f.rule for f in findings(gated, "外地人周七的方案全是鼋鼍鼋鼍")] == ["content.defamation"]


def test_training_chooses_a_gated_heads_threshold_as_the_detector_runs_it(tiny: Path, tmp_path: Path) -> None:
    ungated = json.loads(tiny.with_suffix(".json").read_text(encoding="utf-8"))["cross_validation"]
    assert ungated["gated_heads"] == [] and ungated["at_suggested_threshold"]["content.defamation"]["tp"] > 0
    gate = {"content.defamation": lambda text: "张三" in text}  # admits one name's messages only
    meta = train(tiny_set(), None, tmp_path, TINY, gates=gate).meta["cross_validation"]
    assert meta["gated_heads"] == ["content.defamation"]
    at = meta["at_suggested_threshold"]["content.defamation"]
    assert 0 < at["tp"] < ungated["at_suggested_threshold"]["content.defamation"]["tp"]


def test_the_model_reloads_live(tiny: Path, tmp_path: Path) -> None:
    model = tmp_path / "content.bin"
    shutil.copy(tiny, model)
    shutil.copy(tiny.with_suffix(".json"), tmp_path / "content.json")
    detector = ContentDetector(with_model(model, thresholds={"content.defamation": 0.5}))
    before = detector.judge.model if detector.judge else None
    assert not detector.changed()
    train(tiny_set()[:60], None, tmp_path / "next", TINY)
    model.write_bytes(b"partial")  # a copy in progress: refused, the old model stays
    assert detector.changed() and not detector.reload()
    assert detector.judge is not None and detector.judge.model == before
    shutil.copy(tmp_path / "next" / "content.bin", model)
    shutil.copy(tmp_path / "next" / "content.json", tmp_path / "content.json")
    assert detector.reload()
    assert detector.judge is not None and detector.judge.model != before


def test_scan_shows_the_score_and_the_ngrams(tiny: Path) -> None:
    detector = ContentDetector(with_model(tiny, thresholds={"content.defamation": 0.5}))
    out = io.StringIO()
    code = run_scan(detector, "周七的方案全是鼋鼍鼋鼍", None, True, io.StringIO(), out, io.StringIO())
    assert code == 1
    (hit,) = json.loads(out.getvalue())["hits"]
    assert hit["model"]["name"] == "qunguard-content" and hit["score"] >= 0.5
    assert any("鼋" in f["ngram"] or "鼍" in f["ngram"] for f in hit["features"])
    text = io.StringIO()
    run_scan(detector, "周七的方案全是鼋鼍鼋鼍", None, False, io.StringIO(), text, io.StringIO())
    assert "score" in text.getvalue() and "drivers:" in text.getvalue()


CORPUS = CONFIG_DIR.parent.parent / "shared" / "corpus" / "content.jsonl"


# The dictionary hits of the shared corpus the model vetoes: the insult of a threat (你个废物…
# 弄死你), which the second stage reads as violence and gives almost none of its probability. So it
# did from the twenty-second session until it read its inputs through piecewise-linear functions
# (twenty-fourth), and again since it reads heads less the ordinary-chat head (thirty-first; docs/
# eval.md). Any other change shows here.
MODEL_VETOED = {("content.insult", "m-c0194")}


@pytest.mark.skipif(not CORPUS.is_file(), reason="the shared corpus is not beside the checkout")
def test_where_the_model_is_silent_nothing_changes() -> None:
    """The shared corpus, model on and off: the same findings but MODEL_VETOED; only model evidence
    is added."""
    on = ContentDetector(load_policy())
    off_policy = load_policy()
    content = {**off_policy.section("content"), "model": {"enabled": False}}
    off = ContentDetector(replace(off_policy, sections={**off_policy.sections, "content": content}))
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("kind") != "message" or not event.get("text"):
            continue
        a = {f.rule: f.evidence for f in findings(on, event["text"])}
        b = {f.rule: f.evidence for f in findings(off, event["text"])}
        vetoed = {rule for rule, event_id in MODEL_VETOED if event_id == event["event_id"]}
        assert vetoed <= b.keys() and not vetoed & a.keys()
        b = {rule: evidence for rule, evidence in b.items() if rule not in vetoed}
        assert a.keys() >= b.keys()
        for rule, evidence in b.items():
            assert {k: v for k, v in a[rule].items() if k not in ("model", "score")} == evidence


def test_model_train_command_prints_a_summary(tmp_path: Path) -> None:
    from agents.cli import model as cli
    from agents.cli.parser import build_parser

    args = build_parser().parse_args(["model", "train", "--out", str(tmp_path), "--datasets", str(tmp_path)])
    assert args.func is cli.cmd_model_train
    assert cli.cmd_model_train(args) == 2  # no datasets there: one error line, exit 2
    out = io.StringIO()
    assert cli.run_train(tiny_set(), None, tmp_path, 2, out) == 0
    text = out.getvalue()
    assert "content.bin" in text and "author_a" in text and "content.defamation" in text


def test_a_dictionary_hit_of_ambiguous_terms_the_model_reads_as_harmless_is_vetoed(
    tiny: Path, tmp_path: Path
) -> None:
    # the tiny model with 公司 and 造假 judged ambiguous for defamation (as training would, had our
    # labelled data shown them mostly in harmless messages)
    model = tmp_path / "content.bin"
    shutil.copy(tiny, model)
    meta = json.loads(tiny.with_suffix(".json").read_text(encoding="utf-8"))
    meta["ambiguous_terms"] = {"content.defamation": [["公司", "造假"]]}  # the pairing
    model.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    assert TextClassifier.load(model).version != TextClassifier.load(tiny).version

    def detector(path: Path, **model: object) -> ContentDetector:
        return ContentDetector(with_model(path, thresholds={"content.defamation": 0.99}, **model))

    text = "我们公司这几年的账目一直都在造假"  # the words say defamation; the tiny model reads ordinary chat
    assert [f.rule for f in findings(detector(model), text)] == ["content.defamation"]  # no veto set
    assert [f.rule for f in findings(detector(tiny, lexicon_veto_below=0.3), text)] == [
        "content.defamation"
    ]  # no term is ambiguous to that model
    vetoing = detector(model, lexicon_veto_below=0.3)
    assert findings(vetoing, text) == []
    trace: list[str] = []
    vetoing.scan_text(text, trace)
    assert any("vetoed: terms mostly harmless" in line for line in trace)
    # on a short text the model's score is its reading of the terms alone: the words decide
    assert [f.rule for f in findings(vetoing, "公司一直在造假")] == ["content.defamation"]
    # where the model agrees, the words' hit stands, with the words as its evidence
    (finding,) = findings(vetoing, "周七的方案全是鼋鼍鼋鼍鼋鼍,公司一直在造假")
    assert finding.evidence["terms"] == ["公司", "造假"]


def test_any_dictionary_hit_the_model_all_but_rules_out_is_vetoed_below_every_below(
    tiny: Path, tmp_path: Path
) -> None:
    """`lexicon_veto_every_below` reaches the terms that are not ambiguous too, from its own (far
    lower) cutoff, where the model read them in training; an evasion, a short text and a word the
    model never read stay the words' to decide."""
    model = tmp_path / "content.bin"
    shutil.copy(tiny, model)
    meta = json.loads(tiny.with_suffix(".json").read_text(encoding="utf-8"))
    meta["seen_terms"] = {"content.defamation": ["公司", "造假"]}
    model.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    assert TextClassifier.load(model).version != TextClassifier.load(tiny).version

    def detector(path: Path, **settings: object) -> ContentDetector:
        return ContentDetector(with_model(path, thresholds={"content.defamation": 0.99}, **settings))

    text = "我们公司这几年的账目一直都在造假"  # the words say defamation; the tiny model reads ordinary chat
    assert [f.rule for f in findings(detector(model, lexicon_veto_below=0.01), text)] == [
        "content.defamation"
    ]
    vetoing = detector(model, lexicon_veto_below=0.01, lexicon_veto_every_below=0.99)
    assert findings(vetoing, text) == []
    assert findings(detector(model, lexicon_veto_every_below=0.99), text) == []  # on its own too
    trace: list[str] = []
    vetoing.scan_text(text, trace)
    assert any("vetoed: the model all but rules it out" in line for line in trace)
    assert [f.rule for f in findings(vetoing, "公司一直在造假")] == ["content.defamation"]
    # the tiny model as trained has no seen terms (trained without the dictionaries): no veto
    unseen = detector(tiny, lexicon_veto_below=0.01, lexicon_veto_every_below=0.99)
    assert [f.rule for f in findings(unseen, text)] == ["content.defamation"]
    score = vetoing.judge.classifier.scores(text)["content.defamation"]
    assert [
        f.rule
        for f in findings(detector(model, lexicon_veto_below=0.01, lexicon_veto_every_below=score / 2), text)
    ] == ["content.defamation"]  # the model's score above the cutoff: the words' hit stands


def test_a_dictionary_hit_in_a_message_the_model_reads_as_harmless_is_vetoed(
    tiny: Path, tmp_path: Path
) -> None:
    """`lexicon_veto_harmless_below` vetoes a seen term's hit where the model scores no rule at
    least that; a message the model reads as another violation keeps the words' hit, since the
    rules share one softmax (a threat that also insults scores insult low)."""
    model = tmp_path / "content.bin"
    shutil.copy(tiny, model)
    meta = json.loads(tiny.with_suffix(".json").read_text(encoding="utf-8"))
    meta["seen_terms"] = {"content.gambling": ["赌博"]}
    model.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    def detector(**settings: object) -> ContentDetector:
        return ContentDetector(with_model(model, thresholds={"content.defamation": 0.99}, **settings))

    harmless = "我们组这个周末一起去赌博吧大家记得带钱"  # the tiny model reads ordinary chat
    smeared = "周七的方案全是鼋鼍鼋鼍鼋鼍，他天天去赌博"  # the tiny model reads defamation
    vetoing = detector(lexicon_veto_harmless_below=0.5)
    assert "content.gambling" in {f.rule for f in findings(detector(), harmless)}  # no veto set
    assert "content.gambling" not in {f.rule for f in findings(vetoing, harmless)}
    trace: list[str] = []
    vetoing.scan_text(harmless, trace)
    assert any("vetoed: the model reads the message as harmless" in line for line in trace)
    # a homophone in characters is the model's to veto too; pinyin letters are an evasion
    assert "content.gambling" not in {f.rule for f in findings(vetoing, harmless.replace("赌博", "堵博"))}
    assert "content.gambling" in {f.rule for f in findings(vetoing, harmless.replace("赌博", "du博"))}
    assert vetoing.judge.classifier.scores(smeared)["content.defamation"] >= 0.5
    assert "content.gambling" in {f.rule for f in findings(vetoing, smeared)}
    # ordinary clauses before it dilute the message's reading, not the clause the hit is in
    clause = "周七的方案全是鼋鼍他天天去赌博"
    diluted = "明天开会记得带电脑，中午一起吃饭吗，文件已经发到邮箱，会议室改到三楼，" + clause
    scores = vetoing.judge.classifier.scores
    assert scores(diluted)["content.defamation"] < 0.5 <= scores(clause)["content.defamation"]
    assert "content.gambling" in {f.rule for f in findings(vetoing, diluted)}


def test_a_hit_knows_whether_it_was_written_as_an_evasion() -> None:
    policy = load_policy()
    words = ContentDetector(policy)
    typed = ["赌博网站又换域名了", "ＡＶ网站又换域名了"]  # width and case: how people type
    disguises = [
        "du博网站又换域名了",
        "赌.博网站又换域名了",
        "賭博網站又換域名了",
    ]  # pinyin letters, noise, script
    # a homophone in characters is not one by itself: ordinary words sound like terms (凭码: 平码)
    homophones = ["堵博网站又换域名了", "取件码3-2-1109，请凭码领取"]
    assert [hit.disguised for text in typed for hit in words.scan_words(text)] == [False, False]
    assert [hit.disguised for text in disguises for hit in words.scan_words(text)] == [True, True, True]
    assert [hit.disguised for text in homophones for hit in words.scan_words(text)] == [False, False]
    content = {
        **policy.section("content"),
        "traditional_is_disguise": False,
    }  # where people write traditional
    traditional = ContentDetector(replace(policy, sections={**policy.sections, "content": content}))
    assert [hit.disguised for hit in traditional.scan_words("賭博網站又換域名了")] == [False]
    assert [hit.disguised for hit in traditional.scan_words("赌.博网站又换域名了")] == [True]


def test_an_at_near_hit_is_judged_by_its_pairing_not_by_its_words_alone(tiny: Path, tmp_path: Path) -> None:
    words = ContentDetector(load_policy())
    (salary,) = words.scan_words("小王这个月工资14800,比我多")
    assert ("%amount", "工资") in salary.units() and ("工资",) not in salary.units()
    model = tmp_path / "content.bin"
    shutil.copy(tiny, model)
    meta = json.loads(tiny.with_suffix(".json").read_text(encoding="utf-8"))
    meta["ambiguous_terms"] = {"content.confidential": [["工资"]]}  # 工资 alone: not what fires
    model.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    assert not TextClassifier.load(model).is_ambiguous("content.confidential", salary.units())
    meta["ambiguous_terms"] = {"content.confidential": [["%amount", "工资"]]}  # the pairing
    model.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    assert TextClassifier.load(model).is_ambiguous("content.confidential", salary.units())
