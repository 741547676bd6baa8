"""Who hears about a violation (config/notify.toml [recipients]).

Roles come from the rule (`recipients.rules`, else the `group` roles) plus the violation's actions.
owner and admin are the ledger's owner and admins of the violation's group (for a violation with
no group, of the groups its evidence lists, e.g. flood.broadcast); subject is the person the
violation is about. A group role that cannot be resolved (group not in the ledger, or no group)
sends the message to the fallback role instead, and so does a violation nobody else hears about.
The same person hears once per audience (an owner who is also an admin gets one message).
"""

from __future__ import annotations

from streams.core.directory import LedgerView, RosterView
from streams.notify.config import NotifyConfig, Role
from streams.notify.model import Recipient
from topics.reference import Employee, Group
from topics.violation import Violation


def wanted_roles(violation: Violation, config: NotifyConfig) -> list[str]:
    roles = list(_rule_roles(violation.rule, config))
    for action in violation.actions:
        roles.extend(config.action_roles.get(action, ()))
    return list(dict.fromkeys(roles))


def _rule_roles(rule: str, config: NotifyConfig) -> tuple[str, ...]:
    if rule in config.rule_roles:
        return config.rule_roles[rule]
    for pattern, roles in config.rule_roles.items():
        if pattern.endswith("*") and rule.startswith(pattern[:-1]):
            return roles
    return config.group_roles


def violation_groups(violation: Violation) -> list[str]:
    """The group a violation is about, or the groups its evidence names when it has none."""
    if violation.group_id:
        return [violation.group_id]
    messages = violation.evidence.get("messages") if isinstance(violation.evidence, dict) else None
    found = [m.get("group_id") for m in messages or () if isinstance(m, dict)]
    return list(dict.fromkeys(g for g in found if isinstance(g, str) and g))


def resolve_recipients(
    violation: Violation, config: NotifyConfig, roster: RosterView, ledger: LedgerView
) -> list[Recipient]:
    found: list[Recipient] = []
    fallback = False
    groups = [ledger.group(g) for g in violation_groups(violation)]
    for name in wanted_roles(violation, config):
        role = config.role(name)
        if name in ("owner", "admin"):
            known = [g for g in groups if g is not None]
            if not known or len(known) < len(groups):
                fallback = True
            for group in known:
                found.extend(_managers(role, group, roster))
        elif name == "subject":
            person = _subject(role, violation, roster)
            if person is not None:
                found.append(person)
        else:
            found.append(Recipient(role=name, key=name, label=role.label))
    if fallback or not found:
        role = config.role(config.fallback_role)
        found.append(Recipient(role=role.name, key=role.name, label=role.label))
    return _unique(found, config)


def _managers(role: Role, group: Group, roster: RosterView) -> list[Recipient]:
    ids = [group.owner_id] if role.name == "owner" else [a for a in group.admins if a != group.owner_id]
    return [_person(role, employee_id, roster.employee(employee_id)) for employee_id in ids]


def _subject(role: Role, violation: Violation, roster: RosterView) -> Recipient | None:
    employee = roster.employee(violation.employee_id) if violation.employee_id else None
    if employee is None and violation.subject_id:
        employee = roster.by_account(violation.subject_id)
    if employee is not None:
        return _person(role, employee.employee_id, employee, account=violation.subject_id)
    if violation.subject_id:
        account = violation.subject_id
        return Recipient(role.name, account, f"{account}({role.label})", account=account)
    return None


def _person(role: Role, employee_id: str, employee: Employee | None, account: str | None = None) -> Recipient:
    name = employee.name if employee else None
    if account is None and employee and employee.accounts:
        account = employee.accounts[0]
    return Recipient(
        role=role.name,
        key=employee_id,
        label=f"{name or employee_id}({role.label})",
        employee_id=employee_id,
        account=account,
        name=name,
    )


def _unique(recipients: list[Recipient], config: NotifyConfig) -> list[Recipient]:
    seen: set[tuple[str, str]] = set()
    out = []
    for recipient in recipients:
        slot = (config.role(recipient.role).audience, recipient.key)
        if slot not in seen:
            seen.add(slot)
            out.append(recipient)
    return out
