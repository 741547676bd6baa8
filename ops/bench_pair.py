"""Two checkouts' content engines side by side, in turns, on the bench's message sets.

On a shared machine two bench runs an hour apart differ by more than most changes do, so a change
to the engine is measured here: one long-lived process per checkout, both pinned to the same CPU,
take turns over the same messages (`agents.bench.content`'s short, short-with-candidate and long
sets, with and without the model), round after round. Each process first prints a digest of every
finding it makes, so the two engines are seen to decide alike before their speed is compared.

    python ops/bench_pair.py BEFORE_CHECKOUT AFTER_CHECKOUT [--rounds 10] [--cpu 1]

Prints one line per set and engine: min / median / max microseconds per message over the rounds,
and the median messages per second. Used for docs/bench.md (pure Python against `make compiled`:
a `git worktree` of the same commit has no extensions, being untracked build output).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SETS = ("short", "candidates", "long")
ENGINES = ("model", "lexicon")


def serve(root: Path, cpu: int) -> None:
    """The worker: build both engines from `root`'s code and time one pass per request on stdin."""
    sys.path.insert(0, str(root))
    os.chdir(root)
    os.sched_setaffinity(0, {cpu})
    from agents.bench.content import compiled_modules, workload

    work = workload()
    engines = {"model": work.model, "lexicon": work.lexicon}
    sets = {"short": work.short_events, "candidates": work.candidates, "long": work.long_events}
    decided = [
        sorted(f.rule for f in work.model.detect(e, "g", None)) for e in work.short_events + work.long_events
    ]
    print(hashlib.sha256(repr(decided).encode()).hexdigest()[:12], compiled_modules() != [], flush=True)
    for line in sys.stdin:
        name, engine = line.split()
        detector, events = engines[engine], sets[name]
        started = time.perf_counter()
        for event in events:
            detector.detect(event, "g", None)
        print((time.perf_counter() - started) / len(events) * 1e6, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs=2, type=Path, metavar="CHECKOUT")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cpu", type=int, default=1)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.checkouts[0].resolve(), args.cpu)
        return 0
    roots = [c.resolve() for c in args.checkouts]
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, str(root), str(root), "--serve", "--cpu", str(args.cpu)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for root in roots
    ]
    for root, worker in zip(roots, workers, strict=True):
        digest, compiled = worker.stdout.readline().split()  # type: ignore[union-attr]
        print(f"{root}: findings digest {digest}, compiled {compiled}")
    times: dict[tuple[str, str, Path], list[float]] = {}
    for _ in range(args.rounds):
        for name in SETS:
            for engine in ENGINES:
                for root, worker in zip(roots, workers, strict=True):
                    worker.stdin.write(f"{name} {engine}\n")  # type: ignore[union-attr]
                    worker.stdin.flush()  # type: ignore[union-attr]
                    times.setdefault((name, engine, root), []).append(float(worker.stdout.readline()))  # type: ignore[union-attr]
    for (name, engine, root), us in times.items():
        median = statistics.median(us)
        print(
            f"{name:10} {engine:7} {root}: {min(us):6.2f} / {median:6.2f} / {max(us):6.2f} µs per message"
            f" (min / median / max), {1e6 / median:,.0f} msg/s median"
        )
    for worker in workers:
        worker.stdin.close()  # type: ignore[union-attr]
        worker.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
