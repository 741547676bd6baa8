"""Starting a Faust app as a process (`qunguard worker`, `qunguard notify`): logging, a check of the
Redis login, the event loop, the app's own topics created (idempotent), then Faust's `Worker` until
SIGTERM/SIGINT."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import faust
from faust.worker import Worker

from agents.connect.admin import create_topics
from agents.connect.redis import check_redis_login
from agents.connect.settings import Settings
from agents.runtime.app import use_event_loop
from agents.runtime.logs import configure_logging
from topics.catalog import TopicSpec


def run_app(
    settings: Settings,
    create: Callable[[], faust.App],
    topics: Callable[[faust.App], Iterable[TopicSpec]],
) -> int:
    """Run the app `create()` builds after creating `topics(app)`; returns when it stops."""
    configure_logging(settings)
    check_redis_login(settings)  # refused credentials stop here, with the variables to check
    use_event_loop()
    app = create()
    create_topics(settings.kafka_bootstrap, topics(app))
    # Our handler (JSON lines by default) stays; no spinner escape codes in the log.
    worker = Worker(app, loglevel=settings.log_level, quiet=True, override_logging=False)
    worker.spinner = None
    worker.execute_from_commandline()  # raises SystemExit when the app stops
    return 0
