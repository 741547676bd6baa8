"""`qunguard report groups`: the ledger view an administrator needs, per group (streams.membership.report).

Data source: offline, like `qunguard replay` — a JSONL file of events (any kinds, file order,
redeliveries once) plus the roster and ledger files. The membership detectors the live worker runs
rebuild the group state from the events; the report is that state judged as of the last event
(or `--as-of`). Live group state sits in the worker's changelog-backed tables, not in Redis, so
an administrator points the report at the platform's event export (or a `member_present` sync).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from agents.cli.inputs import InputError, load_inputs, read_events, require_file
from agents.cli.table import row
from streams.core.admission import AdmissionLimits
from streams.core.policy import Policy
from streams.core.state import MemoryState
from streams.membership.detector import GROUPS_MAP, MembershipDetector
from streams.membership.member_index import MemberIndexDetector
from streams.membership.report import GroupRow, group_rows
from streams.replay import OfflineRun
from topics.reference import Employee, Group
from topics.timeutil import parse_ts

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


def main_report(args: argparse.Namespace) -> int:
    try:
        require_file(args.events)
        as_of = parse_ts(args.as_of) if args.as_of else None
        inputs = load_inputs(args.policy, args.roster, args.ledger)
    except (InputError, ValueError) as exc:
        print(f"qunguard report groups: {exc}", file=sys.stderr)
        return 2
    report = build_report(args.events, inputs.policy, inputs.roster, inputs.ledger, as_of)
    write = write_csv if args.csv else write_table
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            write(report, out)
    else:
        write(report, sys.stdout)
    return 0


def build_report(
    events_path: str | Path,
    policy: Policy,
    roster: Iterable[Employee],
    ledger: Iterable[Group],
    as_of: datetime | None = None,
    errors: IO[str] | None = None,
) -> GroupReport:
    state = MemoryState()
    membership = MembershipDetector(policy, state)
    run = OfflineRun(policy, roster, ledger, [membership, MemberIndexDetector(policy, state)])
    lines = read_events(events_path, errors or sys.stderr, limits=AdmissionLimits.from_policy(policy))
    for _, event in lines:
        run.process(event)
    now = as_of or run.stats.last_event_ts
    if now is None:
        return GroupReport([], None, 0)
    groups, activity = state.map(GROUPS_MAP, "group"), membership.activity
    rows = group_rows(groups, activity, run.roster, run.ledger, policy, now)
    return GroupReport(rows, now, run.stats.events)


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
