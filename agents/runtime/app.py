"""What the worker's and the notifier's Faust apps share: their options, raw topics, the event
loop, the timers that keep them consuming and the /metrics page (their internal topics:
agents.runtime.internal; ticks: agents.runtime.ticks; process start: agents.runtime.process)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import faust
import faust.web
from mode.utils.logging import CompositeLogger
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.connect.security import faust_broker_options
from agents.connect.settings import Settings
from agents.runtime import transport
from agents.runtime.stall_guard import register_stall_guard
from agents.runtime.watchdog import register_rebalance_watchdog

# Records one poll hands to the agents (Faust's default: all it fetched, up to 1 MB a partition).
# Faust's fetch loop does not poll again until it has put every record of a poll into its agent's
# buffer, and waits while that buffer is full; so under a burst (100,000 hr.roster events) a slow
# agent kept it from polling for longer than broker_max_poll_interval, and the consumer left its
# group (UnknownMemberId on the next commit). A buffer over 80 % full stops fetching for its
# partitions, so with small polls the fetch loop rarely waits at all (docs/runtime.md, "Bursts").
MAX_POLL_RECORDS = 100


def app_options(settings: Settings) -> dict[str, Any]:
    """The Faust options of the worker, the notifier and the bench's no-op baseline (agents.bench.noop)."""
    options: dict[str, Any] = {
        "broker": settings.kafka_url,
        # The consumer with exact log-end offsets for table recovery that commits from its commit
        # timer only, and the producer whose flush before a commit is bounded (agents.runtime.transport).
        "broker_consumer": settings.kafka_url.replace("kafka://", f"{transport.SCHEME}://"),
        "broker_producer": settings.kafka_url.replace("kafka://", f"{transport.SCHEME}://"),
        "broker_max_poll_records": MAX_POLL_RECORDS,
        "store": "memory://",
        "web_enabled": settings.web_port > 0,
        "web_port": settings.web_port or 6066,
        "web_bind": settings.web_host,  # the address it listens on (Faust's default: every interface)
        "web_host": settings.web_host,  # only the host of Faust's canonical URL
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": min(3.0, settings.session_timeout / 3),
        "broker_max_poll_interval": settings.max_poll_interval,
        "broker_commit_interval": settings.commit_interval,
        "consumer_auto_offset_reset": "earliest",
        "topic_replication_factor": settings.replication_factor,
        "producer_acks": -1,
        # Batch what one pass over a fetched batch produces (forwards, changelogs, violations)
        # into fewer produce requests: ~8 % less CPU per event in the bench, ≤5 ms of latency.
        "producer_linger": 0.005,
        "logging_config": None,
        **faust_broker_options(settings),  # TLS/SASL credentials (agents.connect.security)
    }
    if settings.data_dir:
        options["datadir"] = settings.data_dir
    return options


class LevelCheckedLogger(CompositeLogger):
    """mode's service logger formats a message (the service's depth in the tree, its label) before
    the logging level is looked at, and Faust logs every value an agent yields at DEBUG: with DEBUG
    off, ~2 % of the worker's main-thread samples in py-spy (2.6 µs a call in a bare app, 0.4 µs
    with the level looked at first)."""

    def log(self, severity: int, message: str, *args: Any, **kwargs: Any) -> None:
        if self.logger.isEnabledFor(severity):
            super().log(severity, message, *args, **kwargs)


def check_log_level_first(app: faust.App) -> None:
    """Give every agent of `app` (call once they are all defined) a LevelCheckedLogger."""
    for agent in app.agents.values():
        agent.log = LevelCheckedLogger(agent.logger, formatter=agent._format_log)  # type: ignore[attr-defined]


def use_event_loop() -> str:
    """Run the app on uvloop where it is installed (call before the app is created);
    QUNGUARD_EVENT_LOOP=asyncio keeps asyncio's own loop (for comparisons)."""
    import mode.loop

    if os.environ.get("QUNGUARD_EVENT_LOOP", "uvloop") != "uvloop":
        return "asyncio"
    try:
        mode.loop.use("uvloop")
    except ImportError:
        return "asyncio"
    return "uvloop"


def raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    """Topics read and written as bytes: agents decode, so a bad record becomes a dead letter
    instead of crashing Faust's deserializer."""
    return app.topic(*names, key_serializer="raw", value_serializer="raw", allow_empty=True)


def register_liveness(app: faust.App, settings: Settings, holding: Callable[[], bool] | None = None) -> None:
    """The timers that keep a Faust app (worker or notifier) consuming: re-reading partitions
    Faust stopped short on (agents.runtime.stall_guard) and exiting when out of the group too long
    (agents.runtime.watchdog). A setting of 0 turns either off. `holding` tells the stall guard
    when the app waits on purpose (refused reference data), so it does not re-read then."""
    if settings.stall_after > 0:
        register_stall_guard(app, settings.stall_after, holding)
    if settings.rebalance_limit > 0:
        register_rebalance_watchdog(app, settings.rebalance_limit)


def expose_metrics(app: faust.App) -> None:
    """Serve the process's Prometheus registry on the app's web server at /metrics."""

    @app.page("/metrics")
    async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
