"""`qunguard bench`: the benchmark's input, measurements, no-op baseline and content engine figures.
(`agents.bench.content` and `agents.bench.noop` also run as `python -m` and are not imported here.)"""

from agents.bench.run import DEFAULT_EVENTS, QUICK_EVENTS, run_bench

__all__ = ["DEFAULT_EVENTS", "QUICK_EVENTS", "run_bench"]
