"""content.malicious_link without a scheme or path: risky top-level domains, hosts dressed up as
another domain, executable file names written in the text, written-out dots; and the prohibition
frames that make a warning about such a link or file silent. The link checks' own signals, as they
fire with the model off; with it on, the link judge decides the hosts no definite check fires on
(test_link_judge)."""

from __future__ import annotations

import re

import pytest

from streams.content.addresses import holds_address
from streams.content.detector import ContentDetector, replace_model
from streams.content.links import LinkChecker, LinkPolicy
from streams.core.policy import load_policy

RULE = "content.malicious_link"


@pytest.fixture(scope="module")
def detector() -> ContentDetector:
    return ContentDetector(replace_model(load_policy(), enabled=False))


def link_terms(detector: ContentDetector, text: str) -> tuple[str, ...]:
    hit = next((h for h in detector.scan_text(text) if h.rule == RULE), None)
    return hit.terms if hit else ()


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("报名入口 huodong-2025.top 手慢无", "risky_tld:huodong-2025.top"),
        ("年会抽奖结果见 WWW.CHOUJIANG.XYZ", "risky_tld:www.choujiang.xyz"),
        ("抽奖入口 choujiang.xyz/go", "risky_tld:choujiang.xyz"),
        (
            "请重新登录 oa.example-corp.com.sso-center.net/auth",
            "lookalike_host:oa.example-corp.com.sso-center.net",
        ),
        ("邮箱升级：portal.example-corp.com-renew.info", "lookalike_host:portal.example-corp.com-renew.info"),
        ("社保查询 shebao-chaxun.cn.com", "lookalike_host:shebao-chaxun.cn.com"),
        ("报销单在这 报销明细2025.exe 下载打开就行", "executable:exe"),
        ("新版考勤：kaoqin_v2.APK 装一下", "executable:apk"),
        ("发票.pdf.exe 请查收", "executable:exe"),
        ("入口 huodong点top 复制到浏览器", "risky_tld:huodong.top"),
        ("入口 huodong點top 複製到瀏覽器", "risky_tld:huodong.top"),  # the same, traditional script
        ("入口 huodong[.]top 复制到浏览器", "risky_tld:huodong.top"),
        ("入口 huodong(.)top 复制到浏览器", "risky_tld:huodong.top"),
        ("QQ异地登录，改密码 qq-mima.net", "impersonates:qq:qq-mima.net"),
        ("表格在 docs.g00gle-share.com/d/1", "impersonates:google:docs.g00gle-share.com"),
        ("个税退税入口 tuishui-gov.com", "impersonates:gov:tuishui-gov.com"),
        ("邮箱扩容 mail.0ffice365-cloud.net", "impersonates:office365:mail.0ffice365-cloud.net"),
        ("账号冻结了，到 zhanghu-jiedong.com 处理", "lure_host:zhanghu-jiedong.com"),
        ("核对工资 http://47.96.x.x/salary", "ip_host:47.96.x.x"),
        # a host's name as userinfo: the browser goes to the host after the @
        ("合同扫描件 https://srm.example-corp.com@45.142.17.90/c.pdf", "ip_host:45.142.17.90"),
        ("重新登录 https://oa.example-corp.com@login-check.net/sso", "userinfo_host:login-check.net"),
        ("考勤插件 kaoqin.bat 双击运行", "run:bat"),
        ("附件 报价单.xlsm 打开时点启用宏", "run:xlsm"),
        ("解压后运行 工具包.zip 里的程序", "run:zip"),
        ("请查收《年度预算》.vbs 直接打开", "executable:vbs"),
        ("下载这个 yuzhi .apk", "executable:apk"),
        ("w w w . h b - l q . c o m 领红包", "spread_out:www.hb-lq.com"),
        ("工 资 单 . e x e 下载就能看", "spread_out:executable:exe"),
    ],
)
def test_fires(detector: ContentDetector, text: str, term: str) -> None:
    assert term in link_terms(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "搜一下 cn.bing.com 就有",
        "华北区的地址 ec2.cn-north-1.amazonaws.com.cn 别写错",
        "数据在 www.stats.gov.cn 上",
        "产品页在 www.huadong-gongye.com.cn 上",
        "项目用 Node.js 和 Vue.js 写的",
        "部署脚本 deploy.sh 已经合并",
        "结尾是“.apk”的都是安装包",
        "方案见 plan.pdf 和 budget.xlsx",
        "下午3点pm开会",
        "下午3點pm開會",
        "官网 www.example-corp.com 已更新",
        "本地起服务后看 http://127.0.0.1:8080/health",
        "改一下 main.cc 第三十行",
        "微信网页版 wx.qq.com 登录一下",
        "代码在 github.com/org/repo 上，依赖走 googleapis.com",
        "会议纪要.zip 解压后打开就能看",
        "构建脚本 build.bat 已经提交",
        "内网地址 http://127.0.x.x/admin 只在本机",
        "我 们 明 天 见 www.example-corp.com",
        "I am a b c d ok",
        "有问题发邮件到 zhang.san@example-corp.com",
        "克隆用 https://deploy:token@git.example-corp.com/app.git",
        "克隆用 https://deploy:tok.en@git.example-corp.com/app.git",  # a user's name, a dot in the password
    ],
)
def test_stays_silent(detector: ContentDetector, text: str) -> None:
    assert link_terms(detector, text) == ()


