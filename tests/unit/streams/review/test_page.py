"""The review pages (streams.review.page): what they show, escaped and masked, on a phone too."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from streams.core.policy import load_policy
from streams.notify.config import load_notify_config
from streams.replay import replay
from streams.review.links import APPEAL, REVIEW, Grant
from streams.review.page import (
    REFUSALS,
    Shown,
    clean_note,
    local_time,
    recorded_page,
    refused_page,
    review_page,
)
from tests.support import SAMPLE_LEDGER as LEDGER
from tests.support import SAMPLE_ROSTER as ROSTER
from tests.support import sample_violation as violation
from topics.codec import decode_event
from topics.violation import Violation

CONFIG = load_notify_config()
GRANT = Grant("v-1", "E0004", "owner", REVIEW, 2_000_000_000)


def page_of(v: Violation, grant: Grant = GRANT, chosen: str = "false_positive") -> str:
    return review_page(Shown.of(v, CONFIG, ROSTER, LEDGER), grant, "吴婷(群主)", chosen, "2026-11-26 10:00")


def test_the_page_shows_the_violation_and_two_buttons() -> None:
    page = page_of(violation())
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in page
    assert "<html lang='zh-CN'>" in page and "<script" not in page
    for shown in ("赌博信息(content.gambling)", "销售部工作群(g-sales)", "销售部-王磊(wx_wanglei)",
                  "《公司微信群管理制度》三、11", "「今晚买六合彩」", "2026-11-23 10:00 (UTC+08:00)", "v-1",
                  "审核人:吴婷(群主)", "链接有效期至 2026-11-26 10:00", "您在通知中点击了「误报」"):  # fmt: skip
        assert shown in page, shown
    buttons = re.findall(r"<button [^>]*value='(\w+)' class='([\w ]+)'>(\w+)</button>", page)
    assert buttons == [
        ("confirmed", "confirmed", "确认"),
        ("false_positive", "false_positive chosen", "误报"),
    ]
    assert "<form method='post'>" in page and "name='note'" in page
    assert "请核对下方内容,选择审核结果" in page_of(violation(), chosen="")  # no preselection
    assert "@media (max-width:480px)" in page


def test_the_appeal_page_has_one_button_and_no_note() -> None:
    page = page_of(violation(), Grant("v-1", "E0006", "subject", APPEAL, 2_000_000_000), chosen="")
    assert re.findall(r"value='(\w+)'[^>]*>(\w+)</button>", page) == [("false_positive", "申诉")]
    assert "name='note'" not in page and "提交申诉本身不会撤销提醒" in page


def test_every_value_is_escaped() -> None:
    v = violation(evidence={"excerpt": "<script>alert('x')</script>", "terms": ["<b>"]}, violation_id="v-<i>")
    page = page_of(v)
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;" in page and "v-&lt;i&gt;" in page


def test_no_confidential_value_in_clear_from_the_real_detectors() -> None:
    """The real content rules over an ID number, a bank card and a price: the page of every
    violation they raise shows none of them (the evidence is masked as in messages)."""
    raw_id, card = "110105199003071234", "6222021234567890123"
    lines = [
        f'{{"kind": "message", "event_id": "s1", "ts": "2026-11-23T10:00:00+08:00", "group_id": "g-rd", '
        f'"sender_id": "wx_qiancheng", "text": "客户身份证号 {raw_id},卡号 {card} 请核对"}}',
        '{"kind": "message", "event_id": "s2", "ts": "2026-11-23T10:01:00+08:00", "group_id": "g-rd", '
        '"sender_id": "wx_zhaoqiang", "text": "【机密】底价每套 38888 元,请勿外传"}',
    ]
    events = [(n, decode_event(line)) for n, line in enumerate(lines, 1)]
    found = [
        v
        for v in replay(events, load_policy(), ROSTER.employees(), LEDGER.groups())
        if isinstance(v, Violation)
    ]
    assert {v.rule for v in found} >= {"content.confidential"}
    # and a record whose producer forgot to mask: the page masks the excerpt once more
    found.append(violation("content.confidential", evidence={"excerpt": f"身份证 {raw_id} 卡 {card}"}))
    for v in found:
        page = page_of(v)
        assert "证据" in page
        for secret in (raw_id, card, "38888", raw_id[:6] + raw_id[6:14], card[-4:] + "</"):
            assert secret not in page, (v.rule, secret)


@pytest.mark.parametrize("reason", sorted(REFUSALS))
def test_refusals_say_why_and_that_nothing_was_recorded(reason: str) -> None:
    status, page = refused_page(reason, when="2026-11-26 10:00", hours="72", verdict="误报")
    assert status == REFUSALS[reason][0] and status >= 400
    assert REFUSALS[reason][1] in page and "本次操作没有记录任何审核结果" in page
    assert "<meta name='viewport'" in page and "{" not in page.split("<body>")[1]
    assert (status == 403) == (reason in ("forged", "expired", "used"))


def test_the_confirmation_and_helpers() -> None:
    page = recorded_page(Shown.of(violation(), CONFIG, ROSTER, LEDGER), GRANT, "false_positive", "f-1")
    assert "您的审核结果「误报」已提交" in page and "f-1" in page
    assert clean_note("  很长" * 400).startswith("很长") and len(clean_note("x" * 900)) == 500
    assert local_time(0, ZoneInfo("Asia/Shanghai")) == "1970-01-01 08:00 (UTC+08:00)"
