"""`qunguard worker`: create the worker's internal topics, then run the Faust app until SIGTERM/SIGINT."""

from __future__ import annotations

from faust.worker import Worker

from agents.connect.admin import create_topics
from agents.connect.security import check_redis_login
from agents.connect.settings import Settings
from agents.runtime.logs import configure_logging
from agents.worker.app import create_app, use_event_loop


def run_worker(settings: Settings) -> int:
    configure_logging(settings)
    check_redis_login(settings)  # refused credentials stop the worker here, with the variables to check
    use_event_loop()
    app = create_app(settings)
    create_topics(settings.kafka_bootstrap, app.topology.internal_topics(app.internal_partitions))
    # Our handler (JSON lines by default) stays; no spinner escape codes in the log.
    worker = Worker(app, loglevel=settings.log_level, quiet=True, override_logging=False)
    worker.spinner = None
    worker.execute_from_commandline()  # raises SystemExit when the worker stops
    return 0
