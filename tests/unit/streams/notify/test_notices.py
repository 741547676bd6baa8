"""The notifier's pure logic: clause citations, recipients, rendering, digests, backoff, payloads."""

from __future__ import annotations

import re

import pytest

from streams.core.directory import MemoryLedger
from streams.core.policy import load_policy
from streams.notify.backoff import backoff_delays, http_outcome
from streams.notify.clauses import cite, clause_codes, unmapped_codes
from streams.notify.config import (
    DeliveryPolicy,
    DigestPolicy,
    NotifyConfigError,
    load_notify_config,
    parse_notify_config,
)
from streams.notify.digest import add_item, is_due
from streams.notify.model import Recipient, message_id
from streams.notify.payloads import WECOM_TEXT_LIMIT, truncate_utf8, webhook_body
from streams.notify.recipients import resolve_recipients
from streams.notify.render import digest_entry, render_digest, render_notice
from streams.replay import replay
from tests.support import SAMPLE_LEDGER as LEDGER
from tests.support import SAMPLE_ROSTER as ROSTER
from tests.support import sample_violation as violation
from topics.codec import decode_event
from topics.violation import Violation

CONFIG = load_notify_config()


def recipients(v: Violation) -> list[tuple[str, str]]:
    return [(r.role, r.key) for r in resolve_recipients(v, CONFIG, ROSTER, LEDGER)]


# --- clauses


def test_clause_codes_split_several_and_keep_spaced_codes_whole() -> None:
    assert clause_codes("D1.3 D2.7.2.4 D4.3.11") == ["D1.3", "D2.7.2.4", "D4.3.11"]
    assert clause_codes("D2 (五)2 D4.3.9 D5.7.3-4") == ["D2 (五)2", "D4.3.9", "D5.7.3-4"]
    assert clause_codes("product brief") == ["product brief"]


def test_cite_reads_like_the_regulations() -> None:
    assert cite("D4.3.11", CONFIG.clauses, CONFIG.documents) == "《公司微信群管理制度》三、11"
    text = cite("D1.3 D2.7.2.4 D4.3.11", CONFIG.clauses, CONFIG.documents)
    assert (
        text == "《公司学习工作微信群管理须知》第3条;《公司微信群管理规范》7.2.4;《公司微信群管理制度》三、11"
    )
    assert cite("D4b.4(7)", CONFIG.clauses, CONFIG.documents) == "《发改委QQ、微信工作群管理制度》第四条(七)"
    # An unknown code still names its document.
    assert cite("D5.9.1", CONFIG.clauses, CONFIG.documents) == "《公司微信群管理办法》9.1"


def test_every_clause_the_policy_cites_has_a_readable_form() -> None:
    policy = load_policy()
    missing = {r.rule: unmapped_codes(r.clause, CONFIG.clauses) for r in policy.rules.values()}
    assert {rule: codes for rule, codes in missing.items() if codes} == {}
    assert all(rule in CONFIG.rule_titles for rule in policy.rules), "every rule has a Chinese title"


# --- recipients


def test_content_violation_goes_to_owner_and_admins() -> None:
    assert recipients(violation()) == [("owner", "E0004"), ("admin", "E0005")]


def test_report_security_adds_the_security_office() -> None:
    v = violation("content.confidential", group_id="g-rd", subject_id="wx_qiancheng", employee_id="E0010")
    assert recipients(v) == [("owner", "E0008"), ("admin", "E0009"), ("security", "security")]


def test_discipline_goes_to_hr_only() -> None:
    assert recipients(violation("discipline.warning")) == [("hr", "hr")]


def test_reminders_also_go_to_the_subject() -> None:
    v = violation("flood.rate", subject_id="wx_lixue", employee_id=None)  # employee found by account
    assert recipients(v) == [("owner", "E0004"), ("admin", "E0005"), ("subject", "E0007")]
    outsider = violation("member.nickname", subject_id="wx_nobody", employee_id=None)
    assert ("subject", "wx_nobody") in recipients(outsider)


