"""Word alignment (streams.content.segment): a dictionary hit counts only where it lines up with the
word segmentation of the normalised text, by mechanism, not by allow-list entries."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config import CONFIG_DIR
from streams.content import segment
from streams.content.detector import ContentDetector
from streams.content.normalize import Normalizer
from streams.content.segment import Segmenter
from streams.core.policy import Policy, load_policy
from topics.events import MessageEvent

TS = datetime(2026, 3, 10, 10, 0, tzinfo=timezone(timedelta(hours=8)))
POLICY = load_policy()
# Terms that the shipped dictionaries may not hold, so that the cases below test the mechanism.
EXTRA_TERMS = ("大麻", "口交", "鸡巴", "台独", "东突", "做爱", "刷单", "下注")
STRADDLING = [
    "前面路口交通管制,大家绕行",  # 路口|交通 ⊃ 口交
    "在宝鸡巴士站等我",  # 宝鸡|巴士 ⊃ 鸡巴
    "这下可有大麻烦了",  # 大|麻烦 ⊃ 大麻
    "今年出口交易额又涨了",  # 出口|交易额 ⊃ 口交
    "东突然刮起大风",  # 东|突然 ⊃ 东突
    "新版本支持平台独立部署",  # 平台|独立 ⊃ 台独
    "周末去做爱心公益",  # 做|爱心 ⊃ 做爱
    "他去刷单位的门禁卡",  # 刷|单位 ⊃ 刷单
    "出差报销请看以下注意事项",  # 以下|注意事项 ⊃ 下注
]


def policy_with(folder: Path, **content: object) -> Policy:
    section = {**POLICY.section("content"), "dictionaries": str(folder), **content}
    return replace(POLICY, sections={**POLICY.sections, "content": section})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped dictionaries with an empty allow-list and the extra terms as direct terms."""
    out = tmp_path_factory.mktemp("alignment") / "dictionaries"
    shutil.copytree(CONFIG_DIR / "dictionaries", out)
    (out / "allow.txt").write_text(
        "# empty: nothing here may be what keeps a text silent\n", encoding="utf-8"
    )
    porn = out / "porn.txt"  # any rule file would do: the rule is not what is tested
    porn.write_text("\n".join(EXTRA_TERMS) + "\n" + porn.read_text(encoding="utf-8"), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def detector(folder: Path) -> ContentDetector:
    return ContentDetector(policy_with(folder))


def rules(detector: ContentDetector, text: str) -> set[str]:
    event = MessageEvent(event_id="m-1", ts=TS, group_id="g", sender_id="wx_a", text=text)
    return {f.rule for f in detector.detect(event, "g", None)}  # type: ignore[arg-type]


def test_the_shipped_allow_list_no_longer_lists_straddling_words() -> None:
    allow = (CONFIG_DIR / "dictionaries" / "allow.txt").read_text(encoding="utf-8").split()
    assert not {"路口交通", "宝鸡巴士", "大麻烦", "出口交", "东突然", "平台独立", "做爱心", "刷单位"} & set(
        allow
    )


@pytest.mark.parametrize("text", STRADDLING)
def test_terms_straddling_two_words_stay_silent_without_allow_entries(
    detector: ContentDetector, text: str
) -> None:
    trace: list[str] = []
    assert detector.scan_words(text, trace) == []
    assert any("not aligned with the words" in line for line in trace), trace


def test_without_the_alignment_check_the_same_texts_fire(folder: Path) -> None:
    unchecked = ContentDetector(policy_with(folder, split_words="off"))
    assert all(unchecked.scan_words(text) for text in STRADDLING)


def test_spellings_mode_checks_only_pinyin_and_homophone_spellings(folder: Path) -> None:
    spellings_only = ContentDetector(policy_with(folder, split_words="spellings"))
    assert spellings_only.scan_words("前面路口交通管制")  # a literal term: not checked
    assert spellings_only.scan_words("市场部在征集年度客户案例") == []  # 年度|客户 ⊃ 度客 (赌客)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("你个傻逼", "content.insult"),  # a term inside a sentence
        ("傻逼吧你", "content.insult"),  # followed by a particle
        ("你们都是废物", "content.insult"),
        ("去死吧你", "content.insult"),
        ("老子要杀了他", "content.violence"),
        ("他在吸大麻", "content.porn"),  # an extra term, at the end
        ("赌博网站又换了", "content.gambling"),
        ("他在搞赌博机", "content.gambling"),  # a compound that begins with the term (赌博机)
    ],
)
def test_real_hits_inside_sentences_fire(detector: ContentDetector, text: str, rule: str) -> None:
    assert rule in rules(detector, text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("傻 逼", "content.insult"),  # characters spread with spaces
        ("傻-逼吧", "content.insult"),  # or with symbols the normaliser removes
        ("你个傻.逼", "content.insult"),
        ("赌 博 网 站", "content.gambling"),
        ("特 殊 服 务 上 门", "content.porn"),  # 特殊服务 would lose to 服务上门 without the spaces
        ("賭 博", "content.gambling"),
        ("今晚一起 du 博", "content.gambling"),  # pinyin with a space
        ("堵博网站又换了", "content.gambling"),  # a homophone spelling
    ],
)
def test_evasions_still_fire(detector: ContentDetector, text: str, rule: str) -> None:
    assert rule in rules(detector, text)


