"""The `qunguard` command. Each subcommand is a thin shell over one module; imports are lazy so
`qunguard replay` never loads Faust or Kafka clients."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

BROKEN_PIPE = 141  # what a shell reports for a process killed by SIGPIPE
ONE_SHOT_SPAN = 6.0  # seconds between a one-shot `lag`'s two samples (agents.lag.monitor)


def _settings():
    from agents.connect.security import checked_settings

    return checked_settings()


def cmd_replay(args: argparse.Namespace) -> int:
    from agents.cli.replay import main_replay

    return main_replay(args)


def cmd_topics_create(args: argparse.Namespace) -> int:
    from agents.connect.admin import TopicAdminError, create_topics

    bootstrap = args.bootstrap or _settings().kafka_bootstrap
    try:
        outcomes = create_topics(bootstrap)
    except TopicAdminError as exc:
        print(f"qunguard topics create: {exc}", file=sys.stderr)
        return 1
    for topic, outcome in outcomes.items():
        print(f"{topic}: {outcome}")
    return 0


def cmd_roster_load(args: argparse.Namespace) -> int:
    from agents.intake.loaders import load_roster

    return _load("roster", lambda: load_roster(args.file, _settings(), publish=not args.no_publish))


def cmd_ledger_load(args: argparse.Namespace) -> int:
    from agents.intake.loaders import load_ledger

    return _load("ledger", lambda: load_ledger(args.file, _settings()))


def _load(dataset: str, load) -> int:
    """Run a loader; every expected failure becomes one line on stderr and exit 1."""
    import redis.exceptions

    from agents.connect.security import REDIS_LOGIN_HINT
    from agents.intake.loaders import PublishError
    from agents.stores.reference import ConcurrentLoadError
    from topics.reference import ReferenceFileError

    prefix = f"qunguard {dataset} load"
    try:
        result = load()
    except ReferenceFileError as exc:
        print(f"{prefix}: {exc}; nothing was written", file=sys.stderr)
        return 1
    except redis.exceptions.AuthenticationError as exc:
        print(
            f"{prefix}: Redis refused the login ({exc}); {REDIS_LOGIN_HINT}; nothing was written",
            file=sys.stderr,
        )
        return 1
    except redis.exceptions.RedisError as exc:
        print(f"{prefix}: Redis unavailable ({exc}); nothing was written", file=sys.stderr)
        return 1
    except ConcurrentLoadError as exc:
        print(f"{prefix}: {exc}; nothing was written, try again", file=sys.stderr)
        return 1
    except PublishError as exc:
        print(f"{prefix}: Redis was updated but {exc}; the next load publishes them", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def cmd_feed(args: argparse.Namespace) -> int:
    from agents.intake.feed import feed_file

    bootstrap = args.bootstrap or _settings().kafka_bootstrap
    summary = feed_file(args.file, bootstrap, progress=not args.quiet)
    print(summary.summary())
    return summary.exit_status


def cmd_worker(args: argparse.Namespace) -> int:
    from agents.worker.run import run_worker

    return run_worker(_settings())


def cmd_lag(args: argparse.Namespace) -> int:
    from agents.connect.offsets import GroupOffsets
    from agents.lag.exporter import LagExporter
    from agents.lag.monitor import LagMonitor, run_lag

    settings = _settings()
    source = GroupOffsets(args.bootstrap or settings.kafka_bootstrap, args.end_offsets)
    groups = args.group or [settings.app_id]
    try:
        if args.serve is not None:
            host = args.host or settings.web_host
            monitor = LagMonitor(source, groups, window=args.window)
            exporter = LagExporter(monitor, args.serve, host=host, interval=args.interval)
            print(f"qunguard lag: serving /metrics and /healthz on {host}:{exporter.port}", file=sys.stderr)
            exporter.run()
            return 0
        return run_lag(
            source, groups, as_json=args.json, watch=args.watch, window=args.window, span=args.span
        )
    finally:
        source.close()


def cmd_dev(args: argparse.Namespace) -> int:
    from agents.dev.stack import run_dev

    return run_dev(events=args.events, follow=args.follow)


def cmd_bench(args: argparse.Namespace) -> int:
    import orjson

    from agents.bench.run import DEFAULT_EVENTS, QUICK_EVENTS, run_bench

    events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    doc = run_bench(events=events, quick=args.quick, seed=args.seed, workdir=args.workdir)
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    if args.out:
        Path(args.out).write_bytes(text)
    else:
        sys.stdout.buffer.write(text)
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from agents.cli.scan import main_scan

    return main_scan(args.text, args.file, args.json, args.policy, args.reviewed, args.group)


def cmd_report_groups(args: argparse.Namespace) -> int:
    from agents.cli.report import main_report

    return main_report(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qunguard", description="Streaming moderation for workplace group chats"
    )
    parser.add_argument("--version", action="version", version=f"qunguard {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="run the detectors over a JSONL file of events (SPEC §6)")
    p.add_argument("events", metavar="EVENTS.jsonl")
    p.add_argument("--roster", metavar="ROSTER.csv")
    p.add_argument("--ledger", metavar="LEDGER.csv")
    p.add_argument("--policy", metavar="FILE", help="policy TOML (default: config/policy.toml)")
    p.add_argument("--out", metavar="FILE", help="write violations here instead of stdout")
    p.set_defaults(func=cmd_replay)

    topics = sub.add_parser("topics", help="manage the topic catalog").add_subparsers(
        dest="action", required=True
    )
    p = topics.add_parser("create", help="create every catalog topic (existing ones are fine)")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP)")
    p.set_defaults(func=cmd_topics_create)

    for name, func in (("roster", cmd_roster_load), ("ledger", cmd_ledger_load)):
        group = sub.add_parser(name, help=f"manage the {name} in Redis").add_subparsers(
            dest="action", required=True
        )
        p = group.add_parser("load", help=f"validate a {name} CSV and replace the {name} in Redis atomically")
        p.add_argument("file", metavar="FILE.csv")
        if name == "roster":
            p.add_argument("--no-publish", action="store_true", help="do not publish hr.roster change events")
        p.set_defaults(func=func)

    p = sub.add_parser("feed", help="produce a JSONL file of events to the input topics")
    p.add_argument("file", metavar="FILE.jsonl")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_feed)

    p = sub.add_parser("worker", help="run the Faust worker against $KAFKA_BOOTSTRAP and $REDIS_URL")
    p.set_defaults(func=cmd_worker)

    from agents.cli.notify import add_notify_parser  # the notifier's subcommand (docs/notify.md)

    add_notify_parser(sub)

    p = sub.add_parser("dev", help="embedded broker + Redis + worker + sample events (what `make demo` runs)")
    p.add_argument(
        "--events", metavar="FILE.jsonl", help="events to feed (default: config/sample/events.jsonl)"
    )
    p.add_argument("--follow", action="store_true", help="keep running after the sample is done")
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser(
        "lag", help="consumer-group lag from committed offsets (table, JSON or Prometheus exporter)"
    )
    p.add_argument("--group", action="append", help="consumer group, repeatable (default: $QUNGUARD_APP_ID)")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP)")
    p.add_argument("--json", action="store_true", help="one JSON document per round")
    p.add_argument(
        "--watch",
        type=float,
        nargs="?",
        const=5.0,
        metavar="SECONDS",
        help="repeat every SECONDS (default 5)",
    )
    p.add_argument(
        "--serve", type=int, metavar="PORT", help="run a Prometheus exporter (/metrics, /healthz) on PORT"
    )
    p.add_argument(
        "--host",
        help="address the exporter listens on (default: $QUNGUARD_WEB_HOST, 127.0.0.1; 0.0.0.0 in a container)",
    )
    p.add_argument(
        "--interval", type=float, default=5.0, help="exporter sampling interval in seconds (default 5)"
    )
    p.add_argument("--window", type=int, default=10, help="samples in the status window (default 10)")
    p.add_argument(
        "--span", type=float, default=ONE_SHOT_SPAN, metavar="SECONDS",
        help=f"one-shot: judge the status from two samples SECONDS apart (default {ONE_SHOT_SPAN:g},"
        " more than the worker's commit interval; 0: one sample, UNKNOWN for a lagging partition)",
    )  # fmt: skip
    p.add_argument(
        "--end-offsets", choices=("watermark", "list-offsets"), default="watermark",
        help="log-end offsets from a fetch's high watermark (exact on Tansu and Kafka) or ListOffsets"
        " (cheaper; wrong on Tansu after batched produce)",
    )  # fmt: skip
    p.set_defaults(func=cmd_lag)

    p = sub.add_parser("bench", help="throughput and latency of the worker on an embedded broker, as JSON")
    p.add_argument(
        "--events", type=int, metavar="N", help="events to produce (default 20000; 2000 with --quick)"
    )
    p.add_argument("--quick", action="store_true", help="a small, short run (smoke test)")
    p.add_argument("--seed", type=int, default=7, help="seed of the generated events")
    p.add_argument("--out", metavar="FILE", help="write the JSON here instead of stdout")
    p.add_argument("--workdir", metavar="DIR", help="keep broker, Redis and worker logs here")
    p.set_defaults(func=cmd_bench)

    report = sub.add_parser("report", help="reports for administrators").add_subparsers(
        dest="report", required=True
    )
    p = report.add_parser(
        "groups",
        help="per group: kind, owner, members, outsiders, departed, nicknames, missing leaders, status",
        description="Rebuild group membership from a JSONL file of events with the worker's detectors"
        " and judge every group seen against the roster and ledger (offline, like replay).",
    )
    p.add_argument("events", metavar="EVENTS.jsonl")
    p.add_argument("--roster", metavar="ROSTER.csv")
    p.add_argument("--ledger", metavar="LEDGER.csv")
    p.add_argument("--policy", metavar="FILE", help="policy TOML (default: config/policy.toml)")
    p.add_argument("--as-of", metavar="TIME", help="judge idle and expired groups as of this RFC 3339 time"
                   " (default: the last event's time)")  # fmt: skip
    p.add_argument("--csv", action="store_true", help="CSV instead of a terminal table")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_report_groups)

    from agents.cli.discipline import add_discipline_parser  # the escalation ladder (docs/ladder.md)

    add_discipline_parser(sub)

    from agents.cli.review import add_review_parser  # reviewers' verdicts (docs/review.md)

    add_review_parser(sub)

    from agents.cli.allow import add_allow_parser  # reviewers' allow entries (docs/review.md)

    add_allow_parser(sub)

    from agents.cli.policy import add_policy_parser  # `policy check` (docs/operations.md)

    add_policy_parser(sub)

    from agents.cli.eval_command import add_eval_parser  # `eval`: the content engine's figures

    add_eval_parser(sub)

    from agents.cli.model import add_model_parser  # `model train`: the content classifier

    add_model_parser(sub)

    p = sub.add_parser("scan", help="scan text with the content rules and show what matched and why")
    p.add_argument("text", nargs="?", help="text to scan ('-' or nothing: one message per stdin line)")
    p.add_argument("--file", metavar="EVENTS.jsonl", help="scan the message events of a JSONL file")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.add_argument("--policy", metavar="FILE", help="policy TOML (default: config/policy.toml)")
    p.add_argument("--reviewed", action="store_true",
                   help="consult the reviewers' allow entries in Redis ($REDIS_URL), as the worker does")  # fmt: skip
    p.add_argument("--group", default="-", metavar="GROUP_ID",
                   help="the group of a text or stdin message (whose allow entries apply; default '-')")  # fmt: skip
    p.set_defaults(func=cmd_scan)
    return parser


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qunguard")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    from streams.core.policy import PolicyError

    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except KeyboardInterrupt:
        return 130
    except PolicyError as exc:  # a policy refused where the command does not report it itself (worker)
        print(exc, file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _stdout_closed()


def _stdout_closed() -> int:
    """The reader of stdout went away (`qunguard replay … | head`): stop quietly, as a process killed
    by SIGPIPE would (128 + 13), with stdout pointed at /dev/null so the exit flush cannot fail."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return BROKEN_PIPE
