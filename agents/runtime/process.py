"""Starting a Faust app as a process (`qunguard worker`, `qunguard notify`): logging, a check of the
Redis login, the event loop, the app's own topics created (idempotent), then Faust's `Worker` until
SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable
from typing import NoReturn

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
) -> NoReturn:
    """Run the app `create()` builds after creating `topics(app)`; ends the process when it stops."""
    configure_logging(settings)
    check_redis_login(settings)  # refused credentials stop here, with the variables to check
    use_event_loop()
    app = create()
    create_topics(settings.kafka_bootstrap, topics(app))
    # Our handler (JSON lines by default) stays; no spinner escape codes in the log.
    worker = Worker(app, loglevel=settings.log_level, quiet=True, override_logging=False)
    worker.spinner = None
    try:
        worker.execute_from_commandline()  # raises SystemExit when the app stops
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    else:
        code = 0
    # Faust has stopped the app by now (offsets committed, producer flushed), but a thread of
    # mode's (the aiokafka consumer's ServiceThread) sometimes never ends after that, and the
    # interpreter would wait for it at exit forever: a SIGTERMed worker stayed up, and
    # `qunguard dev --follow` and its tests timed out on Ctrl-C. So the process ends here.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
