"""`qunguard allow list|remove`: the reviewers' allow entries in Redis (agents.stores.allow;
docs/review.md). A false-positive verdict on a content violation leaves one; the content detector of
every worker reads them within seconds, and within seconds of `remove` the text fires again."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import IO, Any

from agents.cli.table import row

COLUMNS = (("entry", 22), ("scope", 14), ("rule", 20), ("allows", 30), ("reviewer", 10), ("at", 16),
           ("violation", 27), ("note", 20))  # fmt: skip


def add_allow_parser(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "allow",
        help="reviewers' allow entries: what false-positive verdicts allow, per group or company-wide",
    ).add_subparsers(dest="action", required=True)
    p = group.add_parser("list", help="every entry: scope, rule, the terms or text it allows, who, when, why")
    p.add_argument("--group", metavar="GROUP_ID", help="only the entries that apply in this group")
    p.add_argument("--json", action="store_true", help="JSON instead of a terminal table")
    p.set_defaults(func=cmd_allow_list)
    p = group.add_parser("remove", help="remove an entry: what it allowed fires again (within seconds)")
    p.add_argument("entry_id", metavar="ENTRY_ID")
    p.set_defaults(func=cmd_allow_remove)


def cmd_allow_list(args: argparse.Namespace) -> int:
    def run(store: Any, out: IO[str]) -> int:
        entries = list(store.for_group(args.group) if args.group else store.entries())
        render(entries, args.json, out)
        return 0

    return with_store("allow list", run)


def cmd_allow_remove(args: argparse.Namespace) -> int:
    def run(store: Any, out: IO[str]) -> int:
        if not store.remove(args.entry_id):
            print(f"qunguard allow remove: no allow entry {args.entry_id}", file=sys.stderr)
            return 1
        out.write(f"removed {args.entry_id}; workers stop allowing it within seconds\n")
        return 0

    return with_store("allow remove", run)


def with_store(command: str, run: Callable[[Any, IO[str]], int]) -> int:
    import redis.exceptions

    from agents.connect.security import checked_settings, redacted_url
    from agents.stores.allow import RedisAllowEntries

    settings = checked_settings()
    try:
        return run(RedisAllowEntries.from_settings(settings), sys.stdout)
    except redis.exceptions.RedisError as exc:
        print(
            f"qunguard {command}: Redis unavailable at {redacted_url(settings.redis_url)} ({exc})",
            file=sys.stderr,
        )
        return 1


def render(entries: list[Any], as_json: bool, out: IO[str]) -> None:
    if as_json:
        import orjson

        out.write(orjson.dumps([e.to_dict() for e in entries], option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    widths = [w for _, w in COLUMNS]
    out.write(row([t for t, _ in COLUMNS], widths) + "\n")
    out.write(row(["-" * w for w in widths], widths) + "\n")
    for e in entries:
        allows = f"terms: {', '.join(e.terms)}" if e.terms else f"text: {e.excerpt}"
        cells = [e.entry_id, e.scope, e.rule, allows, e.reviewer_id, e.ts[:16].replace("T", " "), e.violation_id,
                 e.note or "-"]  # fmt: skip
        out.write(row(cells, widths) + "\n")
    out.write(f"\n{len(entries)} allow entries\n")
