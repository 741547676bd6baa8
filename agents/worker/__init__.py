"""The moderation worker (`qunguard worker`): its Faust app and agents, the per-record steps, the
ladder's employee agent, outputs, the sweep clock, live dictionary reload and metrics."""

from agents.worker.app import create_app
from agents.worker.metrics import EVENTS
from agents.worker.run import run_worker
from agents.worker.topology import Topology

__all__ = ["EVENTS", "Topology", "create_app", "run_worker"]
