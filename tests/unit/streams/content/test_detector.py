"""The content detector on single messages: positives, hard negatives, masking, bad input."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from streams.content.detector import ContentDetector
from streams.content.dictionary import DictionaryError, load_lexicon
from streams.content.identifiers import luhn_valid, valid_resident_id
from streams.content.normalize import Normalizer
from streams.core.detector import Context
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.policy import load_policy
from topics.events import Attachment, MembershipEvent, MessageEvent

TS = datetime(2026, 3, 10, 10, 0, tzinfo=timezone(timedelta(hours=8)))
POLICY = load_policy()
CTX = Context(policy=POLICY, roster=MemoryRoster(()), ledger=MemoryLedger(()))


@pytest.fixture(scope="module")
def detector() -> ContentDetector:
    return ContentDetector(POLICY)


def message(text: str = "", attachment: Attachment | None = None, msg_type: str = "text") -> MessageEvent:
    return MessageEvent(
        event_id="m-1",
        ts=TS,
        group_id="g-x",
        sender_id="wx_a",
        msg_type=msg_type,
        text=text,
        attachment=attachment,
    )


def rules(detector: ContentDetector, text: str = "", **kw: object) -> set[str]:
    return {f.rule for f in detector.detect(message(text, **kw), "g", CTX)}  # type: ignore[arg-type]


def with_check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def with_luhn(prefix: str) -> str:
    return next(prefix + str(d) for d in range(10) if luhn_valid(prefix + str(d)))


ID_NUMBER = with_check_digit("11010519880214321")
CARD = with_luhn("622202100112233445")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("周末一起去澳门赌场玩两把", "content.gambling"),
        ("赌@博网站又开了", "content.gambling"),
        ("六 合 彩 今晚开奖", "content.gambling"),
        ("法 轮 大 法好", "content.political"),
        ("臺獨才是出路", "content.political"),
        ("谁有ＡＶ女优的资源", "content.porn"),
        ("裸*聊*视*频 加我", "content.porn"),
        ("再这样我就砍砍砍砍死他", "content.violence"),
        ("恐-怖-袭-击的视频", "content.violence"),
        ("你就是个傻 逼", "content.insult"),
        ("腦殘才这么写", "content.insult"),
        ("你真是sb", "content.insult"),
        ("财务部的账都是假账", "content.defamation"),
        ("大家联合起来,明天集体罢工", "content.inflammatory"),
        ("听说公司下个月要裁员", "content.rumor"),
        ("兼职刷单,日结工资", "content.ad"),
        ("代购面膜,加我微信", "content.ad"),
        ("这是绝密文件", "content.confidential"),
        ("本材料 秘 密 ★ 一年", "content.confidential"),
        ("内部资料,请勿外传:下季度价格调整", "content.confidential"),
        ("月薪 35000,别告诉别人", "content.confidential"),
        ("服务器密码是 Abc12345", "content.confidential"),
    ],
)
def test_positives(detector: ContentDetector, text: str, rule: str) -> None:
    assert rule in rules(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "前面路口交通管制,大家绕行",
        "这下可有大麻烦了",
        "在宝鸡巴士站等我",
        "换个方法轮流值班",
        "新版本支持平台独立部署",
        "周末去做爱心公益",
        "电脑要装杀毒软件",
        "我跟你打赌明天下雨",
        "晚饭吃菠菜炒蛋",
        "这个USB口坏了",
        "妈妈的生日是明天",
        "【群规】严禁发布色情、赌博、病毒链接和无关广告,违者移出",
        "公司重申:严禁参与任何形式的赌博,包括赌球和六合彩,一经发现严肃处理",
        "禁止组织罢工或煽动闹事",
        "色情低俗内容一经发现会直接上报",
        "不要在群里发工资表,请走OA",
        "请注意保密,涉密材料线下交接",
        "推广方案明天发给市场部",
        "大家一起把流程优化一下,审批确实有点慢",
        "刷单位门禁卡进不去的去行政部",
        "请联系张伟 13912345678 对接合同",
        "周五下午团建,记得报名。",
        "",
    ],
)
def test_hard_negatives(detector: ContentDetector, text: str) -> None:
    assert rules(detector, text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "资料链接 http://１２０.７８.１４.２０１/files/plan",
        "资料 http://120。78。14。201/x",
        "新入口 HTTPS://BIT.LY/3xYz",
        "看这里 t.cn / A6Xk3mZp",
        "https://XN--80AK6AA92E.COM/login",
        "下载 https://dl.example.net/tools/setup.Scr",
        "装一下 https://d.example.net/app/crm.apk?v=2",
    ],
)
def test_malicious_links(detector: ContentDetector, text: str) -> None:
    assert "content.malicious_link" in rules(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "报销流程 https://oa.example-corp.com/flow/expense.pdf",
        "统计数据 https://www.stats.gov.cn/sj/",
        "版本号 2.10.3.1 已发布",
        "内网 https://wiki.example-corp.com/setup.exe",
        "参考 https://developer.mozilla.org/en-US/docs/Web/JavaScript",
    ],
)
def test_ordinary_links(detector: ContentDetector, text: str) -> None:
    assert "content.malicious_link" not in rules(detector, text)


@pytest.mark.parametrize("name", ["打卡助手.apk", "invoice.PDF.exe", "run.Bat", "x.scr "])
def test_executable_attachment(detector: ContentDetector, name: str) -> None:
    attachment = Attachment(name=name, size=1024, url="https://files.example-corp.com/a")
    assert "content.malicious_link" in rules(detector, "新版本", attachment=attachment)


def test_attachment_name_is_scanned_by_dictionary(detector: ContentDetector) -> None:
    attachment = Attachment(name="赌博攻略.pdf", size=1024)
    assert "content.gambling" in rules(detector, "看看", attachment=attachment)


def test_id_and_card_numbers() -> None:
    assert valid_resident_id(ID_NUMBER)
    assert not valid_resident_id(ID_NUMBER[:17] + ("0" if ID_NUMBER[17] != "0" else "1"))
    assert luhn_valid(CARD) and not luhn_valid(CARD[:-1] + str((int(CARD[-1]) + 1) % 10))


@pytest.mark.parametrize(
    "text",
    [
        f"订机票用,身份证号 {ID_NUMBER}",
        f"身份证 {ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}",
        f"报销打到这张卡 {CARD}",
        "卡号 " + CARD.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ],
)
def test_personal_numbers_fire_and_are_masked(detector: ContentDetector, text: str) -> None:
    findings = [f for f in detector.detect(message(text), "g", CTX) if f.rule == "content.confidential"]
    assert len(findings) == 1
    evidence = findings[0].evidence
    flat = "".join(c for c in evidence["excerpt"] if c.isdigit())
    assert ID_NUMBER[:14] not in flat and CARD[:12] not in flat
    assert "*" in evidence["excerpt"]
    assert all(ID_NUMBER not in t and CARD not in t for t in evidence["terms"])


@pytest.mark.parametrize(
    "text",
    [
        "订单号 " + with_luhn("622202100112233445"),  # a label makes it an ordinary identifier
        "运单 " + ID_NUMBER,
        "批次号 " + ID_NUMBER[:17] + ("0" if ID_NUMBER[17] != "0" else "1"),  # wrong check digit
        "订单 2026031012345678901",
        "发票号码 44031234567890123456",
    ],
)
def test_ordinary_long_numbers_do_not_fire(detector: ContentDetector, text: str) -> None:
    assert "content.confidential" not in rules(detector, text)


def test_secret_is_masked(detector: ContentDetector) -> None:
    (finding,) = [f for f in detector.detect(message("root 密码 Abc12345xyz"), "g", CTX)]
    assert "Abc12345xyz" not in finding.evidence["excerpt"]


def test_finding_shape(detector: ContentDetector) -> None:
    # 赌场 alone: 澳门赌场 + 赌场 is an ambiguous pairing (tourist talk), which the model may veto
    # in a message it reads as ordinary work chat (streams.content.combine.unconfirmed). The model
    # scores the whole message under lexicon_veto_every_below, but not the sentence 赌场 is in: the
    # ordinary lines around it do not dilute it into a veto.
    text = "前面都是正常的工作安排,没有什么问题。" * 5 + "周末去赌场玩两把" + "。后面也是正常内容" * 5
    (finding,) = list(detector.detect(message(text), "g", CTX))
    assert finding.rule == "content.gambling"
    assert finding.subject_id == "wx_a" and finding.group_id == "g-x"
    assert finding.source_event_ids == ("m-1",)
    assert set(finding.evidence["terms"]) <= {"赌场", "澳门赌场"} and "赌场" in finding.evidence["terms"]
    assert "赌场" in finding.evidence["excerpt"]
    assert len(finding.evidence["excerpt"]) <= POLICY.section("content")["excerpt_chars"] + 2


def test_one_finding_per_rule(detector: ContentDetector) -> None:
    findings = list(detector.detect(message("赌博赌场赌球 六合彩", Attachment(name="赌博.txt")), "g", CTX))
    assert [f.rule for f in findings] == ["content.gambling"]
    assert set(findings[0].evidence["terms"]) >= {"赌博", "赌场"}


def test_only_messages(detector: ContentDetector) -> None:
    event = MembershipEvent(event_id="e-1", ts=TS, group_id="g-x", action="member_joined", member_id="赌博")
    assert list(detector.detect(event, "g", CTX)) == []
    assert rules(detector, "赌博", msg_type="system") == set()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "赌" * 65_536,
        "\x00\x01\x02赌博\x1b\x7f",
        "lone \ud800 赌博 \udfff",
        "😀" * 10_000,
        "1" * 60_000,
        ("http://1.2.3.4/" * 4000)[:65_000],
        ("《杀人》《东方快车杀人案》" * 6000)[:65_000],  # titles everywhere: no title-by-match blow-up
    ],
)
@pytest.mark.timeout(20)  # a hang or a quadratic blow-up, not a speed figure (that is the bench's)
def test_bad_input_bounded_and_safe(detector: ContentDetector, text: str) -> None:
    findings = list(detector.detect(message(text), "g", CTX))
    for finding in findings:
        assert "\ud800" not in finding.evidence["excerpt"] and "\x00" not in finding.evidence["excerpt"]


def test_dictionary_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "gambling.txt").write_text("赌博\n@group a\n麻将\n@near a b within 5\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"gambling\.txt:4: group 'b'"):
        load_lexicon(tmp_path, ["content.gambling"], Normalizer())
    (tmp_path / "gambling.txt").write_text("赌博\n★★\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"gambling\.txt:2: term"):
        load_lexicon(tmp_path, ["content.gambling"], Normalizer())
    (tmp_path / "gambling.txt").write_text("@group lonely\n麻将\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"gambling\.txt:1: group 'lonely'"):
        load_lexicon(tmp_path, ["content.gambling"], Normalizer())
    (tmp_path / "gambling.txt").unlink()
    (tmp_path / "cooking.txt").write_text("菠菜\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"cooking\.txt: file name names no rule"):
        load_lexicon(tmp_path, ["content.gambling"], Normalizer())


def test_shipped_dictionaries_cover_every_content_rule() -> None:
    lexicon = load_lexicon(
        POLICY.path(POLICY.section("content")["dictionaries"]),
        [r for r in POLICY.rules if r.startswith("content.")],
        Normalizer(),
    )
    assert set(lexicon.rules) == {r for r in POLICY.rules if r.startswith("content.")} - {
        "content.malicious_link"
    }
    assert lexicon.allow and lexicon.frames and lexicon.frames_after


def test_a_luhn_invalid_card_number_is_not_a_structural_hit() -> None:
    # The structural check alone: the learned model may still score "卡 + a long number" as a
    # leaked card (it sees a placeholder for the number, not its check digit).
    assert rules(_lexicon_only(), "测试卡 4111111111111112") == set()


def _lexicon_only() -> ContentDetector:
    content = {**POLICY.section("content"), "model": {"enabled": False}}
    return ContentDetector(dataclasses.replace(POLICY, sections={**POLICY.sections, "content": content}))


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("【辟谣】网传公司要裁员的消息不实,请以官方通知为准", "辟谣"),
        ("通报:某小区发生一起持刀伤人事件,嫌疑人已落网", "通报"),
        ("历史课讲到二七大罢工,学生问了很多问题", "历史课"),
    ],
)
def test_a_mention_frame_makes_every_dictionary_hit_a_mention(text: str, marker: str) -> None:
    lexicon = _lexicon_only()
    trace: list[str] = []
    assert lexicon.scan_text(text, trace) == []
    assert any(f"a mention: the message is framed by {marker!r}" in line for line in trace)


def test_without_the_mention_frame_the_same_words_fire() -> None:
    lexicon = _lexicon_only()
    assert "content.violence" in rules(lexicon, "某小区发生一起持刀伤人事件")
    assert "content.inflammatory" in rules(lexicon, "明天大家一起罢工")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("周末读完了《东方快车杀人案》，结局想不到", "content.violence"),
        ("话剧《混蛋也有春天》下周首演", "content.insult"),
    ],
)
def test_a_term_inside_a_works_title_is_a_mention(text: str, rule: str) -> None:
    lexicon = _lexicon_only()
    trace: list[str] = []
    assert rule not in {hit.rule for hit in lexicon.scan_text(text, trace)}
    assert any("inside a work's title" in line for line in trace)
    outside = text.replace("《", "").replace("》", "")  # the same words, not a title
    assert rule in rules(lexicon, outside)


def test_a_title_that_is_the_term_alone_still_fires() -> None:
    lexicon = _lexicon_only()
    assert "content.insult" in rules(lexicon, "你就是个《混蛋》")
    assert "content.insult" in rules(lexicon, "你就是个《 混蛋 》")


def test_a_term_in_two_groups_of_one_near_line_does_not_pair_with_itself() -> None:
    lexicon = _lexicon_only()
    assert "content.rumor" not in rules(lexicon, "哇真的假的！")  # hearsay and doubt, but one word
    assert "content.rumor" in rules(lexicon, "听说公司要搬走了，真的假的")  # two words
