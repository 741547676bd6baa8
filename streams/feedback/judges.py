"""Who may judge a violation, or report a missed one (SPEC §2): a verdict counts only when its reviewer
may judge that violation.

- the group's ledger owner or admins, for the violations of their group (not `discipline.*`);
- HR, for `discipline.*` records;
- the security office, for rules whose actions include `report_security`;
- a policy administrator (`[review] administrators` in the policy), for any violation.

Nobody judges a violation of their own (the subject's appeal is not a verdict). The same holds for a
missed-message report, with the rule's actions from the policy. Who is HR or the security office
comes from the notify configuration; the caller passes those people as plain sets of employee ids
(`load_judges` reads them: `[roles.*] employees` of the roles `notify_hr` / `report_security`
name), and the ledger entry of the violation's group (None when the group is not in the ledger).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from streams.core.policy import Policy, PolicyError
from topics.feedback import MissedReport, Verdict
from topics.reference import Group
from topics.violation import Violation

DISCIPLINE = "discipline."
# the capacity a reviewer judges in
OWNER, ADMIN, HR, SECURITY, ADMINISTRATOR = "owner", "admin", "hr", "security", "administrator"
# why a verdict is refused (a small set: metric labels)
OWN_VIOLATION = "own_violation"
WRONG_GROUP = "wrong_group"
NOT_A_JUDGE = "not_a_judge"
REFUSALS = (OWN_VIOLATION, WRONG_GROUP, NOT_A_JUDGE)


@dataclass(frozen=True, slots=True)
class Judges:
    """The people who may judge beyond a group's owner and admins (employee ids)."""

    hr: frozenset[str] = frozenset()
    security: frozenset[str] = frozenset()
    administrators: frozenset[str] = frozenset()

    @classmethod
    def of(cls, policy: Policy, hr: Iterable[str] = (), security: Iterable[str] = ()) -> Judges:
        """HR and the security office as the notify configuration names them; administrators from
        the policy's `[review] administrators`."""
        administrators = policy.section("review").get("administrators", ())
        return cls(frozenset(hr), frozenset(security), frozenset(administrators))


def load_judges(policy: Policy, notify_config: str | Path) -> Judges:
    """The judges of `policy` and the notify configuration file (the worker's and the CLI's:
    $QUNGUARD_NOTIFY_CONFIG); a file the notifier would refuse is a PolicyError naming it."""
    from streams.notify.config import NotifyConfigError, load_notify_config

    try:
        config = load_notify_config(notify_config)
    except NotifyConfigError as exc:
        raise PolicyError(f"{notify_config} (who is HR and the security office): {exc}") from None
    hr, security = config.employees_for("notify_hr"), config.employees_for("report_security")
    return Judges.of(policy, hr=hr, security=security)


@dataclass(frozen=True, slots=True)
class Judgement:
    """`role` is the capacity the reviewer judges in (None: refused); `refusal` one of REFUSALS and
    `reason` a sentence for the log."""

    role: str | None
    reason: str
    refusal: str | None = None

    @property
    def allowed(self) -> bool:
        return self.role is not None

    @property
    def company_wide(self) -> bool:
        """A policy administrator's false positive allows the text everywhere, not in the one group."""
        return self.role == ADMINISTRATOR


def judge_verdict(verdict: Verdict, violation: Violation, group: Group | None, judges: Judges) -> Judgement:
    """Whether `verdict`'s reviewer may judge `violation` (the record it names); `group` is the ledger
    entry of the violation's group."""
    if verdict.violation_id != violation.violation_id:
        raise ValueError(
            f"verdict {verdict.feedback_id} names {verdict.violation_id}, not {violation.violation_id}"
        )
    if verdict.group_id != violation.key:
        return _refused(
            WRONG_GROUP, f"the verdict names group {verdict.group_id}, the violation is {violation.key}"
        )
    return may_judge(
        verdict.reviewer_id, violation.rule, violation.actions, violation.employee_id, group, judges
    )


def judge_report(report: MissedReport, policy: Policy, group: Group | None, judges: Judges) -> Judgement:
    """Whether `report`'s reviewer may report a message of its group as missed by its rule."""
    found = policy.rules.get(report.rule)
    actions = found.actions if found is not None else ()
    return may_judge(report.reviewer_id, report.rule, actions, None, group, judges)


def may_judge(
    reviewer_id: str,
    rule: str,
    actions: Iterable[str],
    subject_employee: str | None,
    group: Group | None,
    judges: Judges,
) -> Judgement:
    if subject_employee is not None and reviewer_id == subject_employee:
        return _refused(OWN_VIOLATION, f"{reviewer_id} may not judge a violation of their own")
    if reviewer_id in judges.administrators:
        return Judgement(ADMINISTRATOR, f"{reviewer_id} is a policy administrator")
    if rule.startswith(DISCIPLINE):
        if reviewer_id in judges.hr:
            return Judgement(HR, f"{reviewer_id} is HR")
        return _refused(NOT_A_JUDGE, f"{reviewer_id} is neither HR nor a policy administrator ({rule})")
    if "report_security" in actions and reviewer_id in judges.security:
        return Judgement(SECURITY, f"{reviewer_id} is the security office ({rule} is reported to it)")
    if group is not None and reviewer_id == group.owner_id:
        return Judgement(OWNER, f"{reviewer_id} owns {group.group_id} in the ledger")
    if group is not None and reviewer_id in group.admins:
        return Judgement(ADMIN, f"{reviewer_id} is an admin of {group.group_id} in the ledger")
    where = f"of {group.group_id}" if group is not None else "(the group is not in the ledger)"
    return _refused(
        NOT_A_JUDGE, f"{reviewer_id} is not the owner or an admin {where}, nor may judge {rule} otherwise"
    )


def _refused(refusal: str, reason: str) -> Judgement:
    return Judgement(None, reason, refusal)


__all__ = [
    "ADMIN",
    "ADMINISTRATOR",
    "HR",
    "NOT_A_JUDGE",
    "OWNER",
    "OWN_VIOLATION",
    "REFUSALS",
    "SECURITY",
    "WRONG_GROUP",
    "Judgement",
    "Judges",
    "judge_report",
    "judge_verdict",
    "load_judges",
    "may_judge",
]
