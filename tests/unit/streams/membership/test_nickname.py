"""member.nickname: 部门+姓名 with the separators people type, and nothing looser."""

from __future__ import annotations

import pytest

from streams.core.policy import load_policy
from streams.membership.nickname import DEFAULT_SEPARATORS, NicknameRule
from topics.reference import Employee

ZHANG = Employee("E1", "张三", "销售部", "staff", "active", ("wx_zs",))
RULE = NicknameRule.of(DEFAULT_SEPARATORS)


@pytest.mark.parametrize(
    "nickname",
    [
        "销售部张三",  # no separator
        "销售部-张三",
        "销售部_张三",
        "销售部 张三",
        "销售部·张三",  # middle dot U+00B7
        "销售部・张三",  # katakana / full-width middle dot U+30FB
        "销售部･张三",  # half-width middle dot U+FF65 (NFKC → U+30FB)
        "销售部+张三",
        "销售部—张三",  # em dash
        "销售部——张三",  # the Chinese IME dash: two em dashes
        "销售部―张三",  # horizontal bar
        "销售部–张三",  # en dash
        "销售部－张三",  # full-width hyphen-minus
        "销售部＿张三",  # full-width low line
        "销售部　张三",  # ideographic space
        "销售部＋张三",  # full-width plus
        "销售部﹣张三",  # small hyphen-minus (NFKC → -)
        " 销售部-张三 ",  # invisible padding at the ends
    ],
)
def test_accepted_separators(nickname: str) -> None:
    assert RULE.matches(nickname, ZHANG)


@pytest.mark.parametrize(
    "nickname",
    [
        None,
        "",
        "张三",  # name only
        "销售部",  # department only
        "张三-销售部",  # reversed
        "张三销售部",
        "销售-张三",  # department abbreviated
        "财务部-张三",  # another department
        "销售部-张四",  # another name
        "销售部-张三丰",  # longer name
        "销售部/张三",
        "销售部\\张三",
        "销售部|张三",
        "销售部.张三",
        "销售部。张三",
        "销售部,张三",
        "销售部，张三",
        "销售部、张三",
        "销售部:张三",
        "销售部：张三",
        "销售部~张三",
        "销售部*张三",
        "销售部•张三",  # bullet is not a middle dot
        "销售部一张三",  # 一 (the ideograph "one") is not a dash
        "销售部--张三",  # doubled separators
        "销售部__张三",
        "销售部  张三",
        "销售部 - 张三",  # combined separators
        "销售部-·张三",
        "销售部(张三)",
        "销售部【张三】",
        "销售部-张三🌸",  # decorated
        "🌸销售部-张三",
        "销售部-张三1",
        "销售部-张三(经理)",
        "Ryan",
        "销售部-张 三",
        "销售部\t张三",  # a tab is not what people type
        "销售部\n张三",
        "销售部\u200b张三",  # zero-width space
    ],
)
def test_rejected(nickname: str | None) -> None:
    assert not RULE.matches(nickname, ZHANG)


def test_name_containing_a_separator() -> None:
    uyghur = Employee("E2", "买买提·艾力", "研发部", "staff", "active", ("wx_m",))
    assert RULE.matches("研发部-买买提·艾力", uyghur)
    assert RULE.matches("研发部买买提·艾力", uyghur)
    assert RULE.matches("研发部·买买提·艾力", uyghur)
    assert not RULE.matches("研发部-买买提", uyghur)


def test_latin_names_fold_case_and_width() -> None:
    lee = Employee("E3", "Lee", "IT部", "staff", "active", ("wx_lee",))
    assert RULE.matches("IT部-Lee", lee)
    assert RULE.matches("it部 lee", lee)
    assert RULE.matches("ＩＴ部－Ｌｅｅ", lee)
    assert not RULE.matches("IT部-Leee", lee)


def test_expected_form() -> None:
    assert RULE.expected(ZHANG) == "销售部-张三"


def test_policy_separators_are_data() -> None:
    policy = load_policy()
    rule = NicknameRule.from_params(policy.rule("member.nickname").params)
    assert rule.matches("销售部－张三", ZHANG)
    only_hyphen = NicknameRule.of(["-"])
    assert only_hyphen.matches("销售部-张三", ZHANG)
    assert only_hyphen.matches("销售部－张三", ZHANG)  # full-width entries fold too
    assert not only_hyphen.matches("销售部张三", ZHANG)
    assert not only_hyphen.matches("销售部 张三", ZHANG)
