"""content.malicious_link's learned judge: its features, its fit and file form, and how the link
checks hand it the hosts no definite check fired on."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agents.cli.model import MODEL_DIR
from agents.cli.scan import render, scan_event, text_event
from streams.content.datasets import Labelled
from streams.content.detector import ContentDetector, replace_model
from streams.content.link_judge import (
    GRID,
    LINK_MARK,
    MAX_HOSTS,
    LinkJudge,
    LinkModel,
    bucket,
    fit,
    trained,
)
from streams.content.links import LinkChecker, LinkPolicy
from streams.content.matcher import ModelHit
from streams.content.reading import HEAD, TAIL
from streams.content.training import train
from streams.core.detector import Context
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.policy import load_policy
from tests.unit.streams.content.test_classifier import TINY, tiny_set
from topics.events import MessageEvent

RULE = "content.malicious_link"
TS = datetime(2026, 3, 10, 10, 0, tzinfo=timezone(timedelta(hours=8)))
CTX = Context(policy=load_policy(), roster=MemoryRoster(()), ledger=MemoryLedger(()))
ALWAYS = LinkModel(LinkJudge(intercept=8.0, weights={}), 0.5, ("qunguard-content", "test"))
NEVER = LinkModel(LinkJudge(intercept=-8.0, weights={}), 0.5, ("qunguard-content", "test"))


@pytest.fixture(scope="module")
def checker() -> LinkChecker:
    return LinkChecker(LinkPolicy.from_section(load_policy().section("content")))


def test_features_read_the_host_and_the_words_around_it(checker: LinkChecker) -> None:
    definite, found = checker.reading("个税退税请登录 etax-tui.com/k8Fz2 领取")
    assert not definite and found is not None
    assert {"kind=none", "tld=com", "hyphen", "part=etax", "tri=eta", "path", "code"} <= set(found)
    assert {"char=登", "pair=登录", "pair=领取", f"char={LINK_MARK}"} <= set(found)
    assert not any("etax" in f for f in found if f.startswith(("char=", "pair=")))  # the host is not context
    assert checker.reading("个税退税请登录 etax-tui.com/k8Fz2 领取") == (definite, found)


def test_what_the_checks_said_is_a_feature(checker: LinkChecker) -> None:
    _, found = checker.reading("抽奖入口 choujiang.xyz/go")
    assert found is not None and "kind=risky_tld" in found


@pytest.mark.parametrize(
    "text",
    [
        "会议直播入口 https://bit.ly/3kLmN0p",
        "资料 http://47.96.213.18/files",
        "安装 http://a.example.org/x.apk",
    ],
)
def test_definite_checks_leave_nothing_to_judge(checker: LinkChecker, text: str) -> None:
    assert checker.reading(text) == (True, None)


@pytest.mark.parametrize("text", ["明天开会", "接口文档 https://docs.example-corp.com/api"])
def test_no_host_to_judge(checker: LinkChecker, text: str) -> None:
    assert checker.reading(text) == (False, None)


def test_the_judge_decides_the_hosts_no_definite_check_fired_on(checker: LinkChecker) -> None:
    text = "抽奖入口 choujiang.xyz/go"
    assert checker.scan_text(text, model=NEVER) is None
    hit = checker.scan_text(text, model=ALWAYS)
    assert isinstance(hit, ModelHit)
    assert hit.terms == ("judged:risky_tld:choujiang.xyz",)
    assert text[hit.start : hit.end] == "choujiang.xyz/go"
    assert hit.evidence() == {
        "model": {"name": "qunguard-content", "version": "test", "head": RULE},
        "score": 1.0,
    }
    # without the model the checks' own signals fire, as before the judge
    assert checker.scan_text(text).terms == ("risky_tld:choujiang.xyz",)


def test_a_definite_check_fires_whatever_the_judge_says(checker: LinkChecker) -> None:
    hit = checker.scan_text("会议直播入口 https://bit.ly/3kLmN0p", model=NEVER)
    assert hit is not None and not isinstance(hit, ModelHit)
    assert hit.terms == ("shortener:bit.ly",)


def test_the_judge_traces_its_score(checker: LinkChecker) -> None:
    trace: list[str] = []
    checker.scan_text("抽奖入口 choujiang.xyz/go", trace=trace, model=NEVER)
    assert trace == [f"{RULE}: the link model scores 0.000 (threshold 0.5)"]


def test_a_judged_hit_names_the_hosts_the_judge_flags_alone(checker: LinkChecker) -> None:
    text = "报销系统 oa.hengda-group.com 已迁移，旧账号请到 oa-login.top/k7Qm2 验证"
    _, found = checker.reading(text)
    assert found is not None and sum(f.startswith("kind=") for f in found) == 2  # both hosts are judged
    leaning = LinkJudge(intercept=0.0, weights={bucket("part=login"): 5.0, bucket("part=group"): -5.0})
    hit = checker.scan_text(text, model=LinkModel(leaning, 0.5, ("qunguard-content", "test")))
    assert hit is not None and hit.terms == ("judged:risky_tld:oa-login.top",)
    assert text[hit.start : hit.end] == "oa-login.top/k7Qm2"
    # a judge that flags every host alone names each
    both = checker.scan_text(text, model=ALWAYS)
    assert both is not None and both.terms == (
        "judged:host:oa.hengda-group.com",
        "judged:risky_tld:oa-login.top",
    )


LURES = ["请登录 {} 领取补贴", "点击 {} 验证账户", "工资条在 {} 输入密码查看", "退税入口 {} 填银行卡号"]
ADS = [
    "【鲜果】会员日满减 {} 退订回T",
    "新店开业 {} 欢迎光临",
    "周末团购 {} 仅需39元",
    "【书店】图书满100减50 {} 退订",
]
HOSTS = [
    "yg-butie.net",
    "gz-tiao.com",
    "ts-tui.org",
    "ka-hao.cc",
    "sp-yx.com",
    "xg.shop",
    "tuan-gou.net",
    "sc-w.com",
]


def _messages(checker: LinkChecker) -> tuple[list[list[str]], list[bool]]:
    rows, harmful = [], []
    for k, host in enumerate(HOSTS):
        for template, bad in [(LURES[k % 4], True), (ADS[k % 4], False)]:
            _, found = checker.reading(template.format(host))
            assert found is not None
            rows.append(found)
            harmful.append(bad)
    return rows, harmful


def test_fit_learns_the_words_around_a_link(checker: LinkChecker) -> None:
    rows, harmful = _messages(checker)
    judge = fit(rows, harmful)
    _, lure = checker.reading("请登录 new-host.com 验证账户 领取补贴")
    _, ad = checker.reading("【新店】会员日满减 new-host.com 退订回T")
    assert lure is not None and ad is not None
    assert judge.score(lure) > 0.5 > judge.score(ad)
    assert fit(rows, harmful) == judge  # deterministic
    assert judge.explain(lure, top=3)[0][1] > 0


def test_the_judge_round_trips_through_its_metadata(checker: LinkChecker) -> None:
    rows, harmful = _messages(checker)
    judge = fit(rows, harmful)
    again = LinkJudge.from_json(judge.to_json())
    assert [round(again.score(r), 6) for r in rows] == [round(judge.score(r), 6) for r in rows]
    with pytest.raises(ValueError, match="out of range"):
        LinkJudge.from_json({"bits": 4, "intercept": 0.0, "weights": [[99, 1.0]]})


def test_fit_needs_both_kinds(checker: LinkChecker) -> None:
    rows, _ = _messages(checker)
    with pytest.raises(ValueError, match="both kinds"):
        fit(rows, [True] * len(rows))


def test_trained_picks_the_threshold_on_held_out_groups(checker: LinkChecker) -> None:
    messages = []
    for k, host in enumerate(HOSTS):
        messages.append((LURES[k % 4].format(host), True, k % 4))
        messages.append((ADS[k % 4].format(host), False, k % 4))
    messages.append(("会议直播入口 https://bit.ly/3kLmN0p", True, 0))  # a definite check's
    messages.append(("明天开会", False, 1))
    judge, threshold, figures = trained(messages, checker.reading, benign=["明天见", "好的"])
    assert threshold in GRID
    assert figures["judged_messages"] == 2 * len(HOSTS)
    assert figures["benign_fired"] == 0.0
    assert 0 < figures["precision"] <= 1 and 0 < figures["recall"] <= 1
    assert judge.weights


def _link_author(author: str) -> list[Labelled]:
    """Links only: a lure and an ad for every host, as one author's file."""
    out = []
    for k, host in enumerate(HOSTS):
        source = f"labelled/author_{author}.jsonl:{2 * k + 1}"
        out.append(Labelled(LURES[k % 4].format(host), RULE, "positive", source))
        out.append(Labelled(ADS[k % 4].format(host), RULE, "hard_negative", source))
    return out


