"""The checks of SPEC §4 `member.*` and `group.*` that one membership event (or any group event)
triggers, against the roster and the ledger. Pure functions: state lives in streams.membership.detector."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from streams.core.detector import Finding
from streams.core.policy import Policy
from streams.membership.nickname import NicknameRule
from topics.events import MembershipEvent
from topics.reference import Employee, Group
from topics.timeutil import format_ts

MEMBER_RULES = (
    "member.outsider",
    "member.invited_outsider",
    "member.departed",
    "member.unauthorized_leave",
    "member.nickname",
    "member.wrong_department",
)
GROUP_RULES = ("group.unregistered", "group.owner_invalid", "group.name")

# Actions on which a member is checked like a new member (SPEC §2: member_present "is checked
# like a join but attributes no invitation"; the creator of a group is its first member).
CHECKED_AS_MEMBER = frozenset({"member_joined", "member_present", "group_created"})


@dataclass(frozen=True, slots=True)
class MemberPolicy:
    nickname: NicknameRule
    leave_kinds: frozenset[str]
    department_kinds: frozenset[str]
    department_exempt_ranks: frozenset[str]

    @classmethod
    def from_policy(cls, policy: Policy) -> MemberPolicy:
        def params(rule: str) -> dict:
            return policy.rules[rule].params if rule in policy.rules else {}

        leave = params("member.unauthorized_leave")
        department = params("member.wrong_department")
        return cls(
            nickname=NicknameRule.from_params(params("member.nickname")),
            leave_kinds=frozenset(leave.get("group_kinds", ("company", "department", "project"))),
            department_kinds=frozenset(department.get("group_kinds", ("department",))),
            department_exempt_ranks=frozenset(department.get("exempt_ranks", ())),
        )


@dataclass(frozen=True, slots=True)
class Lookup:
    """The reference data one event is checked against."""

    employee: Employee | None  # the roster record of the member the event names
    inviter: Employee | None  # the roster record of actor_id
    group: Group | None  # the ledger row


def member_findings(
    event: MembershipEvent, account: str, ref: Lookup, rules: MemberPolicy
) -> Iterator[Finding]:
    action, employee, group = event.action, ref.employee, ref.group
    if action in CHECKED_AS_MEMBER:
        if employee is None:
            yield _finding(event, "member.outsider", account, nickname=event.nickname)
            invited = action == "member_joined" and event.actor_id and event.actor_id != account
            if invited and ref.inviter is not None:
                yield _finding(
                    event, "member.invited_outsider", event.actor_id, invited=account, nickname=event.nickname
                )
            return
        if not employee.active:
            left_at = format_ts(employee.left_at) if employee.left_at else None
            yield _finding(
                event, "member.departed", account, employee_id=employee.employee_id, left_at=left_at
            )
            return
        if event.nickname is not None:
            yield from _nickname(event, account, employee, rules)
        if wrong_department(employee, group, rules):
            assert group is not None
            yield _finding(
                event,
                "member.wrong_department",
                account,
                department=employee.department,
                group_department=group.department,
            )
    elif action == "nickname_changed" and employee is not None and employee.active:
        yield from _nickname(event, account, employee, rules)
    elif (
        action == "member_left" and employee is not None and employee.active and _leave_watched(group, rules)
    ):
        assert group is not None
        yield _finding(event, "member.unauthorized_leave", account, group_kind=group.kind)


def unregistered_reason(group: Group | None) -> str | None:
    """Why the group is not an approved ledger group, or None when it is."""
    if group is None:
        return "absent from the ledger"
    if not group.approved:
        return "not approved in the ledger"
    return None


def owner_finding(
    event: MembershipEvent, owner: str, employee: Employee | None, group: Group | None
) -> Finding | None:
    """group.owner_invalid for the owner a group_created/owner_changed event sets."""
    if group is None or owner_valid(employee, group):
        return None
    return Finding(
        rule="group.owner_invalid",
        event_ts=event.ts,
        source_event_ids=(event.event_id,),
        group_id=event.group_id,
        evidence={
            "owner": owner,
            "owner_employee_id": employee.employee_id if employee else None,
            "ledger_owner_id": group.owner_id,
            "ledger_admins": list(group.admins),
        },
    )


def name_finding(event: MembershipEvent, group: Group | None) -> Finding | None:
    """group.name for the name a group_created/group_renamed event sets."""
    name = event.group_name
    if group is None or name is None:
        return None
    reasons = name_problems(name, group)
    if not reasons:
        return None
    return Finding(
        rule="group.name",
        event_ts=event.ts,
        source_event_ids=(event.event_id,),
        group_id=event.group_id,
        evidence={"name": name, "ledger_name": group.name, "reasons": reasons},
    )


def owner_valid(employee: Employee | None, group: Group) -> bool:
    """The owner is the ledger owner or a ledger admin (any of their accounts)."""
    return employee is not None and employee.employee_id in (group.owner_id, *group.admins)


def name_problems(name: str, group: Group) -> list[str]:
    reasons = []
    if _comparable(name) != _comparable(group.name):
        reasons.append("differs from the ledger name")
    if group.classified and has_cjk(name):
        reasons.append("a classified group must be named by a code, without CJK characters")
    return reasons


def has_cjk(text: str) -> bool:
    return any(_is_cjk(ch) for ch in text)


_CJK_RANGES = (
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation (、。【】〇 …)
    (0x3040, 0x31FF),  # kana, bopomofo, Hangul compatibility jamo, CJK strokes
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x3134F),  # extensions B–G
)


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def _comparable(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split())


def _nickname(
    event: MembershipEvent, account: str, employee: Employee, rules: MemberPolicy
) -> Iterable[Finding]:
    if rules.nickname.matches(event.nickname, employee):
        return ()
    expected = rules.nickname.expected(employee)
    return (_finding(event, "member.nickname", account, nickname=event.nickname, expected=expected),)


def _leave_watched(group: Group | None, rules: MemberPolicy) -> bool:
    return group is not None and group.kind in rules.leave_kinds


def wrong_department(employee: Employee, group: Group | None, rules: MemberPolicy) -> bool:
    if group is None or group.kind not in rules.department_kinds or not group.department:
        return False
    if employee.rank in rules.department_exempt_ranks:
        return False
    return employee.department != group.department


def _finding(event: MembershipEvent, rule: str, subject: str | None, **evidence: object) -> Finding:
    return Finding(
        rule=rule,
        event_ts=event.ts,
        source_event_ids=(event.event_id,),
        group_id=event.group_id,
        subject_id=subject,
        evidence={k: v for k, v in evidence.items() if v is not None},
    )
