"""`qunguard eval`: every section on small data written here, skipped sections when the shared
data is absent, bad arguments, and `--quick` on the real shared datasets when they are present."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from agents.cli.parser import main
from config import CONFIG_DIR
from streams.content.datasets import HELD_OUT_AUTHORS, MULTI_AUTHORS, MULTI_TUNING_AUTHORS, TRAINING_AUTHORS
from streams.content.datasets import LABELLED_DIR as LABELLED
from tests.conftest import CORPUS

DATASETS = CORPUS.parent / "datasets"
GAMBLING = "content.gambling"


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A labelled folder, a datasets folder and a corpus folder, each a few lines."""
    for n, author in enumerate(TRAINING_AUTHORS + HELD_OUT_AUTHORS):
        _jsonl(
            tmp_path / "labelled" / f"author_{author}.jsonl",
            [
                {"text": f"今晚{n}点一起来赌博，押大押小", "rule": GAMBLING, "kind": "positive", "note": ""},
                {
                    "text": f"第{n}次提醒：严禁在群里赌博",
                    "rule": GAMBLING,
                    "kind": "hard_negative",
                    "note": "",
                },
                {"text": f"下午{n}点在三楼开周会", "rule": None, "kind": "benign", "note": ""},
                {"text": f"周{n}的报表做完了吗", "rule": None, "kind": "benign", "note": ""},
            ],
        )
    for kind, rule in (("sms", "content.ad"), ("posts", "content.rumor")):
        _jsonl(
            tmp_path / "labelled" / f"imitation_{kind}.jsonl",
            [
                {"text": "全场五折，加微信下单，回T退订", "rule": rule, "kind": "positive", "note": ""},
                {"text": "您的快递已到驿站，请凭取件码领取", "rule": None, "kind": "benign", "note": ""},
            ],
        )
    for author in MULTI_AUTHORS + MULTI_TUNING_AUTHORS:
        _jsonl(
            tmp_path / "labelled" / f"multi_{author}.jsonl",
            [
                {
                    "text": "兄弟们来赌博，押大押小，傻逼才不来",
                    "rules": [GAMBLING, "content.insult"],
                    "note": "",
                },
                {"text": "严禁在群里赌博", "rules": [], "note": ""},
            ],
        )
    cold = tmp_path / "datasets" / "cold" / "dev.csv"
    cold.parent.mkdir(parents=True)
    cold.write_text(
        "id,topic,label,text\n1,region,1,你这个傻逼\n2,region,0,各地的人都一样\n", encoding="utf-8"
    )
    _jsonl(
        tmp_path / "datasets" / "benign" / "lccc.jsonl",
        [{"source": "LCCC", "turns": [f"今天天气{i}不错", "是啊"]} for i in range(20)],
    )
    _jsonl(
        tmp_path / "corpus" / "content.jsonl",
        [
            {
                "kind": "message",
                "event_id": "m-1",
                "ts": "2026-03-10T09:05:00+08:00",
                "group_id": "g-1",
                "sender_id": "wx_a",
                "msg_type": "text",
                "text": "来赌博吧，今晚开盘",
            },
            {
                "kind": "message",
                "event_id": "m-2",
                "ts": "2026-03-10T09:06:00+08:00",
                "group_id": "g-1",
                "sender_id": "wx_a",
                "msg_type": "text",
                "text": "周报已发",
            },
        ],
    )
    _jsonl(tmp_path / "corpus" / "content.expected.jsonl", [{"rule": GAMBLING, "event_id": "m-1"}])
    return tmp_path


def lexicon_policy(folder: Path) -> Path:
    """The shipped policy with the learned model off (these tests train nothing)."""
    text = (CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")
    head, section, tail = text.partition("[content.model]")
    assert section and "enabled = true" in tail, "the shipped policy's [content.model] changed shape"
    path = folder / "policy.toml"
    path.write_text(head + section + tail.replace("enabled = true", "enabled = false", 1), encoding="utf-8")
    return path


def _eval(data: Path, *extra: str) -> tuple[int, dict]:
    out = data / "eval.json"
    code = main(["eval", "--json", "--out", str(out), "--labelled", str(data / "labelled"),
                 "--datasets", str(data / "datasets"), "--corpus", str(data / "corpus"),
                 "--policy", str(lexicon_policy(data)), *extra])  # fmt: skip
    return code, json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}


