"""The review pages a link opens (docs/notify.md, "Review links"): server-rendered HTML in Chinese,
no script, readable on a phone. The violation is shown from its record as messages show it: the
evidence through streams.notify.render.evidence_text, so the excerpt is masked once more (every
digit and code-like run for content.confidential) and a confidential value never appears in
clear. Every value is HTML-escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from streams.core.directory import LedgerView, RosterView
from streams.notify.clauses import cite
from streams.notify.config import NotifyConfig
from streams.notify.render import evidence_text, group_label, subject_label
from streams.review.links import APPEAL, Grant
from topics.feedback import CONFIRMED, FALSE_POSITIVE
from topics.timeutil import parse_ts
from topics.violation import Violation

VERDICT_LABELS = {CONFIRMED: "确认", FALSE_POSITIVE: "误报"}
NOTE_MAX_CHARS = 500
NOTHING_RECORDED = "本次操作没有记录任何审核结果。"

# Why a link or a request is refused: HTTP status, title, explanation ({…} from the details).
REFUSALS: dict[str, tuple[int, str, str]] = {
    "forged": (403, "链接无效", "这个审核链接不完整或被改动过,无法确认它来自群规通知。请回到通知消息,重新点开其中的链接。"),
    "expired": (403, "链接已过期", "审核链接在违规发现后 {hours} 小时内有效,这个链接已于 {when} 失效。如需更正,请联系平台管理员。"),
    "used": (403, "链接已使用", "这个链接已于 {when} 提交过审核结果「{verdict}」,该结果已记录;每个链接只能提交一次。如需更改,请联系平台管理员。"),
    "missing": (404, "找不到这条违规记录", "这条违规记录已过保存期或尚未同步。请稍后再试,或联系平台管理员。"),
    "bad_request": (400, "无法提交", "请求中没有有效的审核结果。请使用页面上的按钮提交。"),
    "unavailable": (503, "暂时无法记录", "系统暂时无法保存您的审核结果。请稍后再试。"),
}  # fmt: skip

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f2f3f5;color:#1f2329;
 font:16px/1.6 -apple-system,BlinkMacSystemFont,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif}
main{max-width:600px;margin:0 auto;padding:16px}
.card{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:20px;margin:0 0 4px}
.sub{color:#646a73;margin:0 0 16px;font-size:14px}
dl{display:grid;grid-template-columns:6em 1fr;gap:8px 12px;margin:0 0 16px}
dt{color:#646a73}
dd{margin:0;word-break:break-word}
.evidence{background:#fff7e8;border-left:3px solid #ff8800;padding:6px 10px;border-radius:4px}
.hint{background:#eef4ff;border-radius:8px;padding:8px 12px;margin:0 0 16px}
label{display:block;color:#646a73;font-size:14px;margin-bottom:4px}
textarea{width:100%;font:inherit;padding:8px;border:1px solid #d0d3d6;border-radius:8px;margin-bottom:16px}
.actions{display:flex;gap:12px;position:sticky;bottom:0;background:#fff;padding:8px 0}
button{flex:1 1 0;min-height:52px;font:inherit;font-size:18px;font-weight:600;border-radius:10px;
 border:2px solid currentColor;background:#fff;cursor:pointer}
button.confirmed{color:#d83931}
button.false_positive{color:#1664ff}
button.chosen.confirmed{background:#d83931;border-color:#d83931;color:#fff}
button.chosen.false_positive{background:#1664ff;border-color:#1664ff;color:#fff}
.explain{color:#646a73;font-size:14px;margin:12px 0 0}
.refused h1{color:#d83931}
.refused .hint{background:#fdeceb}
.done h1{color:#2ea121}
.foot{color:#8f959e;font-size:13px;margin-top:16px}
@media (max-width:480px){main{padding:8px}.card{padding:14px}dl{grid-template-columns:4.5em 1fr;gap:6px 8px}
 body{font-size:15px}}
"""


@dataclass(frozen=True, slots=True)
class Shown:
    """A violation as the page shows it."""

    rule: str
    rule_title: str
    severity: str
    group: str
    subject: str
    citation: str
    evidence: str
    event_time: str
    violation_id: str

    @classmethod
    def of(cls, violation: Violation, config: NotifyConfig, roster: RosterView, ledger: LedgerView) -> Shown:
        return cls(
            rule=violation.rule,
            rule_title=config.rule_titles.get(violation.rule, violation.rule),
            severity=config.severity_labels.get(violation.severity, violation.severity),
            group=group_label(violation, ledger),
            subject=subject_label(violation, roster),
            citation=cite(violation.clause, config.clauses, config.documents),
            evidence=evidence_text(violation, config),
            event_time=local_time(parse_ts(violation.event_ts).timestamp(), config.review.zone),
            violation_id=violation.violation_id,
        )