def test_a_judge_only_author_trains_the_judge_and_leaves_the_heads_as_they_were(
    checker: LinkChecker, tmp_path: Path
) -> None:
    heads = train(tiny_set(), None, tmp_path / "heads", TINY).meta
    both = train(
        tiny_set() + _link_author("x") + _link_author("y"),
        None,
        tmp_path / "both",
        replace(TINY, judge_only=("x", "y")),
        links=checker.reading,
    ).meta
    assert both["sha256"] == heads["sha256"] and both["stack"] == heads["stack"]
    assert both["calibration"] == heads["calibration"]
    assert both["cross_validation"]["at_suggested_threshold"][RULE]["judged_messages"] == 4 * len(HOSTS)
    assert heads["links"] is None and both["links"]["weights"]
    assert both["training_data"]["author_x:content.malicious_link"] == len(HOSTS)
    assert both["training_data"]["author_x:none"] == len(HOSTS)


def test_a_held_out_author_is_never_judge_only(checker: LinkChecker, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="author_ct is held out"):
        train(
            tiny_set() + _link_author("ct"),
            None,
            tmp_path,
            replace(TINY, judge_only=("ct",)),
            links=checker.reading,
        )


@pytest.fixture(scope="module")
def always(tmp_path_factory: pytest.TempPathFactory) -> ContentDetector:
    """The shipped model and policy, but a link judge that fires on every host."""
    folder = tmp_path_factory.mktemp("always")
    meta = json.loads((MODEL_DIR / "content.json").read_text(encoding="utf-8"))
    meta["links"] = ALWAYS.judge.to_json()
    (folder / "content.bin").symlink_to((MODEL_DIR / "content.bin").resolve())
    (folder / "content.json").write_text(json.dumps(meta), encoding="utf-8")
    policy = replace_model(load_policy(), path=str(folder / "content.bin"))
    shipped = dict(ContentDetector(policy).model.thresholds or {})
    return ContentDetector(replace_model(policy, thresholds={**shipped, RULE: 0.5}))


