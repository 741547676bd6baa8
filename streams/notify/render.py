"""Messages in Chinese from templates (config/notify.toml [templates]): one per violation and
recipient, and a digest per recipient that lists several.

Only the violation record goes into a message, never the chat text: the evidence the worker
wrote is already masked (SPEC §5), and excerpts are masked once more here in case a producer
other than the worker forgot. Evidence fields not named in [evidence] are left out.

Review links (streams.review.links), when the notifier makes them, fill $review_confirmed,
$review_false_positive, $review_appeal and $review_page; without them those lines are left out.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from streams.content.excerpt import mask
from streams.core.directory import LedgerView, RosterView
from streams.core.policy import SEVERITIES
from streams.notify.clauses import cite
from streams.notify.config import NotifyConfig, Template
from streams.notify.model import Notice, Recipient, digest_id, message_id
from streams.notify.recipients import violation_groups
from streams.review.links import LinkSet
from topics.violation import Violation

MIB = 1024 * 1024
_SIZE_KEYS = ("size", "max_bytes")
NO_LINKS = LinkSet(page="")
MARKDOWN_LINK_TEXT = "点击打开"


def render_notice(
    violation: Violation,
    recipient: Recipient,
    config: NotifyConfig,
    roster: RosterView,
    ledger: LedgerView,
    links: LinkSet | None = None,
) -> Notice:
    role = config.role(recipient.role)
    instructions = instructions_for(violation, role.audience, config)
    fields = {
        "group": group_label(violation, ledger),
        "rule": violation.rule,
        "rule_title": config.rule_titles.get(violation.rule, violation.rule),
        "severity": config.severity_labels.get(violation.severity, violation.severity),
        "subject": subject_label(violation, roster),
        "employee": violation.employee_id or "",
        "recipient": recipient.name or recipient.label,
        "citation": cite(violation.clause, config.clauses, config.documents),
        "evidence": evidence_text(violation, config),
        "instructions": "、".join(instructions),
        "event_time": violation.event_ts.replace("T", " "),
        "violation_id": violation.violation_id,
        **(links or NO_LINKS).fields(),
    }
    template = config.templates[role.audience]
    title, body = fill(template.title, fields), fill_lines(template.body, fields)
    markdown_body = fill_lines(template.body, {**fields, **_markdown_links(fields)})
    return Notice(
        message_id=message_id(violation.violation_id, recipient),
        kind="notice",
        recipient=recipient,
        title=title,
        text=_text(title, body),
        markdown=_markdown(title, markdown_body),
        severity=violation.severity,
        digestible=violation.severity in config.digest.severities,
        violation_id=violation.violation_id,
        rule=violation.rule,
        group_id=violation.group_id,
        subject_id=violation.subject_id,
        employee_id=violation.employee_id,
        clause=violation.clause,
        citation=fields["citation"],
        actions=violation.actions,
        instructions=tuple(instructions),
        event_ts=violation.event_ts,
        detected_at=violation.detected_at,
        line=fill_item(config.templates["digest"].line, fields),
    )


def render_digest(recipient: Recipient, items: list[Mapping[str, Any]], config: NotifyConfig) -> Notice:
    """One message listing `items` (digest entries: message_id, violation_id, rule, severity, line)."""
    template: Template = config.templates["digest"]
    fields = {
        "recipient": recipient.name or recipient.label,
        "count": str(len(items)),
        "items": "\n".join(str(item["line"]) for item in items),
    }
    title, body = fill(template.title, fields), fill_lines(template.body, fields)
    severity = max((str(i["severity"]) for i in items), key=_severity_rank, default="info")
    return Notice(
        message_id=digest_id(recipient, [str(i["message_id"]) for i in items]),
        kind="digest",
        recipient=recipient,
        title=title,
        text=_text(title, body),
        markdown=_markdown(title, body),
        severity=severity,
        items=tuple(dict(i) for i in items),
    )


def digest_entry(notice: Notice) -> dict[str, Any]:
    """What a digest keeps of a notice."""
    return {
        "message_id": notice.message_id,
        "violation_id": notice.violation_id,
        "rule": notice.rule,
        "severity": notice.severity,
        "group_id": notice.group_id,
        "line": notice.line,
        "detected_at": notice.detected_at,
    }


def instructions_for(violation: Violation, audience: str, config: NotifyConfig) -> list[str]:
    base = config.instructions.get(audience, {})
    override = config.rule_instructions.get(audience, {}).get(violation.rule, {})
    texts = [override.get(action) or base.get(action) for action in violation.actions]
    return list(dict.fromkeys(t for t in texts if t))


def group_label(violation: Violation, ledger: LedgerView) -> str:
    labels = []
    for group_id in violation_groups(violation):
        group = ledger.group(group_id)
        labels.append(f"{group.name}({group_id})" if group else f"{group_id}(未登记)")
    return "、".join(labels)


def subject_label(violation: Violation, roster: RosterView) -> str:
    employee = roster.employee(violation.employee_id) if violation.employee_id else None
    if employee is None and violation.subject_id:
        employee = roster.by_account(violation.subject_id)
    account = violation.subject_id
    if employee is not None:
        who = f"{employee.department}-{employee.name}" if employee.department else employee.name
        return f"{who}({account})" if account else who
    if account:
        return f"{account}(不在花名册)"
    return ""


def evidence_text(violation: Violation, config: NotifyConfig) -> str:
    evidence = violation.evidence if isinstance(violation.evidence, dict) else {}
    parts = []
    for key, label in config.evidence_labels.items():
        value = _value(key, evidence.get(key), violation, config)
        if value:
            parts.append(f"{label}:{value}")
    return ";".join(parts)


def _value(key: str, value: Any, violation: Violation, config: NotifyConfig) -> str:
    if value is None or value == "" or isinstance(value, dict | bool):
        return ""
    if key == "excerpt":
        return f"「{mask(str(value), mask_all=violation.rule == 'content.confidential')}」"
    if key == "rule":
        return f"{config.rule_titles.get(str(value), str(value))}({value})"
    if key in _SIZE_KEYS and isinstance(value, int | float):
        return f"{value / MIB:.1f} MiB"
    if isinstance(value, list):
        return "、".join(str(v) for v in value if not isinstance(v, dict | list))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fill(template: str, fields: Mapping[str, str]) -> str:
    return string.Template(template).safe_substitute(fields)


def fill_item(template: str, fields: Mapping[str, str]) -> str:
    """A digest item: its first line always, each further line as in `fill_lines`."""
    first, *rest = template.split("\n")
    return "\n".join([fill(first, fields), *fill_lines("\n".join(rest), fields)])


def fill_lines(template: str, fields: Mapping[str, str]) -> list[str]:
    """Each line of `template` filled in; a line that uses an empty field is left out."""
    out = []
    for line in template.splitlines():
        names = {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(line)}
        if any(name and not fields.get(name) for name in names):
            continue
        out.append(fill(line, fields))
    return out


def _markdown_links(fields: Mapping[str, str]) -> dict[str, str]:
    """The review links as markdown links (WeCom markdown shows a bare URL as text)."""
    names = NO_LINKS.fields()
    return {k: f"[{MARKDOWN_LINK_TEXT}]({fields[k]})" for k in names if fields.get(k)}


def _text(title: str, body: list[str]) -> str:
    return "\n".join([title, *body])


def _markdown(title: str, body: list[str]) -> str:
    return "\n".join([f"**{title}**", *(f"> {line}" if line else "" for line in body)])


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0
