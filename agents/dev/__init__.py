"""`qunguard dev` (`make demo`): embedded Tansu and redis-server, the stack and its notifier."""

from agents.dev.embedded import Service, embedded_stack, free_port, worker
from agents.dev.stack import run_dev

__all__ = ["Service", "embedded_stack", "free_port", "run_dev", "worker"]
