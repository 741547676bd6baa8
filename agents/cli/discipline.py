"""`qunguard discipline show EMPLOYEE_ID` and `qunguard discipline list`: the escalation ladder's
records (docs/ladder.md).

Live (default): each employee's ladder state as the worker last wrote it to Redis
(agents.stores.ladder, at $REDIS_URL under $QUNGUARD_REDIS_PREFIX), judged as of now.
Offline (`--events F [--roster R] [--ledger L]`): the same state rebuilt by `qunguard replay`'s
path over an events file, judged as of its last event (like `qunguard report groups`).
`--as-of` overrides the time either way. Both print a terminal table, or JSON with `--json`.
An employee in neither the roster nor the ladder's records is "no such employee", exit 1: a typo
must not read as a clean record.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from agents.cli.table import row

SHOW_COLUMNS = (("time", 16), ("step", 27), ("violation rule", 22), ("group", 18), ("account", 16),
                ("violation id", 27), ("events", 20))  # fmt: skip
# steps withdrawn because a violation was judged a false positive (docs/ladder.md#retraction)
WITHDRAWN_COLUMNS = (("retracted at", 16), ("step", 27), ("violation rule", 22), ("violation id", 27),
                     ("why", 14), ("judged false positive", 27), ("reviewer", 10))  # fmt: skip
LIST_COLUMNS = (("employee", 10), ("name", 8), ("warnings", 8), ("demerits", 8), ("reviews", 7),
                ("flags", 34), ("last step", 16))  # fmt: skip


class CommandError(Exception):
    """A message for stderr and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Source:
    """Employees' ladder states, their names, the ladder policy and the time to judge them as of."""

    states: Callable[[], dict[str, dict[str, Any]]]
    state: Callable[[str], dict[str, Any] | None]
    names: dict[str, str]  # every roster employee, with their name
    rules: Any  # streams.ladder.steps.LadderPolicy
    now: datetime


