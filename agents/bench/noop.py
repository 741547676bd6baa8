"""The benchmark's baseline: a Faust worker whose agents consume the input topics as raw bytes and
do nothing but count them. Same Settings (environment), the worker's Faust options and event loop
(agents.runtime.app), the same `Worker` entry and the same `qunguard_events_total` counter on
/metrics as `qunguard worker`, so the pipeline's figure divided by this one is the cost of moderation.

Run as `python -m agents.bench.noop` with the worker's environment variables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import faust
from faust.worker import Worker

from agents.connect.security import checked_settings
from agents.connect.settings import Settings
from agents.runtime.app import app_options, check_log_level_first, expose_metrics, raw_topic, use_event_loop
from agents.worker.metrics import EVENTS
from topics.catalog import INPUT_TOPICS


def _ignore(counter):
    async def ignore(stream: faust.StreamT) -> AsyncIterator[None]:
        async for _value in stream:
            counter.inc()
            yield None

    return ignore


def create_noop_app(settings: Settings) -> faust.App:
    app = faust.App(settings.app_id, **app_options(settings))
    for spec in INPUT_TOPICS:
        app.agent(raw_topic(app, spec.name), name=f"noop.{spec.name}")(_ignore(EVENTS.labels(spec.name)))
    check_log_level_first(app)
    expose_metrics(app)
    return app


def main() -> None:
    settings = checked_settings()
    use_event_loop()
    Worker(create_noop_app(settings), loglevel=settings.log_level, quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