def test_every_section_scores_and_names_its_data(data: Path) -> None:
    code, doc = _eval(data, "--folds", "2")
    assert code == 0
    sections = doc["sections"]
    assert list(sections) == [
        "cv",
        "held_out",
        "cold",
        "benign",
        "corpus",
        "imitations",
        "multi",
        "multi_tuning",
    ]
    for name, section in sections.items():
        assert section["data"] and section["seconds"] >= 0, name
    cv = sections["cv"]
    assert all(f"author_{a}.jsonl" in cv["data"] for a in TRAINING_AUTHORS)
    assert not any(f"author_{a}.jsonl" in cv["data"] for a in HELD_OUT_AUTHORS)
    assert cv["rules"][GAMBLING]["support"] == len(TRAINING_AUTHORS) and len(cv["folds"]) == 2
    assert sum(f["examples"] for f in cv["folds"]) == 4 * len(TRAINING_AUTHORS)
    assert sections["held_out"]["rules"][GAMBLING]["support"] == len(HELD_OUT_AUTHORS)
    assert all(f"author_{a}.jsonl" in sections["held_out"]["data"] for a in HELD_OUT_AUTHORS)
    by_author = sections["held_out"]["by_author"]  # each held-out author's own figures beside the pooled
    assert list(by_author) == list(HELD_OUT_AUTHORS)
    assert all(part["rules"][GAMBLING]["support"] == 1 for part in by_author.values())
    assert list(cv["by_author"]) == list(TRAINING_AUTHORS)  # so a subset of authors can be pooled again
    assert all(part["rules"][GAMBLING]["support"] == 1 for part in cv["by_author"].values())
    assert sections["cold"]["tp"] + sections["cold"]["fn"] == 1
    assert sections["cold"]["tn"] + sections["cold"]["fp"] == 1
    benign = sections["benign"]
    assert 0 < benign["turns"] < 40 and benign["false_alarm_rate"] == 0.0  # the evaluation half only
    assert sections["corpus"]["rules"][GAMBLING]["tp"] == 1
    sms = sections["imitations"]["sms"]
    assert sms["found"]["content.ad"]["of"] == 1 and sms["ordinary"]["texts"] == 1
    assert sms["ordinary"]["false_alarms"] == 0 and sms["ordinary"]["false_alarm_interval"][0] == 0.0
    multi = sections["multi"]  # every rule a line breaks counts: a second one found is a true positive
    assert (
        multi["rules"][GAMBLING]["support"]
        == len(MULTI_AUTHORS)
        == multi["rules"]["content.insult"]["support"]
    )
    assert multi["rules"][GAMBLING]["fp"] == 0
    assert multi["several_rules"]["lines"] == len(MULTI_AUTHORS)
    assert all(f"multi_{a}.jsonl" in multi["data"] for a in MULTI_AUTHORS)
    tuning = sections["multi_tuning"]  # the lines read while tuning, reported apart from the held-out ones
    assert all(f"multi_{a}.jsonl" in tuning["data"] for a in MULTI_TUNING_AUTHORS)
    assert not any(f"multi_{a}.jsonl" in tuning["data"] for a in MULTI_AUTHORS)


def test_table_output(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", "--labelled", str(data / "labelled"), "--datasets", str(data / "datasets"),
                 "--corpus", str(data / "corpus"), "--only", "held_out,benign,imitations,multi,multi_tuning", "--folds", "2",
                 "--policy", str(lexicon_policy(data))])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    held = ", ".join(HELD_OUT_AUTHORS)
    assert f"(b) held-out authors ({held})" in out and "data: " in out and GAMBLING in out
    assert "false alarms 0 of" in out and "(a) cross-validation" not in out
    assert "sms: content.ad found on" in out and "posts: ordinary texts flagged 0 of 1" in out
    assert (
        "(g) lines labelled with every rule they break (helper-written, held out)" in out
        and "lines breaking two rules or more: 2" in out
    )
    assert "(h) lines labelled with every rule they break (helper-written, read while tuning)" in out
    assert out.count("lines breaking two rules or more: 2") == 2  # each set on its own


