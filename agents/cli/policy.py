"""`qunguard policy check [FILE]`: validate a policy as the worker would at start, without starting
anything: the schema (streams.core.policy_schema; every mistake listed with its TOML location),
then the detector set built in memory (which compiles the content dictionaries the policy names).
Prints `ok <version>`; exit 2 with the mistakes on stderr otherwise."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO


def add_policy_parser(sub: argparse._SubParsersAction) -> None:
    policy = sub.add_parser("policy", help="check a policy file").add_subparsers(dest="action", required=True)
    p = policy.add_parser(
        "check",
        help="validate a policy file against the schema and compile its dictionaries (exit 2: every mistake listed)",
    )
    p.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="policy TOML (default: $QUNGUARD_POLICY or config/policy.toml)",
    )
    p.set_defaults(func=cmd_policy_check)


def cmd_policy_check(args: argparse.Namespace) -> int:
    from agents.connect.settings import Settings

    return check_policy(args.file or Settings.from_env().policy_path, sys.stdout, sys.stderr)


def check_policy(path: str, out: TextIO, err: TextIO) -> int:
    from streams.content.dictionary import DictionaryError
    from streams.core.policy import PolicyError, load_policy
    from streams.detectors import build_detectors

    try:
        policy = load_policy(path)
        build_detectors(policy)
    except PolicyError as exc:
        print(*exc.problems, sep="\n", file=err)
        return 2
    except DictionaryError as exc:
        print(exc, file=err)
        return 2
    print(f"ok {policy.version}", file=out)
    return 0
