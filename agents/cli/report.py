"""`qunguard report groups`: the ledger view an administrator needs, per group (streams.membership.report).

Data source: offline, like `qunguard replay` — a JSONL file of events (any kinds, file order,
redeliveries once) plus the roster and ledger files. The membership detectors the live worker runs
rebuild the group state from the events; the report is that state judged as of the last event
(or `--as-of`). Live group state sits in the worker's changelog-backed tables, not in Redis, so
an administrator points the report at the platform's event export (or a `member_present` sync).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from agents.cli.replay import read_events
from agents.cli.table import row
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.engine import RuleEngine
from streams.core.policy import Policy
from streams.core.state import MemoryState
from streams.membership.detector import GROUPS_MAP, MembershipDetector
from streams.membership.member_index import MemberIndexDetector
from streams.membership.report import GroupRow, group_rows
from topics.events import RosterEvent
from topics.reference import Employee, Group

CSV_HEADER = (
    "group_id", "name", "kind", "owner", "members", "outsiders", "departed", "nickname_mismatches",
    "missing_leaders", "last_activity", "status", "issues",
)  # fmt: skip
# (title, display columns) of the terminal table; lists are shown as counts, details follow the table
TABLE_COLUMNS = (
    ("group", 20), ("name", 20), ("kind", 12), ("owner", 16), ("members", 7), ("outsiders", 9),
    ("departed", 8), ("nicknames", 9), ("missing leaders", 15), ("last activity", 16), ("status", 12),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GroupReport:
    rows: list[GroupRow]
    as_of: datetime | None
    events: int


def build_report(
    events_path: str | Path,
    policy: Policy,
    roster: Iterable[Employee],
    ledger: Iterable[Group],
    as_of: datetime | None = None,
    errors: IO[str] | None = None,
) -> GroupReport:
    memory_roster, memory_ledger, state = MemoryRoster(roster), MemoryLedger(ledger), MemoryState()
    detectors = [MembershipDetector(policy, state), MemberIndexDetector(policy, state)]
    engine = RuleEngine(policy, memory_roster, memory_ledger, detectors)
    seen: set[str] = set()
    last = None
    for _, event in read_events(events_path, errors or sys.stderr):
        if event is None or event.event_id in seen:
            continue
        seen.add(event.event_id)
        if isinstance(event, RosterEvent):
            memory_roster.apply(event)
        last = event.ts if last is None or event.ts > last else last
        engine.process(event)
    now = as_of or last
    if now is None:
        return GroupReport([], None, 0)
    groups, activity = state.map(GROUPS_MAP, "group"), detectors[0].activity
    return GroupReport(
        group_rows(groups, activity, memory_roster, memory_ledger, policy, now), now, len(seen)
    )


def write_csv(report: GroupReport, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in report.rows:
        writer.writerow(
            [r.group_id, r.name, r.kind, r.owner, r.members, _join(r.outsiders), _join(r.departed),
             _join(r.nickname_mismatches), _join(r.missing_leaders), r.last_activity or "", r.status,
             _join(r.issues)]
        )  # fmt: skip


def write_table(report: GroupReport, out: IO[str]) -> None:
    widths = [w for _, w in TABLE_COLUMNS]
    out.write(row([title for title, _ in TABLE_COLUMNS], widths) + "\n")
    out.write(row(["-" * w for w in widths], widths) + "\n")
    for r in report.rows:
        cells = [r.group_id, r.name, r.kind, r.owner, str(r.members), _count(r.outsiders), _count(r.departed),
                 _count(r.nickname_mismatches), _count(r.missing_leaders), _minute(r.last_activity), r.status]  # fmt: skip
        out.write(row(cells, widths) + "\n")
    details = [r for r in report.rows if r.status != "ok"]
    if details:
        out.write("\n")
    for r in details:
        parts = [
            f"{title} {', '.join(values)}"
            for title, values in (
                ("outsiders:", r.outsiders),
                ("departed:", r.departed),
                ("nicknames:", r.nickname_mismatches),
                ("missing leaders:", r.missing_leaders),
            )
            if values
        ]
        out.write(f"{r.group_id} [{r.status}]: {'; '.join([*parts, *r.issues])}\n")
    counts = {
        status: sum(r.status == status for r in report.rows) for status in ("ok", "needs action", "dissolve")
    }
    as_of = report.as_of.isoformat() if report.as_of else "-"
    out.write(
        f"\n{len(report.rows)} groups as of {as_of}: "
        + ", ".join(f"{n} {status}" for status, n in counts.items())
        + "\n"
    )


def _join(values: Sequence[str]) -> str:
    return ";".join(values)


def _count(values: Sequence[str]) -> str:
    return str(len(values)) if values else "-"


def _minute(ts: str | None) -> str:
    return ts[:16].replace("T", " ") if ts else "-"
