"""The administrator's ledger view of every observed group (`qunguard report groups`), computed from
the membership detector's state with the same checks the rules use (streams.membership.checks,
streams.membership.sweep). Pure: the CLI (agents/cli/report.py) decides where the state comes from.

Status: `dissolve` when the group is idle for the zombie threshold or past its ledger expiry;
`needs action` when anything else is wrong (outsiders, departed members, nickname mismatches,
missing leaders, wrong-department members, unregistered, invalid owner, wrong name); else `ok`.
Dissolved groups are not listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.core.directory import LedgerView, RosterView
from streams.core.policy import Policy
from streams.membership.checks import (
    MemberPolicy,
    name_problems,
    owner_valid,
    unregistered_reason,
    wrong_department,
)
from streams.membership.group_state import is_dissolved, quiet_since
from streams.membership.sweep import SweepPolicy, missing_leaders
from topics.reference import Group

STATUSES = ("ok", "needs action", "dissolve")


@dataclass(frozen=True, slots=True)
class GroupRow:
    group_id: str
    name: str
    kind: str  # the ledger kind, or "unregistered"
    owner: str  # the owner account seen in events, else the ledger owner's employee id
    members: int
    outsiders: tuple[str, ...]
    departed: tuple[str, ...]
    nickname_mismatches: tuple[str, ...]
    missing_leaders: tuple[str, ...]
    last_activity: str | None
    status: str
    issues: tuple[str, ...]  # everything else that is wrong, in words


def group_rows(
    groups: Mapping[str, Any],
    activity: Mapping[str, Any],
    roster: RosterView,
    ledger: LedgerView,
    policy: Policy,
    now: datetime,
) -> list[GroupRow]:
    members_policy, sweep_policy = MemberPolicy.from_policy(policy), SweepPolicy.from_policy(policy)
    rows = []
    for group_id, seen in sorted(activity.items()):
        state = groups.get(group_id) or {}
        if "last_event" not in seen or is_dissolved(state):  # only met by a sweep, or gone
            continue
        rows.append(
            _row(group_id, state, seen, roster, ledger.group(group_id), members_policy, sweep_policy, now)
        )
    return rows


def _row(
    group_id: str,
    state: Mapping[str, Any],
    seen: Mapping[str, Any],
    roster: RosterView,
    group: Group | None,
    members_policy: MemberPolicy,
    sweep_policy: SweepPolicy,
    now: datetime,
) -> GroupRow:
    members: Mapping[str, Any] = state.get("members") or {}
    outsiders, departed, nicknames, issues = [], [], [], []
    for account, info in sorted(members.items()):
        employee = roster.by_account(account)
        if employee is None:
            outsiders.append(account)
        elif not employee.active:
            departed.append(account)
        else:
            nick = info.get("nick")
            if nick is not None and not members_policy.nickname.matches(nick, employee):
                nicknames.append(account)
            if wrong_department(employee, group, members_policy):
                issues.append(
                    f"{account} is in {employee.department}, not {group.department if group else ''}"
                )
    missing = [e.accounts[0] for e in missing_leaders(state, group, roster.employees(), sweep_policy)]
    issues.extend(_group_issues(state, roster, group))
    dissolve = list(_dissolve_reasons(seen, group, sweep_policy, now))
    if dissolve:
        status = "dissolve"
    elif outsiders or departed or nicknames or missing or issues:
        status = "needs action"
    else:
        status = "ok"
    return GroupRow(
        group_id=group_id,
        name=state.get("name") or (group.name if group else ""),
        kind=group.kind if group else "unregistered",
        owner=state.get("owner") or (f"{group.owner_id} (ledger)" if group else ""),
        members=len(members),
        outsiders=tuple(outsiders),
        departed=tuple(departed),
        nickname_mismatches=tuple(nicknames),
        missing_leaders=tuple(missing),
        last_activity=seen.get("last_event"),
        status=status,
        issues=tuple(dissolve + issues),
    )


def _group_issues(state: Mapping[str, Any], roster: RosterView, group: Group | None) -> Iterator[str]:
    reason = unregistered_reason(group)
    if reason is not None:
        yield f"unregistered: {reason}"
        return
    assert group is not None
    owner = state.get("owner")
    if owner and not owner_valid(roster.by_account(owner), group):
        yield f"owner {owner} is neither the ledger owner nor an admin"
    name = state.get("name")
    problems = name_problems(name, group) if name is not None else []
    if problems:
        yield f"name {name!r}: {'; '.join(problems)}"


def _dissolve_reasons(
    seen: Mapping[str, Any], group: Group | None, rules: SweepPolicy, now: datetime
) -> Iterator[str]:
    since = quiet_since(seen)
    if now - since >= rules.idle:
        yield f"no message since {since.date().isoformat()}"
    if group is not None and group.expires_at is not None and group.expires_at <= now:
        yield f"expired on {group.expires_at.date().isoformat()}"
