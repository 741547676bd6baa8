"""The link checks without a scheme or path in a live worker over the broker, shipped policy: a host
under a risky top-level domain and a host dressed up as another domain fire `content.malicious_link`
as the shipped model's link judge reads them (`judged:` and the checks' label, the model and its
score as evidence; beside an ordinary host, only the host it flags alone), an executable file name written in the text and a host name put before an @ fire as definite checks, a
government site stays silent, and the same file name in a prohibition-framed warning fires nothing."""

from __future__ import annotations

from pathlib import Path

from agents.dev.embedded import worker
from streams.core.policy import load_policy
from tests.support import e2e_settings, load_sample, verdicts_in_order

MESSAGES_AND_TERMS = {
    "tld": ("报名入口 huodong-2025.top 手慢无", "judged:risky_tld:huodong-2025.top"),
    "lookalike": (
        "请重新登录 oa.example-corp.com.sso-center.net",
        "judged:lookalike_host:oa.example-corp.com.sso-center.net",
    ),
    "file": ("报销明细在这 报销明细2025.exe 下载打开", "executable:exe"),
    "beside": (
        "报名入口 huodong-2025.top 手慢无，资料见 docs.hengda-group.com",
        "judged:risky_tld:huodong-2025.top",
    ),
    "userinfo": ("登录看下 https://oa.example-corp.com@login-check.net/sso", "userinfo_host:login-check.net"),
}
WARNING = "严禁转发来路不明的 报销明细2025.exe 一经发现移出群聊"
ORDINARY = "高铁票在 www.12306.cn 上订，报销要行程单"
THRESHOLD = load_policy().section("content")["model"]["thresholds"]["content.malicious_link"]


def test_links_without_a_scheme_fire_and_a_framed_warning_does_not(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    settings = e2e_settings(bootstrap, redis_url, f"qg-links-{unique}")
    load_sample(settings)
    proc = worker(tmp_path, settings.env()).start()
    try:
        ids = {kind: f"{unique}-{kind}" for kind in MESSAGES_AND_TERMS}
        warning, ordinary = f"{unique}-warning", f"{unique}-ordinary"
        bodies = [(ids[k], text) for k, (text, _) in MESSAGES_AND_TERMS.items()]
        by_event = verdicts_in_order(
            bootstrap,
            [*bodies, (warning, WARNING), (ordinary, ORDINARY)],
            f"{unique}-marker",
            proc.log_path,
            # five messages from one sender in a row may also earn flood.rate: only content counts here
            counts=lambda rule: rule.startswith("content."),
            client="e2e-links",
        )
        for kind, (_, term) in MESSAGES_AND_TERMS.items():
            found = by_event.get(ids[kind], [])
            assert [v["rule"] for v in found] == ["content.malicious_link"], (kind, found)
            evidence = found[0]["evidence"]
            assert evidence["terms"] == [term]
            if term.startswith("judged:"):
                assert evidence["model"]["name"] == "qunguard-content" and evidence["score"] >= THRESHOLD, (
                    evidence
                )
            else:
                assert "model" not in evidence
        assert warning not in by_event, by_event[warning]
        assert ordinary not in by_event, by_event[ordinary]
    finally:
        proc.stop()
