"""Membership reconciliation against roster and ledger (`member.*`, `group.*`): the one model of
a group, the group- and member-partitioned detectors, the sweep and the administrator's report."""

from streams.membership.detector import GROUPS_MAP, MembershipDetector
from streams.membership.member_index import MemberIndexDetector
from streams.membership.report import GroupRow, group_rows

__all__ = ["GROUPS_MAP", "GroupRow", "MemberIndexDetector", "MembershipDetector", "group_rows"]
