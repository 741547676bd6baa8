"""The time-driven group rules (SPEC §4): group.zombie, group.expired, member.required_missing.

Which groups a sweep judges: every group this process has observed (an event, or an earlier sweep)
plus, live, every ledger group it owns. A ledger group met for the first time by a sweep has
unknown activity, so that sweep only starts observing it (its quiet time counts from then) and
judges it from the next sweep on. Replay sweeps once, at the end of input, so it judges exactly
the groups that appear in the events (SPEC §6); live, a ledger group the stream never mentions is
judged one sweep interval after the worker first swept it.

Each rule fires once per group and condition, remembered in the activity value (streams.membership.group_state):
zombie again only after a newer message, expired again only for a different expires_at,
required_missing again only after the leader had joined and left again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from streams.core.detector import Context, Finding
from streams.core.policy import Policy
from streams.core.state import StateMap
from streams.membership.group_state import (
    ActivityValue,
    GroupValue,
    is_dissolved,
    member_accounts,
    quiet_since,
)
from topics.reference import Employee, Group
from topics.timeutil import format_ts

SWEEP_RULES = ("group.zombie", "group.expired", "member.required_missing")


@dataclass(frozen=True, slots=True)
class SweepPolicy:
    idle: timedelta
    required_ranks: frozenset[str]
    company_kinds: frozenset[str]

    @classmethod
    def from_policy(cls, policy: Policy) -> SweepPolicy:
        def params(rule: str) -> dict[str, Any]:
            return policy.rules[rule].params if rule in policy.rules else {}

        required = params("member.required_missing")
        return cls(
            idle=timedelta(days=float(params("group.zombie").get("idle_days", 30))),
            required_ranks=frozenset(required.get("ranks", ("team_lead", "manager", "executive"))),
            company_kinds=frozenset(required.get("group_kinds", ("company",))),
        )


def sweep_groups(
    now: datetime, ctx: Context, groups: StateMap, activity: StateMap, rules: SweepPolicy
) -> Iterator[Finding]:
    ids = {key for key, _ in activity.items()} | {key for key, _ in groups.items()}
    ids |= {g.group_id for g in ctx.ledger.groups() if ctx.owns(g.group_id)}
    for group_id in sorted(ids):
        before = activity.get(group_id)
        if before is None:
            activity[group_id] = {"first": format_ts(now)}
            continue
        group = groups.get(group_id)
        if is_dissolved(group):
            continue
        after = dict(before)
        ledger = ctx.ledger.group(group_id)
        yield from _zombie(now, group_id, after, rules)
        yield from _expired(now, group_id, after, ledger)
        yield from _required_missing(now, group_id, after, group, ledger, ctx, rules)
        if after != before:
            activity[group_id] = after


def _zombie(now: datetime, group_id: str, activity: ActivityValue, rules: SweepPolicy) -> Iterator[Finding]:
    since = quiet_since(activity)
    if now - since < rules.idle:
        return
    stamp = format_ts(since)
    if activity.get("zombie") == stamp:
        return
    activity["zombie"] = stamp
    last_id = activity.get("last_message_id")
    yield Finding(
        rule="group.zombie",
        event_ts=now,
        source_event_ids=(last_id,) if last_id else (),
        group_id=group_id,
        evidence={
            "last_message": activity.get("last_message"),
            "quiet_since": stamp,
            "idle_days": round((now - since).total_seconds() / 86400, 1),
        },
    )


def _expired(
    now: datetime, group_id: str, activity: ActivityValue, ledger: Group | None
) -> Iterator[Finding]:
    if ledger is None or ledger.expires_at is None or ledger.expires_at > now:
        activity.pop("expired", None)
        return
    stamp = format_ts(ledger.expires_at)
    if activity.get("expired") == stamp:
        return
    activity["expired"] = stamp
    yield Finding(rule="group.expired", event_ts=now, source_event_ids=(), group_id=group_id,
                  evidence={"expires_at": stamp})  # fmt: skip


def missing_leaders(
    group: GroupValue | None, ledger: Group | None, employees: Iterator[Employee], rules: SweepPolicy
) -> list[Employee]:
    """Active leaders none of whose accounts is a member of this company group; [] when the
    group is not a company group or its membership has never been shown (SPEC §6)."""
    if ledger is None or ledger.kind not in rules.company_kinds or not (group or {}).get("known"):
        return []
    members = member_accounts(group)
    missing = [
        e
        for e in employees
        if e.active and e.rank in rules.required_ranks and e.accounts and not members.intersection(e.accounts)
    ]
    return sorted(missing, key=lambda e: e.employee_id)


def _required_missing(
    now: datetime,
    group_id: str,
    activity: ActivityValue,
    group: GroupValue | None,
    ledger: Group | None,
    ctx: Context,
    rules: SweepPolicy,
) -> Iterator[Finding]:
    missing = missing_leaders(group, ledger, ctx.roster.employees(), rules)
    reported = set(activity.get("missing") or ())
    for employee in missing:
        if employee.employee_id in reported:
            continue
        yield Finding(
            rule="member.required_missing",
            event_ts=now,
            source_event_ids=(),
            group_id=group_id,
            subject_id=employee.accounts[0],
            evidence={"employee_id": employee.employee_id, "name": employee.name, "rank": employee.rank},
        )
    if missing:
        activity["missing"] = [e.employee_id for e in missing]
    else:
        activity.pop("missing", None)
