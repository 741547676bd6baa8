"""What both Faust apps (the worker and the notifier) share: app options, raw topics and records,
the one dead-letter helper, tables, the transport, ticks, the stall guard, the rebalance watchdog,
health pages, logs, retries and process start."""

from agents.runtime.app import app_options, expose_metrics, raw_topic, register_liveness, use_event_loop
from agents.runtime.deadletter import (
    REASON_HEADER,
    DeadLetterSink,
    FaustDeadLetterSink,
    dead_letter,
    dead_letter_headers,
)
from agents.runtime.health import readiness, register_health
from agents.runtime.internal import internal_topic
from agents.runtime.process import run_app
from agents.runtime.records import RawRecord
from agents.runtime.retry import retry_forever
from agents.runtime.tables import TableState, partition_of, sweeping
from agents.runtime.ticks import is_tick, register_ticks

__all__ = [
    "REASON_HEADER",
    "DeadLetterSink",
    "FaustDeadLetterSink",
    "RawRecord",
    "TableState",
    "app_options",
    "dead_letter",
    "dead_letter_headers",
    "expose_metrics",
    "internal_topic",
    "is_tick",
    "partition_of",
    "raw_topic",
    "readiness",
    "register_health",
    "register_liveness",
    "register_ticks",
    "retry_forever",
    "run_app",
    "sweeping",
    "use_event_loop",
]
