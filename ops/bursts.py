"""The two bursts of issue 13 at full size, on embedded Tansu and Redis (agents.dev.bursts):
a 100,000-row roster load while a worker runs, and 20,000 violations for a notifier whose
webhook answers in 0.5 s. Prints one line per burst; exits 1 if either saw an eviction, a
duplicate or did not finish.

    .venv/bin/python ops/bursts.py [--rows 100000] [--violations 20000] [--delay 0.5] [--concurrency 64]

Takes a few minutes and two cores; the figures are in docs/runtime.md ("Bursts").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from agents.dev.bursts import roster_burst, webhook_burst
from agents.dev.embedded import embedded_stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="roster rows (0: skip)")
    parser.add_argument("--violations", type=int, default=20_000, help="violation records (0: skip)")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the webhook takes per request")
    parser.add_argument("--concurrency", type=int, default=64, help="[delivery] concurrency of the notifier")
    parser.add_argument("--workdir", help="keep logs here (default: a temporary directory)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qunguard-bursts-") as scratch:
        workdir = Path(args.workdir or scratch)
        reports = []
        with embedded_stack(workdir) as stack:
            print(f"broker {stack.bootstrap}, redis {stack.redis_url}, logs in {workdir}", flush=True)
            if args.rows:
                folder = workdir / "roster"
                folder.mkdir(parents=True, exist_ok=True)
                reports.append(
                    roster_burst(stack.bootstrap, stack.redis_url, folder, args.rows, "qg-burst-roster")
                )
                print(reports[-1].summary(), flush=True)
            if args.violations:
                folder = workdir / "webhook"
                folder.mkdir(parents=True, exist_ok=True)
                reports.append(
                    webhook_burst(
                        stack.bootstrap, stack.redis_url, folder, args.violations, "qg-burst-notify",
                        delay=args.delay, concurrency=args.concurrency,
                    )
                )  # fmt: skip
                print(reports[-1].summary(), flush=True)
        for report in reports:
            for line in report.evictions[:5]:
                print(f"  {report.name}: {line}")
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