def test_a_multi_labelled_line_with_an_unknown_rule_exits_2(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = data / "labelled" / f"multi_{MULTI_AUTHORS[0]}.jsonl"
    path.write_text('{"text": "x", "rules": ["content.nonsense"]}\n', encoding="utf-8")
    code, _doc = _eval(data, "--only", "multi")
    err = capsys.readouterr().err
    assert code == 2 and f"multi_{MULTI_AUTHORS[0]}.jsonl:1: field rules" in err


def test_missing_shared_data_is_skipped_not_fatal(data: Path, tmp_path: Path) -> None:
    code, doc = _eval(data, "--datasets", str(tmp_path / "nowhere"), "--only", "cold,benign")
    assert code == 0
    assert all("not found" in s["skipped"] for s in doc["sections"].values())


@pytest.mark.parametrize("args", [["--only", "cv,nonsense"], ["--folds", "1"]])
def test_bad_arguments_exit_2(data: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _doc = _eval(data, *args)
    assert code == 2 and "qunguard eval:" in capsys.readouterr().err


def test_bad_labelled_file_exits_2(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (data / "labelled" / "author_c.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    code, _doc = _eval(data, "--only", "held_out")
    assert code == 2 and "author_c.jsonl:1" in capsys.readouterr().err


@pytest.mark.skipif(not (DATASETS / "cold" / "dev.csv").is_file(), reason="no ../shared/datasets here")
def test_quick_on_the_shared_data(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    assert main(["eval", "--quick", "--json", "--out", str(out), "--datasets", str(DATASETS),
                 "--corpus", str(CORPUS)]) == 0  # fmt: skip
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["quick"] is True
    sections = doc["sections"]
    training = sum(
        1 for a in TRAINING_AUTHORS for _ in (LABELLED / f"author_{a}.jsonl").open(encoding="utf-8")
    )
    assert 0.05 * training < sum(f["examples"] for f in sections["cv"]["folds"]) < 0.15 * training  # a tenth
    assert 0.0 <= sections["cold"]["balanced_accuracy"] <= 1.0
    assert 0.0 <= sections["benign"]["false_alarm_rate"] <= 1.0
    low, high = sections["benign"]["false_alarm_interval"]
    assert low <= sections["benign"]["false_alarm_rate"] <= high
    assert sections["corpus"]["summary"]["micro"]["support"] > 0


def test_cross_validation_retrains_per_fold_without_the_fold(data: Path, tmp_path: Path) -> None:
    from agents.cli.eval import EvalOptions, cross_validation
    from streams.content.datasets import fold_of
    from streams.content.detector import ContentDetector
    from streams.core.policy import load_policy

    policy = load_policy()
    trained: list[set[str]] = []

    def trainer(training, workdir: Path):
        trained.append({e.text for e in training})
        return policy

    options = EvalOptions(policy=policy, labelled=data / "labelled", folds=3, trainer=trainer)
    section = cross_validation(options, ContentDetector(policy), tmp_path)
    assert section["retrained"] is True and "retrained for every fold" in section["data"]
    assert len(trained) == 3
    texts = {t for fold in trained for t in fold}
    assert len(texts) == 4 * len(TRAINING_AUTHORS)  # the training authors, never a held-out one
    for fold, seen in enumerate(trained):
        assert all(fold_of(t, 3) != fold for t in seen)
        assert len(seen) == 4 * len(TRAINING_AUTHORS) - section["folds"][fold]["examples"]


def test_kept_folds_train_once_per_set_of_examples(data: Path, tmp_path: Path) -> None:
    """`--keep-folds`: a fold's model is trained once and reused while its examples are the same."""
    from agents.cli.eval import EvalOptions, cross_validation
    from agents.cli.eval_command import KeptFolds
    from streams.content.detector import ContentDetector, replace_model
    from streams.core.policy import load_policy

    policy = load_policy()
    calls: list[Path] = []
    examples: dict[str, list] = {}  # per fold: what it last trained on

    def trainer(training, workdir: Path):
        calls.append(workdir)
        examples[workdir.name] = list(training)
        model = workdir / "content.bin"
        model.write_bytes(b"a model")
        return replace_model(policy, path=str(model), enabled=False)  # the engine without a model

    kept = KeptFolds(trainer, policy, "datasets")
    options = EvalOptions(policy=policy, labelled=data / "labelled", folds=3, trainer=kept)
    keep = tmp_path / "folds"
    first = cross_validation(options, ContentDetector(policy), keep)
    assert [p.name for p in calls] == ["fold-0", "fold-1", "fold-2"]
    second = cross_validation(options, ContentDetector(policy), keep)
    assert len(calls) == 3  # every fold's model reused
    assert first["folds"] == second["folds"] and first["summary"] == second["summary"]
    (data / "labelled" / f"author_{TRAINING_AUTHORS[0]}.jsonl").open("a", encoding="utf-8").write(
        json.dumps({"text": "一条新的普通消息", "rule": None, "kind": "benign"}, ensure_ascii=False) + "\n"
    )
    cross_validation(options, ContentDetector(policy), keep)
    assert len(calls) == 5  # the two folds that train on the new line; the one it is tested in is kept
    elsewhere = dataclasses.replace(options, trainer=KeptFolds(trainer, policy, "other datasets"))
    cross_validation(elsewhere, ContentDetector(policy), keep)
    assert len(calls) == 8  # every fold again
    # a kept model runs with the run's own settings (thresholds, vetoes): only what the trainer set is kept
    stamp = json.loads((keep / "fold-0" / "kept.json").read_text(encoding="utf-8"))
    assert stamp["model"] == {"path": str(keep / "fold-0" / "content.bin"), "enabled": False}
    variant = replace_model(policy, lexicon_veto_below=0.42)
    reused = KeptFolds(trainer, variant, "other datasets")(examples["fold-0"], keep / "fold-0")
    assert len(calls) == 8
    assert reused.section("content")["model"]["lexicon_veto_below"] == 0.42
    assert reused.section("content")["model"]["path"] == stamp["model"]["path"]


def test_keep_folds_flag_keeps_and_reuses_the_fold_models(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qunguard eval --keep-folds DIR` as typed: the folds' models land in DIR, and a second run
    with the same examples trains none."""
    import agents.cli.eval_command as command
    from streams.content.detector import replace_model

    calls: list[str] = []

    def fold_trainer(policy, datasets: Path, quick: bool):
        def trainer(training, workdir: Path):
            calls.append(workdir.name)
            (workdir / "content.bin").write_bytes(b"a model")
            return replace_model(policy, path=str(workdir / "content.bin"), enabled=False)

        return trainer

    monkeypatch.setattr(command, "fold_trainer", fold_trainer)
    cold = data / "datasets" / "cold"
    (cold / "train.csv").write_text((cold / "dev.csv").read_text(encoding="utf-8"), encoding="utf-8")
    keep = tmp_path / "kept"
    first = _eval(data, "--only", "cv", "--folds", "2", "--keep-folds", str(keep))
    assert first[0] == 0 and calls == ["fold-0", "fold-1"]
    assert sorted(p.name for p in keep.iterdir()) == ["fold-0", "fold-1"]
    assert (keep / "fold-1" / "kept.json").is_file() and (keep / "fold-1" / "content.bin").is_file()
    second = _eval(data, "--only", "cv", "--folds", "2", "--keep-folds", str(keep))
    assert second[0] == 0 and len(calls) == 2  # both folds' models reused
    assert second[1]["sections"]["cv"]["summary"] == first[1]["sections"]["cv"]["summary"]


def test_fold_trainer_only_when_the_policy_runs_a_model(tmp_path: Path) -> None:
    from agents.cli.eval_command import fold_trainer
    from streams.core.policy import load_policy

    shipped = load_policy()
    model_on = shipped.section("content").get("model", {}).get("enabled", False)
    assert (fold_trainer(shipped, tmp_path, quick=False) is not None) == model_on
    assert fold_trainer(shipped, tmp_path, quick=True) is None  # --quick trains nothing
    assert fold_trainer(load_policy(lexicon_policy(tmp_path)), tmp_path, quick=False) is None