def test_group_not_in_the_ledger_falls_back_to_the_platform_role() -> None:
    v = violation("group.unregistered", group_id="g-secret", subject_id=None, employee_id=None)
    assert recipients(v) == [("platform", "platform")]


def test_owner_who_is_also_admin_hears_once() -> None:
    ledger = MemoryLedger(
        [g if g.group_id != "g-sales" else _with_admins(g, ("E0004", "E0005")) for g in LEDGER.groups()]
    )
    found = resolve_recipients(violation(), CONFIG, ROSTER, ledger)
    assert [(r.role, r.key) for r in found] == [("owner", "E0004"), ("admin", "E0005")]


def test_broadcast_without_a_group_reaches_the_owners_of_its_groups() -> None:
    v = violation(
        "flood.broadcast", group_id=None, evidence={"messages": [{"group_id": "g-all"}, {"group_id": "g-rd"}]}
    )
    assert recipients(v)[:2] == [("owner", "E0002"), ("owner", "E0008")]


def _with_admins(group, admins):
    from dataclasses import replace

    return replace(group, admins=admins)


# --- rendering


def test_notice_cites_the_clause_and_says_what_to_do() -> None:
    owner = resolve_recipients(violation(), CONFIG, ROSTER, LEDGER)[0]
    notice = render_notice(violation(), owner, CONFIG, ROSTER, LEDGER)
    assert notice.title == "【群规违规】销售部工作群(g-sales):赌博信息"
    assert "《公司微信群管理制度》三、11" in notice.text and "撤回该消息" in notice.text
    assert "销售部-王磊(wx_wanglei)" in notice.text and "严重程度:高" in notice.text
    assert notice.message_id == message_id("v-1", owner) and not notice.digestible
    assert notice.markdown.startswith("**【群规违规】")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("group.zombie", "解散该群"),
        ("member.outsider", "将该成员移出群聊"),
        ("hours.urgent_needs_call", "电话联系"),
        ("content.political", "向保密/安全部门报告"),
    ],
)
def test_instructions_per_action(rule: str, expected: str) -> None:
    owner = Recipient("owner", "E0004", "吴婷(群主)", "E0004", name="吴婷")
    assert expected in render_notice(violation(rule), owner, CONFIG, ROSTER, LEDGER).text


def test_hr_and_subject_get_their_own_wording() -> None:
    hr = resolve_recipients(violation("discipline.demerit"), CONFIG, ROSTER, LEDGER)[0]
    text = render_notice(violation("discipline.demerit"), hr, CONFIG, ROSTER, LEDGER).text
    assert (
        text.startswith("【违规处分】记过一次")
        and "《公司微信群管理制度》四、违规处理" in text
        and "E0006" in text
    )
    v = violation("media.large_file", evidence={"size": 78643200, "max_bytes": 20971520})
    subject = resolve_recipients(v, CONFIG, ROSTER, LEDGER)[-1]
    text = render_notice(v, subject, CONFIG, ROSTER, LEDGER).text
    assert "王磊,您好" in text and "改用链接" in text and "75.0 MiB" in text


def test_lines_with_an_empty_field_are_left_out() -> None:
    v = violation("group.unregistered", group_id="g-secret", subject_id=None, employee_id=None, evidence={})
    platform = resolve_recipients(v, CONFIG, ROSTER, LEDGER)[0]
    text = render_notice(v, platform, CONFIG, ROSTER, LEDGER).text
    assert "涉及成员" not in text and "证据" not in text and "g-secret(未登记)" in text


def test_no_masked_value_in_clear_from_the_real_detectors() -> None:
    """Run the real content rules over messages with an ID number, a bank card and a price; no
    message to anyone carries the raw value, whatever the audience."""
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
    for v in found:
        for recipient in resolve_recipients(v, CONFIG, ROSTER, LEDGER):
            notice = render_notice(v, recipient, CONFIG, ROSTER, LEDGER)
            for text in (notice.text, notice.markdown, notice.line):
                for secret in (raw_id, card, "38888", raw_id[:6] + raw_id[6:14]):
                    assert secret not in text, (v.rule, recipient.role, text)
                ids_removed = re.sub(r"v-[0-9a-f]{24}", "", text)  # violation ids are hex digests
                assert not re.search(r"\d{6,}", ids_removed), text


