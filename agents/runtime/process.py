"""Starting a Faust app as a process (`qunguard worker`, `qunguard notify`): logging, a check of the
Redis login, the event loop, the app's own topics created (idempotent), then Faust's `Worker` until
SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
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

EXIT_GRACE_SECONDS = 15.0


def _join_threads(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))


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
    # The consumer's thread (a mode ServiceThread) finishes the shutdown, the last commit
    # included, after this returns; the interpreter would wait for it at exit, but it sometimes
    # never ends: a SIGTERMed worker stayed up, and `qunguard dev --follow` and its tests timed
    # out on Ctrl-C. So give the threads a bounded time to finish, then end the process.
    _join_threads(EXIT_GRACE_SECONDS)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
