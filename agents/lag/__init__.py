"""Consumer lag from outside the consumers (`qunguard lag`): the monitor, its arithmetic and the
Prometheus exporter."""

from agents.lag.exporter import LagExporter
from agents.lag.monitor import LagMonitor, run_lag

__all__ = ["LagExporter", "LagMonitor", "run_lag"]