JUDGED = "会议资料在这 meeting-notes.online/m/3k9 大家看下"


def test_a_judged_link_names_the_model_and_its_score(always: ContentDetector) -> None:
    event = MessageEvent(
        event_id="m-1", ts=TS, group_id="g-x", sender_id="wx_a", msg_type="text", text=JUDGED
    )
    (finding,) = [f for f in always.detect(event, "g", CTX) if f.rule == RULE]  # type: ignore[arg-type]
    assert finding.evidence["terms"] == ["judged:risky_tld:meeting-notes.online"]
    assert finding.evidence["score"] == 1.0
    assert finding.evidence["model"] == {
        "name": "qunguard-content",
        "version": always.judge.model[1],
        "head": RULE,
    }
    # without a threshold for it in the policy, the judge decides nothing and the checks' signals fire
    without = {head: t for head, t in (always.model.thresholds or {}).items() if head != RULE}
    policy = replace_model(load_policy(), path=str(always.model_path), thresholds=without)
    unjudged = ContentDetector(policy)
    assert unjudged.link_model is None and always.link_model is not None
    (finding,) = [f for f in unjudged.detect(event, "g", CTX) if f.rule == RULE]  # type: ignore[arg-type]
    assert finding.evidence["terms"] == ["risky_tld:meeting-notes.online"]


def test_scan_shows_the_link_judges_score_and_features(always: ContentDetector) -> None:
    result = scan_event(always, text_event(JUDGED), "text")
    (hit,) = [h for h in result.hits if h["rule"] == RULE]
    assert hit["score"] == 1.0 and hit["model"]["head"] == RULE
    assert hit["why"] == ["link model: judged:risky_tld:meeting-notes.online (score 1.000)"]
    assert {f["feature"] for f in hit["features"]} <= set(always.links.reading(JUDGED)[1] or ())
    assert any(d.startswith(f"{RULE}: the link model scores 1.000") for d in result.decisions)
    out = io.StringIO()
    render(result, out)
    assert "drivers: none (log odds each feature added)" in out.getvalue()  # an intercept-only judge


def test_a_long_message_is_read_bounded(checker: LinkChecker) -> None:
    hosts = " ".join(f"h-{i}.net" for i in range(100))
    _, found = checker.reading("请登录 gz-bufa.net/k7Qm2 " + "正常工作内容" * 11000 + hosts)
    assert found is not None
    assert sum(f.startswith("kind=") for f in found) == MAX_HOSTS
    assert sum(f.startswith("char=") for f in found) == HEAD + TAIL
