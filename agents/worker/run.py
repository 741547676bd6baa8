"""`qunguard worker`: create the worker's internal topics and `moderation.feedback` (which deployments
made before the verdict stream may lack), then run the Faust app until SIGTERM/SIGINT."""

from __future__ import annotations

from typing import NoReturn

from agents.connect.settings import Settings
from agents.runtime.process import run_app
from agents.worker.app import create_app
from topics.catalog import FEEDBACK


def run_worker(settings: Settings) -> NoReturn:
    return run_app(
        settings,
        lambda: create_app(settings),
        lambda app: (*app.topology.internal_topics(app.internal_partitions), FEEDBACK),
    )