def add_discipline_parser(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "discipline", help="the escalation ladder: an employee's record, employees near a threshold"
    ).add_subparsers(dest="action", required=True)
    p = group.add_parser(
        "show", help="an employee's warnings, demerits and reviews, each with the violation that caused it"
    )
    p.add_argument("employee_id", metavar="EMPLOYEE_ID")
    _common(p)
    p.set_defaults(func=cmd_show)
    p = group.add_parser(
        "list",
        help="employees at or near a threshold: a dismissal review in the window (review), one demerit"
        " from a review (near review), one warning from a demerit (near demerit)",
    )
    p.add_argument("--all", action="store_true", help="every employee with a ladder violation in the window")
    _common(p)
    p.set_defaults(func=cmd_list)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", metavar="EVENTS.jsonl", help="offline: rebuild the ladder from this file")
    p.add_argument("--roster", metavar="ROSTER.csv", help="offline: roster file (names too)")
    p.add_argument("--ledger", metavar="LEDGER.csv", help="offline: ledger file")
    p.add_argument(
        "--policy", metavar="FILE", help="policy TOML (default: $QUNGUARD_POLICY or config/policy.toml)"
    )
    p.add_argument("--as-of", metavar="TIME", help="judge the window as of this RFC 3339 time (default: now,"
                   " or the last event's time offline)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="JSON instead of a terminal table")


def cmd_show(args: argparse.Namespace) -> int:
    from streams.ladder.record import employee_record

    def run(src: Source, out: IO[str]) -> None:
        employee = args.employee_id
        state = src.state(employee)
        if state is None and employee not in src.names:
            raise CommandError(
                f"no such employee: {employee} is in neither the roster nor the ladder's records", 1
            )
        _show(employee_record(employee, state, src.now, src.rules), src, args.json, out)

    return _run(args, run)


def cmd_list(args: argparse.Namespace) -> int:
    from streams.ladder.record import employee_record

    def run(src: Source, out: IO[str]) -> None:
        records = [employee_record(e, value, src.now, src.rules) for e, value in sorted(src.states().items())]
        shown = [r for r in records if r.steps and (args.all or r.flags)]
        _list(shown, src, args.json, out)

    return _run(args, run)


def _run(args: argparse.Namespace, body: Callable[[Source, IO[str]], None]) -> int:
    prog = f"qunguard discipline {args.action}"
    try:
        body(_source(args), sys.stdout)
    except CommandError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.code
    return 0


def _source(args: argparse.Namespace) -> Source:
    from streams.core.policy import PolicyError, load_policy
    from streams.ladder.steps import LadderPolicy
    from topics.timeutil import parse_ts

    try:
        as_of = parse_ts(args.as_of) if args.as_of else None
        policy = load_policy(args.policy or (None if args.events else _settings().policy_path))
        rules = LadderPolicy.from_policy(policy)
    except (PolicyError, ValueError) as exc:
        raise CommandError(str(exc), 2) from None
    if args.events:
        return _offline(args, policy, rules, as_of)
    if args.roster or args.ledger:
        raise CommandError("--roster and --ledger go with --events (offline)", 2)
    return _live(rules, as_of)


def _settings():
    from agents.connect.security import checked_settings

    return checked_settings()


def _offline(args: argparse.Namespace, policy: Any, rules: Any, as_of: datetime | None) -> Source:
    from agents.cli.inputs import InputError, load_reference, read_events, require_file
    from agents.cli.replay import offline_judges
    from streams.core.admission import AdmissionLimits
    from streams.core.state import MemoryState
    from streams.ladder.steps import LADDER_MAP
    from streams.replay import ReplayStats, replay

    try:
        require_file(args.events)
        roster, ledger = load_reference(args.roster, args.ledger)
    except InputError as exc:
        raise CommandError(str(exc), 2) from None
    state = MemoryState()
    stats = ReplayStats()
    lines = read_events(args.events, sys.stderr, limits=AdmissionLimits.from_policy(policy), feedback=True)
    for item in replay(lines, policy, roster, ledger, ladder_state=state, judges=offline_judges(policy)):
        if isinstance(item, ReplayStats):
            stats = item
    states = dict(state.map(LADDER_MAP, "employee"))
    now = as_of or stats.last_event_ts or datetime.now(UTC)
    return Source(lambda: states, states.get, {e.employee_id: e.name for e in roster}, rules, now)


def _live(rules: Any, as_of: datetime | None) -> Source:
    import redis.exceptions

    from agents.connect.security import redacted_url
    from agents.stores.ladder import LadderReader
    from agents.stores.reference import ReferenceStore

    settings = _settings()
    where = redacted_url(settings.redis_url)
    reader = LadderReader.from_settings(settings)
    try:
        _, employees = ReferenceStore.from_settings(settings).roster()
        reader.client.ping()
    except redis.exceptions.RedisError as exc:
        raise CommandError(f"Redis unavailable at {where} ({exc})", 1) from None

    def guarded(call: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            try:
                return call(*args)
            except redis.exceptions.RedisError as exc:
                raise CommandError(f"Redis unavailable at {where} ({exc})", 1) from None

        return run

    names = {e: record.name for e, record in employees.items()}
    return Source(guarded(reader.states), guarded(reader.state), names, rules, as_of or datetime.now(UTC))


def _show(record: Any, src: Source, as_json: bool, out: IO[str]) -> None:
    import orjson

    if as_json:
        doc = {
            **record.to_dict(),
            "name": src.names.get(record.employee_id),
            "window_days": src.rules.window_days,
        }
        out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    name = src.names.get(record.employee_id)
    out.write(f"{record.employee_id}{' ' + name if name else ''}: as of {record.as_of},"
              f" window {src.rules.window_days:g} days\n")  # fmt: skip
    out.write(f"  warnings pending {record.warnings} of {src.rules.warnings_per_demerit} (then a demerit);"
              f" demerits {record.demerits} (a dismissal review every {src.rules.demerits_per_review});"
              f" reviews {record.reviews}; flags: {', '.join(record.flags) or '-'}\n")  # fmt: skip
    if not record.steps:
        out.write("  no discipline steps in the window\n")
    else:
        widths = [w for _, w in SHOW_COLUMNS]
        out.write("\n" + row([t for t, _ in SHOW_COLUMNS], widths) + "\n")
        out.write(row(["-" * w for w in widths], widths) + "\n")
        for s in record.steps:
            cells = [_minute(s.event_ts), s.step, s.rule, s.group_id or "-", s.subject_id or "-", s.violation_id,
                     " ".join(s.event_ids)]  # fmt: skip
            out.write(row(cells, widths) + "\n")
    if record.withdrawn:
        widths = [w for _, w in WITHDRAWN_COLUMNS]
        out.write("\n  withdrawn: their violation, or one they stood on, was judged a false positive\n")
        out.write(row([t for t, _ in WITHDRAWN_COLUMNS], widths) + "\n")
        out.write(row(["-" * w for w in widths], widths) + "\n")
        for w in record.withdrawn:
            cells = [_minute(w.at), w.step, w.rule, w.violation_id, w.reason, w.retracted_violation_id,
                     w.reviewer_id]  # fmt: skip
            out.write(row(cells, widths) + "\n")


def _list(records: list[Any], src: Source, as_json: bool, out: IO[str]) -> None:
    import orjson

    if as_json:
        docs = [{"employee_id": r.employee_id, "name": src.names.get(r.employee_id), "warnings": r.warnings,
                 "demerits": r.demerits, "reviews": r.reviews, "flags": list(r.flags),
                 "last_step": r.steps[-1].event_ts if r.steps else None} for r in records]  # fmt: skip
        out.write(orjson.dumps(docs, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    widths = [w for _, w in LIST_COLUMNS]
    buffer = io.StringIO()
    buffer.write(row([t for t, _ in LIST_COLUMNS], widths) + "\n")
    buffer.write(row(["-" * w for w in widths], widths) + "\n")
    for r in records:
        cells = [r.employee_id, src.names.get(r.employee_id, ""), f"{r.warnings}/{src.rules.warnings_per_demerit}",
                 str(r.demerits), str(r.reviews), ", ".join(r.flags) or "-", _minute(r.steps[-1].event_ts)]  # fmt: skip
        buffer.write(row(cells, widths) + "\n")
    buffer.write(f"\n{len(records)} employees as of {src.now.isoformat()}\n")
    out.write(buffer.getvalue())


def _minute(ts: str) -> str:
    return ts[:16].replace("T", " ")