@pytest.mark.parametrize(
    "text",
    [
        "严禁转发来路不明的 工资条.exe 一经发现移出群聊",
        "请勿点击 huodong-2025.top 这类链接",
        "警惕 oa.example-corp.com.sso-center.net 这种仿冒地址",
    ],
)
def test_a_prohibition_frame_makes_a_warning_silent(detector: ContentDetector, text: str) -> None:
    trace: list[str] = []
    assert RULE not in {h.rule for h in detector.scan_text(text, trace)}
    assert any("suppressed" in line and RULE in line for line in trace)


def test_the_same_link_without_the_frame_fires(detector: ContentDetector) -> None:
    assert link_terms(detector, "点击 huodong-2025.top 这类链接")


def test_lists_are_policy_data() -> None:
    bare = LinkChecker(LinkPolicy())
    assert bare.scan_text("入口 huodong-2025.top 工资条.exe oa.qq.com.login.net") is None
    checker = LinkChecker(LinkPolicy(risky_tlds=("net",), executable_extensions_in_text=("exe",)))
    hit = checker.scan_text("入口 www.login.net 工资条.exe")
    assert hit is not None and hit.terms == ("risky_tld:www.login.net", "executable:exe")


def test_brands_and_lure_words_are_policy_data() -> None:
    checker = LinkChecker(LinkPolicy(brands={"acme": ("acme.com",)}, lure_words=("verify",)))
    assert checker.scan_text("登录 sso.acme.com") is None
    hit = checker.scan_text("登录 acme-sso.net 和 my-verify.org")
    assert hit is not None and hit.terms == ("impersonates:acme:acme-sso.net", "lure_host:my-verify.org")


def test_an_allow_listed_host_never_fires() -> None:
    checker = LinkChecker(LinkPolicy(allow_domains=("huodong.top",), risky_tlds=("top",)))
    assert checker.scan_text("入口 m.huodong.top") is None


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("http://47.108.23.196:8080/oa", True),
        ("t.cn/A6xYz1", True),
        ("WWW。EXAMPLE。TOP", True),  # the link view: case folded, 。 read as a dot
        ("hxxp://10.2.x.x/admin", True),
        ("Zw@88990", False),
        ("AbC123456", False),
    ],
)
def test_holds_address_reads_text_as_the_link_checks_do(text: str, address: bool) -> None:
    assert holds_address(text) is address


def test_what_may_hold_a_link_covers_every_character_the_view_reads_so() -> None:
    """The prefilter's classes are computed over the BMP and the first astral plane and take every
    character beyond as a dot and as a letter; beyond, no character reads as a dot with a letter
    after it inside it, or as nothing or a space (which would join a dot to a letter)."""
    import sys
    import unicodedata

    from streams.content.addresses import ADDRESS_VIEW

    for code in range(0x20000, sys.maxunicode + 1):
        ch = chr(code)
        if unicodedata.decomposition(ch) or ch.casefold() != ch:
            view = ADDRESS_VIEW(ch)
            assert view.strip() != "" and re.search(r"\.[a-z0-9*]", view) is None, hex(code)


@pytest.mark.parametrize(
    "text",
    [
        "下午3点开会。记得带电脑。",
        "总价1,280元…明天付",
        "第3版 。 已确认 ( 周五 )",
        "收到 OK。",
        "好的👍 3点见🎉🎉",
    ],
)
def test_a_message_without_a_dot_before_a_letter_is_not_read(text: str) -> None:
    from streams.content.addresses import MAY_HOLD_LINK

    assert MAY_HOLD_LINK.search(text) is None
    checker = LinkChecker(LinkPolicy.from_section(load_policy().section("content")))
    assert checker.scan_text(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "报名入口 huodong-2025[点]top",
        "w w w . c h o u j i a n g . x y z",
        "资料 http://47.96.*.*/files",
        "报名入口 ｈｕｏｄｏｎｇ－２０２５．ｔｏｐ",
        "报名入口 huodong-2025\u200b.\u200btop",
        "报销明细2025．ｅｘｅ",
    ],
)
def test_every_way_of_writing_a_link_passes_what_may_hold_one(text: str) -> None:
    from streams.content.addresses import MAY_HOLD_LINK

    checker = LinkChecker(LinkPolicy.from_section(load_policy().section("content")))
    assert MAY_HOLD_LINK.search(text) is not None
    assert checker.scan_text(text) is not None


def test_a_host_spelling_two_brands_names_the_first_in_every_process() -> None:
    import os
    import subprocess
    import sys

    code = (
        "from streams.content.links import LinkChecker, LinkPolicy\n"
        "from streams.core.policy import load_policy\n"
        "c = LinkChecker(LinkPolicy.from_section(load_policy().section('content')))\n"
        "print(c.scan_text('看 mp-weixin-qq.com').terms)"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in range(6)
    }
    assert seen == {"('impersonates:weixin:mp-weixin-qq.com',)\n"}