@pytest.mark.parametrize("text", ["你看，人都到齐了", "你看！人来了"])
def test_homophone_spellings_do_not_run_across_punctuation(detector: ContentDetector, text: str) -> None:
    trace: list[str] = []
    assert detector.scan_words(text, trace) == []
    assert any("across punctuation" in line for line in trace), trace


def test_a_homophone_inside_a_longer_word_is_not_a_word() -> None:
    segmenter = Segmenter(["贱人"])
    words = segmenter.words("收件人", Normalizer().normalize("收件人"), [(1, 3)])
    assert words.misaligned(1, 3, spelled=True) == "not aligned with the words 收件人"


def test_compounds_count_at_their_edges_not_in_their_middle() -> None:
    segmenter = Segmenter(["净利", "赌博"])
    middle = Normalizer().normalize("真是干净利落")
    assert segmenter.words("真是干净利落", middle, [(3, 5)]).misaligned(3, 5, spelled=False)
    edge = Normalizer().normalize("一台赌博机")
    assert segmenter.words("一台赌博机", edge, [(2, 4)]).misaligned(2, 4, spelled=False) is None
    assert segmenter.words("一台赌博机", edge, [(2, 4)]).misaligned(2, 4, spelled=True)  # not for spellings


def test_segmenting_a_window_decides_as_the_whole_message(monkeypatch: pytest.MonkeyPatch) -> None:
    segmenter = Segmenter(["口交", "鸡巴", "傻逼"])
    filler = "今天下午三点在三楼会议室开项目周会请大家准时参加"
    texts = [
        filler + "前面路口交通管制" + filler,
        filler + "你个傻逼别迟到" + filler,
        filler + "宝鸡巴士" + filler,
    ]
    normalizer = Normalizer()
    for text in texts:
        norm = normalizer.normalize(text)
        spans = [
            (at, at + 2)
            for at in range(len(norm.text) - 1)
            if norm.text[at : at + 2] in {"口交", "鸡巴", "傻逼"}
        ]
        assert spans and len(norm.text) > 2 * segment.MARGIN + 2
        windowed = [segmenter.words(text, norm, spans).misaligned(s, e, False) is None for s, e in spans]
        with monkeypatch.context() as patch:
            patch.setattr(segment, "MARGIN", len(norm.text))
            whole = [segmenter.words(text, norm, spans).misaligned(s, e, False) is None for s, e in spans]
        assert windowed == whole


def test_a_hit_between_text_edges_or_dropped_characters_is_decided_without_segmenting() -> None:
    segmenter = Segmenter(["傻逼", "口交"])
    normalizer = Normalizer()
    for text in ("傻逼", "傻逼！！", "【傻逼】", "说 傻逼 呢", "😅傻逼😅"):
        norm = normalizer.normalize(text)
        at = norm.text.index("傻逼")
        words = segmenter.words(text, norm, [(at, at + 2)])
        assert words.misaligned(at, at + 2, spelled=False) is None, text
        assert words._windows is None, text  # no window was cut
        assert segmenter.segment(norm.text, offsets=norm.offsets).is_boundary(at + 2), text  # the same call
    # one side inside a run of characters: the words decide, as before
    norm = normalizer.normalize("路口交通！")
    assert segmenter.words("路口交通！", norm, [(1, 3)]).misaligned(1, 3, spelled=False)


def test_text_that_cannot_cross_into_rust_is_segmented_anyway() -> None:
    words = Segmenter(()).segment("ab\ud800c赌博")
    assert words.end == 6 and words.is_boundary(6)


def test_terms_are_words_of_the_segmenter_whatever_the_file_order() -> None:
    forward, backward = Segmenter(["傻逼", "逼样"]), Segmenter(["逼样", "傻逼"])
    text = "你个傻逼样的"
    assert forward.segment(text).bounds == backward.segment(text).bounds
