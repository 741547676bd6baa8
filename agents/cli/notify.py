"""The `qunguard notify` subcommand (agents.cli.parser adds it); imports stay lazy."""

from __future__ import annotations

import argparse


def add_notify_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "notify",
        help="run the notifier: violations → messages to owners, admins, HR, security (log, webhook)",
        description="Consume moderation.violations in its own consumer group ($QUNGUARD_NOTIFY_APP_ID,"
        " default qunguard-notifier) and deliver messages per config/notify.toml (docs/notify.md).",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="notifier config (default: $QUNGUARD_NOTIFY_CONFIG or config/notify.toml)",
    )
    p.set_defaults(func=cmd_notify)


def cmd_notify(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from agents.connect.security import checked_settings
    from agents.notify.run import NotifySettings, run_notifier

    notify = NotifySettings.from_env()
    if args.config:
        notify = replace(notify, config_path=args.config)
    return run_notifier(checked_settings(), notify)
