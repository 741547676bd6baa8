"""`qunguard replay`: the live detectors over a JSONL file, with in-memory reference data (SPEC §6).

The driver is streams.replay; this module reads the files and writes the violations as JSONL.
A line that does not decode or is not admitted (streams.core.admission: the policy's size and
event-time bounds) is reported as FILE:LINE: reason on stderr and skipped; the replay goes on.
Reviewers' feedback lines are applied in file order (docs/review.md), judged by the policy and the
notify configuration ($QUNGUARD_NOTIFY_CONFIG, default config/notify.toml) as the worker judges.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from agents.cli.inputs import InputError, load_inputs, read_events, require_file
from streams.core.admission import AdmissionLimits
from streams.core.policy import Policy
from streams.feedback.judges import Judges, load_judges
from streams.replay import ReplayStats, replay
from topics.codec import encode
from topics.reference import Employee, Group


def main_replay(args: argparse.Namespace) -> int:
    try:
        require_file(args.events)
        inputs = load_inputs(args.policy, args.roster, args.ledger)
    except InputError as exc:
        print(f"qunguard replay: {exc}", file=sys.stderr)
        return 2
    if args.out:
        with open(args.out, "wb") as out:
            stats = write_replay(args.events, inputs.policy, inputs.roster, inputs.ledger, out)
    else:
        stats = write_replay(args.events, inputs.policy, inputs.roster, inputs.ledger, sys.stdout.buffer)
        sys.stdout.flush()
    reviewed = (
        f", {stats.feedback} feedback records ({stats.feedback_applied} applied)" if stats.feedback else ""
    )
    print(
        f"replay: {stats.events} events, {stats.rejected} rejected lines, {stats.duplicates} duplicate events,"
        f" {stats.violations} violations{reviewed}",
        file=sys.stderr,
    )
    return 0


def offline_judges(policy: Policy) -> Judges:
    """The judges the worker would use: the policy's administrators, HR and the security office of
    the notify configuration ($QUNGUARD_NOTIFY_CONFIG)."""
    from agents.connect.settings import Settings

    return load_judges(policy, Settings.from_env().notify_config)


def write_replay(
    events_path: str | Path,
    policy: Policy,
    roster: Iterable[Employee],
    ledger: Iterable[Group],
    out: IO[bytes],
    errors: IO[str] | None = None,
) -> ReplayStats:
    stats = ReplayStats()
    limits = AdmissionLimits.from_policy(policy)
    lines = read_events(events_path, errors or sys.stderr, limits=limits, feedback=True)
    for item in replay(lines, policy, roster, ledger, judges=offline_judges(policy)):
        if isinstance(item, ReplayStats):
            stats = item
        else:
            out.write(encode(item) + b"\n")
    return stats