# --- digests


def test_digest_groups_items_once_and_is_due_by_size_or_age() -> None:
    policy = DigestPolicy(interval_seconds=60, max_items=3)
    owner = Recipient("owner", "E0004", "吴婷(群主)", name="吴婷")
    notices = [
        render_notice(violation(rule, violation_id=f"v-{i}"), owner, CONFIG, ROSTER, LEDGER)
        for i, rule in enumerate(("flood.rate", "media.large_file"))
    ]
    assert all(n.digestible for n in notices)
    pending = add_item(None, owner, digest_entry(notices[0]), now=100.0)
    pending = add_item(pending, owner, digest_entry(notices[0]), now=101.0)  # redelivered: kept once
    pending = add_item(pending, owner, digest_entry(notices[1]), now=102.0)
    assert len(pending["items"]) == 2 and pending["since"] == 100.0
    assert not is_due(pending, policy, now=159.0) and is_due(pending, policy, now=160.0)
    full = add_item(pending, owner, {**digest_entry(notices[0]), "message_id": "n-x"}, now=103.0)
    assert is_due(full, policy, now=103.0)
    digest = render_digest(owner, pending["items"], CONFIG)
    assert digest.kind == "digest" and digest.title == "【群规提醒汇总】吴婷,共 2 条"
    assert "刷屏" in digest.text and "在群内直接发送大文件或视频" in digest.text and "v-0" in digest.text
    assert digest.severity == "low"
    # The same items give the same digest id (dedupe of a re-sent digest), others another.
    assert render_digest(owner, list(reversed(pending["items"])), CONFIG).message_id == digest.message_id
    assert render_digest(owner, pending["items"][:1], CONFIG).message_id != digest.message_id


# --- delivery policy, payloads, records, config


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = DeliveryPolicy(attempts=6, backoff_base_seconds=0.5, backoff_max_seconds=3.0)
    assert backoff_delays(policy) == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delays(DeliveryPolicy(attempts=1)) == []


def test_http_outcomes() -> None:
    assert http_outcome(200).ok and http_outcome(200, 0).ok
    assert http_outcome(500).retryable and http_outcome(429).retryable
    assert not http_outcome(404).retryable and not http_outcome(404).ok
    busy = http_outcome(200, 45009, "api freq out of limit")
    assert not busy.ok and busy.retryable and "45009" in busy.reason
    assert not http_outcome(200, 93000, "invalid webhook url").retryable


def test_webhook_bodies() -> None:
    owner = Recipient("owner", "E0004", "吴婷(群主)", name="吴婷")
    notice = render_notice(violation(), owner, CONFIG, ROSTER, LEDGER)
    assert webhook_body("wecom_text", notice) == {"msgtype": "text", "text": {"content": notice.text}}
    assert webhook_body("wecom_markdown", notice)["markdown"]["content"] == notice.markdown
    generic = webhook_body("generic", notice)
    assert generic["message_id"] == notice.message_id and generic["recipient"]["key"] == "E0004"
    assert generic["citation"].endswith("三、11") and generic["actions"] == ["recall_message"]
    long = truncate_utf8("字" * 2000, WECOM_TEXT_LIMIT)
    assert len(long.encode()) <= WECOM_TEXT_LIMIT and long.endswith("…")


def test_config_errors_name_the_field() -> None:
    doc = {"sinks": {"s": {"type": "webhook", "url": "ftp://x", "format": "generic"}}}
    with pytest.raises(NotifyConfigError) as err:
        parse_notify_config(doc)
    assert err.value.field == "sinks.s.url"
    doc = {"sinks": {"s": {"type": "log"}}, "roles": {"owner": {"sinks": ["nope"]}}}
    with pytest.raises(NotifyConfigError) as err:
        parse_notify_config(doc)
    assert err.value.field == "roles.owner.sinks"
