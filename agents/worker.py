"""`qunguard worker`: run the Faust app until SIGTERM/SIGINT."""

from __future__ import annotations

from faust.worker import Worker

from agents.app import create_app
from agents.settings import Settings


def run_worker(settings: Settings) -> int:
    app = create_app(settings)
    worker = Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()  # raises SystemExit when the worker stops
    return 0
