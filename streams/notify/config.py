"""The notifier's configuration (config/notify.toml) as typed data, validated on load: recipients
per rule and action, roles and their sinks, templates, instructions, rule titles and clause titles.
A bad file raises NotifyConfigError naming the field."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config import CONFIG_DIR

DEFAULT_NOTIFY_CONFIG = CONFIG_DIR / "notify.toml"
PERSON_ROLES = ("owner", "admin", "subject")
AUDIENCES = ("manager", "subject", "hr", "security")
SINK_TYPES = ("log", "webhook")
WEBHOOK_FORMATS = ("wecom_text", "wecom_markdown", "generic")


class NotifyConfigError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"field {field!r}: {reason}")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    attempts: int = 5
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    timeout_seconds: float = 10.0
    dedupe_ttl_seconds: int = 30 * 86400
    concurrency: int = 16  # deliveries pending at once per notifier process, one at a time per recipient


@dataclass(frozen=True, slots=True)
class DigestPolicy:
    severities: frozenset[str] = frozenset(("info", "low"))
    interval_seconds: float = 3600.0
    max_items: int = 50
    check_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """Review links in messages ([review]; docs/notify.md, "Review links")."""

    link_hours: float = 72.0  # a link works this long after the violation's detected_at
    verdict_roles: tuple[str, ...] = ("owner", "admin", "hr", "security", "platform")  # 确认 / 误报
    appeal_roles: tuple[str, ...] = ("subject",)  # 申诉
    timezone: str = "Asia/Shanghai"  # of the times the review pages show

    @property
    def link_seconds(self) -> int:
        return int(self.link_hours * 3600)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    label: str
    audience: str
    sinks: tuple[str, ...]
    # the employee ids of a fixed role's people (HR, the security office): who may judge its
    # violations (streams.feedback.judges); not for owner, admin and subject
    employees: tuple[str, ...] = ()

    @property
    def person(self) -> bool:
        """Resolved per violation (owner, admin, subject) rather than a fixed addressee."""
        return self.name in PERSON_ROLES


@dataclass(frozen=True, slots=True)
class SinkSpec:
    name: str
    type: str
    path: str = "-"  # log: "-" for stdout, else a file appended to
    url: str = ""  # webhook
    format: str = "generic"  # webhook


@dataclass(frozen=True, slots=True)
class Template:
    title: str
    body: str
    line: str = ""  # digest: one line per item


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    version: str
    delivery: DeliveryPolicy
    digest: DigestPolicy
    group_roles: tuple[str, ...]
    action_roles: dict[str, tuple[str, ...]]
    rule_roles: dict[str, tuple[str, ...]]
    fallback_role: str
    roles: dict[str, Role]
    sinks: dict[str, SinkSpec]
    severity_labels: dict[str, str]
    templates: dict[str, Template]
    instructions: dict[str, dict[str, str]]
    rule_instructions: dict[str, dict[str, dict[str, str]]]  # audience → rule → action → text
    rule_titles: dict[str, str]
    documents: dict[str, str]
    clauses: dict[str, str]
    evidence_labels: dict[str, str]
    review: ReviewPolicy = ReviewPolicy()

    def role(self, name: str) -> Role:
        return self.roles[name]

    def employees_for(self, action: str) -> frozenset[str]:
        """The employee ids of the roles told about `action` (`notify_hr`: HR, `report_security`:
        the security office), as `[roles.*] employees` lists them."""
        return frozenset(e for name in self.action_roles.get(action, ()) for e in self.roles[name].employees)


def load_notify_config(path: str | Path | None = None) -> NotifyConfig:
    path = Path(path) if path else DEFAULT_NOTIFY_CONFIG
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NotifyConfigError("-", f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise NotifyConfigError("-", f"{path}: {exc}") from None
    return parse_notify_config(doc)


def parse_notify_config(doc: dict[str, Any]) -> NotifyConfig:
    sinks = {name: _sink(name, spec) for name, spec in _table(doc, "sinks").items()}
    roles = {name: _role(name, spec, sinks) for name, spec in _table(doc, "roles").items()}
    recipients = _table(doc, "recipients")
    fallback = _str(recipients, "fallback", "recipients.fallback", "platform")
    group_roles = _roles(recipients.get("group", ["owner", "admin"]), "recipients.group", roles)
    action_roles = {
        action: _roles(names, f"recipients.actions.{action}", roles)
        for action, names in _table(recipients, "actions", "recipients.actions").items()
    }
    rule_roles = {
        rule: _roles(names, f"recipients.rules.{rule}", roles)
        for rule, names in _table(recipients, "rules", "recipients.rules").items()
    }
    _roles([fallback], "recipients.fallback", roles)
    if roles[fallback].person:
        raise NotifyConfigError("recipients.fallback", "must be a fixed role, not owner, admin or subject")
    templates = {name: _template(name, spec) for name, spec in _table(doc, "templates").items()}
    for audience in {r.audience for r in roles.values()} | {"digest"}:
        if audience not in templates:
            raise NotifyConfigError(f"templates.{audience}", "missing")
    instructions: dict[str, dict[str, str]] = {}
    rule_instructions: dict[str, dict[str, dict[str, str]]] = {}
    for audience, spec in _table(doc, "instructions").items():
        overrides = spec.get("rules", {}) if isinstance(spec, dict) else {}
        instructions[audience] = _strings(
            {k: v for k, v in spec.items() if k != "rules"}, f"instructions.{audience}"
        )
        rule_instructions[audience] = {
            rule: _strings(actions, f"instructions.{audience}.rules.{rule}")
            for rule, actions in overrides.items()
        }
    return NotifyConfig(
        version=str(doc.get("version", "")),
        delivery=_delivery(_table(doc, "delivery")),
        digest=_digest(_table(doc, "digest")),
        group_roles=group_roles,
        action_roles=action_roles,
        rule_roles=rule_roles,
        fallback_role=fallback,
        roles=roles,
        sinks=sinks,
        severity_labels=_strings(_table(doc, "severity"), "severity"),
        templates=templates,
        instructions=instructions,
        rule_instructions=rule_instructions,
        rule_titles=_strings(_table(doc, "rules"), "rules"),
        documents=_strings(_table(doc, "documents"), "documents"),
        clauses=_strings(_table(doc, "clauses"), "clauses"),
        evidence_labels=_strings(_table(doc, "evidence"), "evidence"),
        review=_review(_table(doc, "review"), roles),
    )


def _delivery(spec: dict[str, Any]) -> DeliveryPolicy:
    attempts = _number(spec, "attempts", "delivery", 5, int)
    if attempts < 1:
        raise NotifyConfigError("delivery.attempts", "must be at least 1")
    concurrency = _number(spec, "concurrency", "delivery", 16, int)
    if concurrency < 1:
        raise NotifyConfigError("delivery.concurrency", "must be at least 1")
    return DeliveryPolicy(
        attempts=attempts,
        backoff_base_seconds=_number(spec, "backoff_base_seconds", "delivery", 0.5),
        backoff_max_seconds=_number(spec, "backoff_max_seconds", "delivery", 30.0),
        timeout_seconds=_number(spec, "timeout_seconds", "delivery", 10.0),
        dedupe_ttl_seconds=int(_number(spec, "dedupe_ttl_days", "delivery", 30) * 86400),
        concurrency=concurrency,
    )


def _digest(spec: dict[str, Any]) -> DigestPolicy:
    severities = spec.get("severities", ["info", "low"])
    if not isinstance(severities, list) or not all(isinstance(s, str) for s in severities):
        raise NotifyConfigError("digest.severities", "expected a list of severities")
    max_items = _number(spec, "max_items", "digest", 50, int)
    if max_items < 1:
        raise NotifyConfigError("digest.max_items", "must be at least 1")
    return DigestPolicy(
        severities=frozenset(severities),
        interval_seconds=_number(spec, "interval_seconds", "digest", 3600.0),
        max_items=max_items,
        check_seconds=_number(spec, "check_seconds", "digest", 30.0),
    )


def _review(spec: dict[str, Any], roles: dict[str, Role]) -> ReviewPolicy:
    default = ReviewPolicy()
    hours = _number(spec, "link_hours", "review", default.link_hours)
    if hours <= 0:
        raise NotifyConfigError("review.link_hours", "must be more than 0")
    # Left out: the default roles this file defines.
    verdict = _roles(
        spec.get("verdict_roles", [r for r in default.verdict_roles if r in roles]),
        "review.verdict_roles",
        roles,
    )
    appeal = _roles(
        spec.get("appeal_roles", [r for r in default.appeal_roles if r in roles]),
        "review.appeal_roles",
        roles,
    )
    if both := sorted(set(verdict) & set(appeal)):
        raise NotifyConfigError("review.appeal_roles", f"{', '.join(both)} also in review.verdict_roles")
    timezone = _str(spec, "timezone", "review.timezone", default.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise NotifyConfigError("review.timezone", f"unknown time zone {timezone!r}") from None
    return ReviewPolicy(link_hours=hours, verdict_roles=verdict, appeal_roles=appeal, timezone=timezone)


def _sink(name: str, spec: Any) -> SinkSpec:
    where = f"sinks.{name}"
    if not isinstance(spec, dict):
        raise NotifyConfigError(where, "expected a table")
    kind = _str(spec, "type", f"{where}.type")
    if kind not in SINK_TYPES:
        raise NotifyConfigError(f"{where}.type", f"unknown sink type {kind!r}; expected log or webhook")
    if kind == "log":
        return SinkSpec(name, kind, path=_str(spec, "path", f"{where}.path", "-"))
    fmt = _str(spec, "format", f"{where}.format", "generic")
    if fmt not in WEBHOOK_FORMATS:
        raise NotifyConfigError(
            f"{where}.format", f"unknown format {fmt!r}; expected {', '.join(WEBHOOK_FORMATS)}"
        )
    url = _str(spec, "url", f"{where}.url")
    if not url.startswith(("http://", "https://")):
        raise NotifyConfigError(f"{where}.url", "expected an http:// or https:// URL")
    return SinkSpec(name, kind, url=url, format=fmt)


def _role(name: str, spec: Any, sinks: dict[str, SinkSpec]) -> Role:
    where = f"roles.{name}"
    if not isinstance(spec, dict):
        raise NotifyConfigError(where, "expected a table")
    audience = _str(spec, "audience", f"{where}.audience", "manager")
    if audience not in AUDIENCES:
        raise NotifyConfigError(
            f"{where}.audience", f"unknown audience {audience!r}; expected {', '.join(AUDIENCES)}"
        )
    names = spec.get("sinks", [])
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise NotifyConfigError(f"{where}.sinks", "expected a non-empty list of sink names")
    for sink in names:
        if sink not in sinks:
            raise NotifyConfigError(f"{where}.sinks", f"no sink {sink!r} in [sinks]")
    employees = spec.get("employees", [])
    if not isinstance(employees, list) or not all(isinstance(e, str) and e for e in employees):
        raise NotifyConfigError(f"{where}.employees", "expected a list of employee ids")
    if employees and name in PERSON_ROLES:
        raise NotifyConfigError(f"{where}.employees", f"{name} is resolved per violation; list no one")
    label = _str(spec, "label", f"{where}.label", name)
    return Role(name, label, audience, tuple(names), tuple(employees))


def _template(name: str, spec: Any) -> Template:
    where = f"templates.{name}"
    if not isinstance(spec, dict):
        raise NotifyConfigError(where, "expected a table")
    return Template(
        title=_str(spec, "title", f"{where}.title"),
        body=_str(spec, "body", f"{where}.body", "").strip("\n"),
        line=_str(spec, "line", f"{where}.line", ""),
    )


def _roles(names: Any, where: str, roles: dict[str, Role]) -> tuple[str, ...]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise NotifyConfigError(where, "expected a list of role names")
    for name in names:
        if name not in roles:
            raise NotifyConfigError(where, f"no role {name!r} in [roles]")
    return tuple(names)


def _table(doc: dict[str, Any], key: str, where: str | None = None) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise NotifyConfigError(where or key, "expected a table")
    return value


def _strings(spec: Any, where: str) -> dict[str, str]:
    if not isinstance(spec, dict):
        raise NotifyConfigError(where, "expected a table")
    for key, value in spec.items():
        if not isinstance(value, str):
            raise NotifyConfigError(f"{where}.{key}", "expected a string")
    return dict(spec)


def _str(spec: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = spec.get(key, default)
    if value is None:
        raise NotifyConfigError(where, "missing")
    if not isinstance(value, str):
        raise NotifyConfigError(where, "expected a string")
    return value


def _number(spec: dict[str, Any], key: str, where: str, default: float, kind: type = float) -> Any:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise NotifyConfigError(f"{where}.{key}", "expected a non-negative number")
    if kind is int and not isinstance(value, int):
        raise NotifyConfigError(f"{where}.{key}", "expected an integer")
    return kind(value)
