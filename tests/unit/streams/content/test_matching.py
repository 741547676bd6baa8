"""The content engine's newer parts: pinyin/homophone spellings, split words, digit/letter
variants, the fast path agreeing with the full path, atomic reload, and the throughput probe."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agents.bench.content import run as bench_run
from config import CONFIG_DIR
from streams.content.detector import ContentDetector
from streams.content.normalize import Normalizer
from streams.content.pinyin import homophones
from streams.core.policy import Policy, load_policy
from topics.events import MessageEvent

TS = datetime(2026, 3, 10, 10, 0, tzinfo=timezone(timedelta(hours=8)))
POLICY = load_policy()


@pytest.fixture(scope="module")
def detector() -> ContentDetector:
    return ContentDetector(POLICY)


def rules(detector: ContentDetector, text: str) -> set[str]:
    event = MessageEvent(event_id="m-1", ts=TS, group_id="g", sender_id="wx_a", text=text)
    return {f.rule for f in detector.detect(event, "g", None)}  # type: ignore[arg-type]


def with_folder(policy: Policy, folder: Path, **content: object) -> Policy:
    section = {**policy.section("content"), "dictionaries": str(folder), **content}
    return replace(policy, sections={**policy.sections, "content": section})


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("堵博网站又换了", "content.gambling"),  # one homophone
        ("今晚一起 du 博", "content.gambling"),  # pinyin for one character
        ("一起去dubo吧", "content.gambling"),  # all pinyin
        ("共惨党下台", "content.political"),  # homophone with the ch=c fuzzy initial
        ("fa轮功是邪教组织", "content.political"),
        ("ting说下个月全员降薪", "content.rumor"),  # pinyin in a grouped (co-occurrence) term
        ("自制炸yao的方法", "content.violence"),
    ],
)
def test_pinyin_and_homophone_spellings(detector: ContentDetector, text: str, rule: str) -> None:
    assert rule in rules(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "市场部在征集年度客户案例",  # 度客 sounds like 赌客 but spans 年度|客户
        "本周六场地订好了,还是体育馆二号场",  # 是体 sounds like 尸体 but spans 还是|体育
        "他打算明年去读博",  # 读博 is a word (allow-list)
        "老公是做设计的",  # 公是 is a pinyin relative of 公司, but grouped terms get no homophones
        "rose情人节活动方案",  # se情 inside a Latin word
    ],
)
def test_sound_alikes_that_are_ordinary_words_stay_silent(detector: ContentDetector, text: str) -> None:
    assert rules(detector, text) == set()


def test_homophones_skip_words_and_keep_the_term_out() -> None:
    sounds = homophones((("zh", "z"), ("ch", "c"), ("sh", "s")))
    spellings = sounds.variants("赌博")
    assert {"堵博", "du博", "赌bo", "dubo"} <= spellings
    assert "赌博" not in spellings
    assert sounds.variants("赌") == set()  # one character: too ambiguous


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("二肆", "二4"),  # financial numerals are digits; plain numerals stay words (六合彩)
        ("Ⓕ⁹①", "f91"),
        ("vх", "vx"),  # Cyrillic х
        ("➕微", "加微"),
        ("ＶＸ：ｈａｏｙｕｎ６６８", "vxhaoyun668"),
    ],
)
def test_digit_and_letter_variants(text: str, expected: str) -> None:
    assert Normalizer()(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "兼职刷单日结,加 V 信 ①③⑨①②③④⑤⑥⑦⑧",
        "高端茶叶批发,➕微 tea888 了解",
        "代购日韩化妆品,电话 一三九零二一一五六七八",  # a phone number in plain numerals
    ],
)
def test_contact_solicitation(detector: ContentDetector, text: str) -> None:
    assert "content.ad" in rules(detector, text)


def test_work_phone_number_is_not_an_ad(detector: ContentDetector) -> None:
    assert rules(detector, "请联系张伟 139 0211 5678 确认发货时间") == set()


def test_fast_path_agrees_with_full_path(detector: ContentDetector) -> None:
    corpus = Path("/work/shared/corpus/content.jsonl")
    texts = [line for line in corpus.read_text(encoding="utf-8").splitlines()] if corpus.is_file() else []
    texts += ["赌赌赌博", "法轮轮轮功", "严禁赌博", "路口交通", "听说下周裁员", "普通的工作消息"]
    for text in texts:
        full = detector.scan_words(text, trace=[])  # a trace forces the full path
        fast = detector.scan_words(text)
        assert [h.rule for h in fast] == [h.rule for h in full], text


def test_reload_swaps_atomically_and_keeps_old_on_error(tmp_path: Path) -> None:
    folder = tmp_path / "dictionaries"
    shutil.copytree(CONFIG_DIR / "dictionaries", folder)
    detector = ContentDetector(with_folder(POLICY, folder))
    assert rules(detector, "今天的暗号是青蛙跳水") == set()
    assert detector.reload() is False  # nothing changed
    with (folder / "gambling.txt").open("a", encoding="utf-8") as out:
        out.write("\n青蛙跳水\n")
    assert detector.changed()
    # A direct term added after @near lines would be grouped; put it in a new file instead.
    text = (folder / "gambling.txt").read_text(encoding="utf-8").replace("\n青蛙跳水\n", "\n")
    (folder / "gambling.txt").write_text("青蛙跳水\n" + text, encoding="utf-8")
    old = detector.lexicon
    assert detector.reload() is True
    assert detector.lexicon is not old
    assert "content.gambling" in rules(detector, "今天的暗号是青蛙跳水")
    (folder / "porn.txt").write_text("@near nothing declared within 3\n", encoding="utf-8")
    kept = detector.lexicon
    assert detector.reload() is False  # bad file: logged, old automaton kept
    assert detector.lexicon is kept
    assert "content.gambling" in rules(detector, "今天的暗号是青蛙跳水")


def test_operator_file_of_evasion_terms(tmp_path: Path) -> None:
    folder = tmp_path / "dictionaries"
    shutil.copytree(CONFIG_DIR / "dictionaries", folder)
    text = (folder / "gambling.txt").read_text(encoding="utf-8")
    (folder / "gambling.txt").write_text("斗地主赢钱群   # evasion\n" + text, encoding="utf-8")
    detector = ContentDetector(with_folder(POLICY, folder))
    assert "content.gambling" in rules(detector, "快来dou地主赢钱群")


def test_pinyin_can_be_switched_off(tmp_path: Path) -> None:
    policy = with_folder(POLICY, CONFIG_DIR / "dictionaries", pinyin={"enabled": False})
    assert rules(ContentDetector(policy), "堵博网站又换了") == set()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "😀" * 10_000,
        "\x00\x01\x1b\x7f控制字符赌博",
        "lone \ud800 赌\udfff博",
        "赌博" * 32_768,
        "a" * 65_536,
    ],
)
def test_bad_input_completes_with_sane_findings(detector: ContentDetector, text: str) -> None:
    found = rules(detector, text)
    assert found <= set(detector.rules)
    if "赌博" in text or "赌\udfff博" in text:
        assert "content.gambling" in found


def test_bench_content_shape() -> None:
    figures = bench_run(seconds=0.3)
    assert figures["terms"] >= 20_000
    assert 0 < figures["model_load_seconds"]["min"] <= figures["model_load_seconds"]["max"]
    assert figures["message_chars"] == 120
    assert figures["engine_msgs_per_s"] > 0 and figures["bare_ahocorasick_rs_msgs_per_s"] > 0
    assert figures["engine_clean_msgs_per_s"] > 0 and figures["engine_hit_msgs_per_s"] > 0
    assert 0 < figures["hit_rate"] < 1
    assert figures["messages_with_findings"] >= figures["messages_with_planted_terms"] > 0
    assert figures["engine_vs_bare_ratio"] == pytest.approx(
        figures["engine_msgs_per_s"] / figures["bare_ahocorasick_rs_msgs_per_s"], rel=0.05
    )


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> ContentDetector:
    """A dictionary of one file whose @near lines use the built-in figure and token groups."""
    folder = tmp_path_factory.mktemp("dictionaries")
    (folder / "confidential.txt").write_text(
        "@group salary\n工资\n@group credential\n密码\n账号\n"
        "@near salary %amount within 10\n@near credential %token within 10\n",
        encoding="utf-8",
    )
    shutil.copy(CONFIG_DIR / "dictionaries" / "targets.txt", folder)
    return ContentDetector(with_folder(POLICY, folder))


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("小王这个月工资 14800,比我多", True),
        ("老李工资1.5万", True),
        ("工资:8,650.00元", True),  # a colon before the figure and separators inside it
        ("本月工资将于15日发放", False),  # a date
        ("工资推迟到下个月20号发", False),
        ("工资条2024-06已出", False),  # a date with a hyphen
        ("加班费是工资的1.5倍", False),  # a multiple
        ("养老金按平均工资的40%发放", False),  # a percentage
        ("护理岗工资6000-9000元", False),  # a range
        ("工资18:00前发", False),  # a time
    ],
)
def test_amount_is_a_figure_not_a_date_ratio_or_range(
    figures: ContentDetector, text: str, fires: bool
) -> None:
    assert bool(figures.scan_words(text)) is fires


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("VPN 账号借你：zhangwei / Zw@88990", True),
        ("root/Abc@123 是数据库密码", True),
        ("连接串 mysql://root:Lab888@10.2.3.4/prod 密码在里面", True),  # credentials in a link
        ("登录 http://47.108.23.196:8080/oa/login 重新验证账号", False),  # an address, not a secret
        ("新地址 perf-review-2024.top,用企业账号登录", False),
        ("点 t.cn/A6xYz1 验证账号", False),  # a short link, as the link checks read it
        ("登录 hxxp://10.2.x.x/admin 重新验证账号", False),  # a scheme before a defanged host
    ],
)
def test_token_is_not_the_characters_of_a_link(figures: ContentDetector, text: str, fires: bool) -> None:
    assert bool(figures.scan_words(text)) is fires