def review_page(shown: Shown, grant: Grant, reviewer: str, chosen: str, expires: str) -> str:
    """The violation and its buttons: 确认 / 误报 (`chosen`, from the link, stands out), or 申诉."""
    appeal = grant.scope == APPEAL
    if appeal:
        title = "申诉:这条群规提醒有误?"
        intro = "如果您认为这条提醒有误,可以提交申诉。申诉会被记录,由群主、群管理员或人力资源部复核;提交申诉本身不会撤销提醒。"
        buttons = _button(FALSE_POSITIVE, "申诉", chosen=True)
        explain = ""
        note = ""
    else:
        title = "群规违规审核"
        choice = VERDICT_LABELS.get(chosen)
        intro = (
            f"您在通知中点击了「{choice}」。请核对下方内容后提交。"
            if choice
            else "请核对下方内容,选择审核结果。"
        )
        buttons = "".join(_button(v, VERDICT_LABELS[v], chosen=v == chosen) for v in grant.verdicts)
        explain = "<p class='explain'>确认:违规属实,按通知处理。误报:这条内容并不违规,系统判断有误。</p>"
        note = (
            "<label for='note'>说明(可选)</label>"
            f"<textarea id='note' name='note' rows='2' maxlength='{NOTE_MAX_CHARS}'"
            " placeholder='例如:这是正常的业务讨论'></textarea>"
        )
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p class='sub'>审核人:{escape(reviewer)} · 链接有效期至 {escape(expires)}</p>"
        f"<p class='hint'>{escape(intro)}</p>"
        f"{_facts(shown)}"
        f"<form method='post'>{note}<div class='actions'>{buttons}</div></form>"
        f"{explain}"
        "<p class='foot'>每个链接只能提交一次。</p>"
    )
    return _document(title, "review", body)


def recorded_page(shown: Shown, grant: Grant, verdict: str, feedback_id: str) -> str:
    if grant.scope == APPEAL:
        title, text = "申诉已提交", "您的申诉已记录,将由群主、群管理员或人力资源部复核。"
    else:
        title, text = "审核结果已记录", f"您的审核结果「{VERDICT_LABELS[verdict]}」已提交。"
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p class='hint'>{escape(text)}</p>"
        f"<dl><dt>违规内容</dt><dd>{escape(shown.rule_title)}({escape(shown.rule)})</dd>"
        f"<dt>所在群</dt><dd>{escape(shown.group)}</dd>"
        f"<dt>反馈编号</dt><dd>{escape(feedback_id)}</dd></dl>"
        "<p class='foot'>可以关闭此页面。</p>"
    )
    return _document(title, "done", body)


def refused_page(reason: str, **details: str) -> tuple[int, str]:
    """The status and page of a refusal (REFUSALS); it always says that nothing was recorded."""
    status, title, text = REFUSALS[reason]
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p class='hint'>{escape(text.format(**details))}</p>"
        f"<p>{escape(NOTHING_RECORDED)}</p>"
        f"<p class='foot'>HTTP {status}</p>"
    )
    return status, _document(title, "refused", body)


def local_time(unix: float, zone: ZoneInfo) -> str:
    """A time as the pages show it: 2026-11-26 10:00 (UTC+08:00)."""
    moment = datetime.fromtimestamp(unix, zone)
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def clean_note(text: str) -> str:
    """A reviewer's note as recorded: trimmed, at most NOTE_MAX_CHARS characters."""
    return text.strip()[:NOTE_MAX_CHARS]


def _facts(shown: Shown) -> str:
    rows = [
        ("违规内容", f"{shown.rule_title}({shown.rule})"),
        ("严重程度", shown.severity),
        ("所在群", shown.group),
        ("涉及成员", shown.subject),
        ("违反条款", shown.citation),
        ("证据", shown.evidence),
        ("发生时间", shown.event_time),
        ("违规编号", shown.violation_id),
    ]
    cells = []
    for label, value in rows:
        if value:
            css = " class='evidence'" if label == "证据" else ""
            cells.append(f"<dt>{label}</dt><dd{css}>{escape(value)}</dd>")
    return f"<dl>{''.join(cells)}</dl>"


def _button(verdict: str, label: str, chosen: bool) -> str:
    css = f"{verdict} chosen" if chosen else verdict
    return f"<button type='submit' name='verdict' value='{verdict}' class='{css}'>{escape(label)}</button>"


def _document(title: str, kind: str, body: str) -> str:
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='robots' content='noindex'>"
        f"<title>{escape(title)} · qunguard</title><style>{CSS}</style></head>"
        f"<body><main><section class='card {kind}'>{body}</section></main></body></html>"
    )
