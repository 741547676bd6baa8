"""`qunguard review list|confirm|false-positive|missed|stats|export`: reviewers' verdicts from the
command line (docs/review.md).

- `list`: the violations the workers kept for verdicts (agents.stores.violations: every violation
  emitted in the last `[review] violation_days`), newest first, each with its latest verdict;
- `confirm` / `false-positive VIOLATION_ID --reviewer E`: a verdict record on moderation.feedback,
  keyed by the violation's group, after the same check the worker makes (streams.feedback.judges:
  one who may not judge it is told why and nothing is sent). Its feedback id comes from the
  violation, reviewer and verdict, so the same command twice is one verdict;
- `missed EVENT_ID --group G --rule R --reviewer E [--text T]`: a missed-message report;
- `stats`: per rule, the violations that stand confirmed or false positive, and the precision they
  give (agents.stores.feedback's tally);
- `export FILE`: the labelled examples (masked) as JSONL in config/labelled's format
  (`{"text", "rule", "kind", "note"}`, kind positive | hard_negative), for `qunguard model train`.

The CLI records the reviewer it is given: run it where only administrators may (it needs Kafka and
Redis). Exit 0 on success, 1 on a refusal, an unknown id or an unavailable service, 2 on bad input.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from agents.cli.table import row

LIST_COLUMNS = (("detected", 16), ("rule", 22), ("group", 16), ("account", 16), ("violation", 27),
                ("verdict", 24), ("excerpt", 30))  # fmt: skip
STATS_COLUMNS = (("rule", 24), ("confirmed", 9), ("false positive", 14), ("reviewed", 8), ("precision", 9))


class CommandError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_review_parser(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "review", help="reviewers' verdicts: recent violations, confirm, false-positive, missed, precision"
    ).add_subparsers(dest="action", required=True)
    p = group.add_parser("list", help="recent violations (newest first) with their latest verdict")
    p.add_argument("--group", metavar="GROUP_ID", help="only this group's")
    p.add_argument("--rule", metavar="RULE", help="only this rule's")
    p.add_argument("--pending", action="store_true", help="only violations nobody judged yet")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    p.add_argument("--json", action="store_true", help="JSON instead of a terminal table")
    p.set_defaults(func=cmd_list)
    for name, verdict, what in (("confirm", "confirmed", "a true violation"),
                                ("false-positive", "false_positive", "a false alarm")):  # fmt: skip
        p = group.add_parser(name, help=f"judge a violation {what} (a verdict on moderation.feedback)")
        p.add_argument("violation_id", metavar="VIOLATION_ID")
        p.add_argument("--reviewer", required=True, metavar="EMPLOYEE_ID", help="who judges (an employee id)")
        p.add_argument("--note", default="", help="why (kept masked with the allow entry)")
        p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP)")
        p.set_defaults(func=cmd_verdict, verdict=verdict)
    p = group.add_parser("missed", help="report a message a rule should have caught")
    p.add_argument("event_id", metavar="EVENT_ID")
    p.add_argument("--group", required=True, metavar="GROUP_ID")
    p.add_argument("--rule", required=True, metavar="RULE")
    p.add_argument("--reviewer", required=True, metavar="EMPLOYEE_ID")
    p.add_argument("--text", default="", help="the message text (kept masked as a labelled example)")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP)")
    p.set_defaults(func=cmd_missed)
    p = group.add_parser(
        "stats", help="per rule: violations judged confirmed / false positive, and precision"
    )
    p.add_argument("--json", action="store_true", help="JSON instead of a terminal table")
    p.set_defaults(func=cmd_stats)
    p = group.add_parser("export", help="the labelled examples as JSONL for `qunguard model train`")
    p.add_argument("file", metavar="FILE.jsonl")
    p.set_defaults(func=cmd_export)


@dataclass(frozen=True, slots=True)
class Live:
    """What the commands read and write: settings, policy, Redis stores."""

    settings: Any
    policy: Any
    stores: Any  # streams.feedback.stores.FeedbackStores over Redis

    @property
    def violations(self) -> Any:
        return self.stores.violations

    @property
    def tally(self) -> Any:
        return self.stores.tally


def _run(args: argparse.Namespace, body: Callable[[Live, IO[str]], int]) -> int:
    import redis.exceptions

    from agents.connect.security import checked_settings, redacted_url
    from agents.stores.feedback import redis_feedback_stores
    from streams.core.policy import PolicyError, load_policy
    from streams.feedback.stores import FeedbackLimits

    prog = f"qunguard review {args.action}"
    settings = checked_settings()
    try:
        policy = load_policy(settings.policy_path)
        live = Live(settings, policy, redis_feedback_stores(settings, FeedbackLimits.from_policy(policy)))
        return body(live, sys.stdout)
    except PolicyError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.code
    except redis.exceptions.RedisError as exc:
        print(f"{prog}: Redis unavailable at {redacted_url(settings.redis_url)} ({exc})", file=sys.stderr)
        return 1


def cmd_list(args: argparse.Namespace) -> int:
    def body(live: Live, out: IO[str]) -> int:
        def wanted(v: Any) -> bool:
            if args.group not in (None, v.group_id) or args.rule not in (None, v.rule):
                return False
            return not (args.pending and live.tally.judgement(v.violation_id))

        found = live.violations.recent(wanted, limit=max(1, args.limit))
        render_list([(v, live.tally.judgement(v.violation_id)) for v in found], args.json, out)
        return 0

    return _run(args, body)


def cmd_verdict(args: argparse.Namespace) -> int:
    from streams.feedback.judges import judge_verdict, load_judges
    from topics.feedback import Verdict

    def body(live: Live, out: IO[str]) -> int:
        violation = live.violations.violation(args.violation_id)
        if violation is None:
            raise CommandError(f"no violation {args.violation_id} is kept (never emitted, or older than"
                               " [review] violation_days); nothing was sent")  # fmt: skip
        fid = feedback_id("verdict", violation.violation_id, args.reviewer, args.verdict)
        verdict = Verdict(fid, datetime.now(UTC), violation.violation_id, violation.key, args.verdict,
                          args.reviewer, args.note)  # fmt: skip
        judges = load_judges(live.policy, live.settings.notify_config)
        judgement = judge_verdict(verdict, violation, _group(live, violation.group_id), judges)
        if not judgement.allowed:
            raise CommandError(f"refused: {judgement.reason}; nothing was sent")
        _produce(args, live, verdict)
        out.write(f"sent {args.verdict} on {violation.violation_id} ({violation.rule}) by {args.reviewer}"
                  f" ({judgement.role}) as {fid}; the worker applies it within seconds\n")  # fmt: skip
        return 0

    return _run(args, body)


def cmd_missed(args: argparse.Namespace) -> int:
    from streams.feedback.judges import judge_report, load_judges
    from topics.feedback import MissedReport

    def body(live: Live, out: IO[str]) -> int:
        if args.rule not in live.policy.rules:
            raise CommandError(f"no rule {args.rule} in the policy", 2)
        fid = feedback_id("missed", args.event_id, args.reviewer, args.rule)
        report = MissedReport(
            fid, datetime.now(UTC), args.event_id, args.group, args.rule, args.reviewer, args.text
        )
        judges = load_judges(live.policy, live.settings.notify_config)
        judgement = judge_report(report, live.policy, _group(live, args.group), judges)
        if not judgement.allowed:
            raise CommandError(f"refused: {judgement.reason}; nothing was sent")
        _produce(args, live, report)
        out.write(f"sent a missed {args.rule} report on {args.event_id} by {args.reviewer} as {fid}\n")
        return 0

    return _run(args, body)


def cmd_stats(args: argparse.Namespace) -> int:
    def body(live: Live, out: IO[str]) -> int:
        render_stats(live.tally.counts(), args.json, out)
        return 0

    return _run(args, body)


def cmd_export(args: argparse.Namespace) -> int:
    import orjson

    def body(live: Live, out: IO[str]) -> int:
        examples = list(live.stores.examples.examples())
        lines = [orjson.dumps(labelled_line(e)) + b"\n" for e in examples]
        try:
            Path(args.file).write_bytes(b"".join(lines))
        except OSError as exc:
            raise CommandError(f"{args.file}: {exc.strerror or exc}", 2) from None
        out.write(f"{len(lines)} labelled examples written to {args.file}\n")
        return 0

    return _run(args, body)


def feedback_id(kind: str, subject: str, reviewer: str, verdict: str) -> str:
    """The same command twice gives the same id: the worker applies it once."""
    material = "\x1f".join(("cli", kind, subject, reviewer, verdict))
    return "f-cli-" + hashlib.blake2b(material.encode("utf-8"), digest_size=10).hexdigest()


def labelled_line(example: Any) -> dict[str, Any]:
    """A streams.feedback.effects.LabelledExample in config/labelled's format."""
    note = (f"{example.verdict} by {example.reviewer_id} in {example.group_id} at {example.ts}"
            f" ({example.feedback_id})")  # fmt: skip
    return {"text": example.text, "rule": example.rule, "kind": example.kind, "note": note}


def precision(counts: dict[str, int]) -> float | None:
    reviewed = counts.get("confirmed", 0) + counts.get("false_positive", 0)
    return counts.get("confirmed", 0) / reviewed if reviewed else None


def render_list(found: list[tuple[Any, dict[str, str] | None]], as_json: bool, out: IO[str]) -> None:
    import orjson

    from topics.codec import encode

    if as_json:
        docs = [{**orjson.loads(encode(v)), "judgement": judged} for v, judged in found]
        out.write(orjson.dumps(docs, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    widths = [w for _, w in LIST_COLUMNS]
    out.write(row([t for t, _ in LIST_COLUMNS], widths) + "\n")
    out.write(row(["-" * w for w in widths], widths) + "\n")
    for v, judged in found:
        verdict = f"{judged['verdict']} by {judged['reviewer_id']}" if judged else "-"
        excerpt = str(v.evidence.get("excerpt") or "")
        cells = [v.detected_at[:16].replace("T", " "), v.rule, v.group_id or "-", v.subject_id or "-",
                 v.violation_id, verdict, excerpt or "-"]  # fmt: skip
        out.write(row(cells, widths) + "\n")
    out.write(f"\n{len(found)} violations\n")


def render_stats(counts: dict[str, dict[str, int]], as_json: bool, out: IO[str]) -> None:
    import orjson

    total: dict[str, int] = {}
    for per_rule in counts.values():
        for verdict, n in per_rule.items():
            total[verdict] = total.get(verdict, 0) + n
    if as_json:
        docs = {rule: {**c, "precision": precision(c)} for rule, c in {**counts, "all": total}.items()}
        out.write(orjson.dumps(docs, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    widths = [w for _, w in STATS_COLUMNS]
    out.write(row([t for t, _ in STATS_COLUMNS], widths) + "\n")
    out.write(row(["-" * w for w in widths], widths) + "\n")
    for rule, c in [*sorted(counts.items()), ("all", total)]:
        confirmed, false_positive = c.get("confirmed", 0), c.get("false_positive", 0)
        shown = precision(c)
        cells = [rule, str(confirmed), str(false_positive), str(confirmed + false_positive),
                 "-" if shown is None else f"{shown:.3f}"]  # fmt: skip
        out.write(row(cells, widths) + "\n")


def _group(live: Live, group_id: str | None) -> Any:
    from agents.stores.reference import ReferenceStore

    if group_id is None:
        return None
    _, groups = ReferenceStore.from_settings(live.settings).ledger()
    return groups.get(group_id)


def _produce(args: argparse.Namespace, live: Live, record: Any) -> None:
    from confluent_kafka import Producer

    from agents.connect.kafka import producer_config
    from topics.catalog import FEEDBACK

    failed: list[str] = []
    producer = Producer(
        producer_config(args.bootstrap or live.settings.kafka_bootstrap, "qunguard-review", 15.0)
    )
    producer.produce(FEEDBACK.name, key=record.key.encode("utf-8"), value=record.to_bytes(),
                     on_delivery=lambda err, msg: failed.append(str(err)) if err else None)  # fmt: skip
    if producer.flush(20) or failed:
        raise CommandError(f"not delivered to {FEEDBACK.name}: {', '.join(failed) or 'timed out'}")
