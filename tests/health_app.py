"""A `qunguard worker` with the operations wiring agents/app.py and agents/worker.py are to get:
JSON logs, /healthz and /readyz, the Faust Prometheus sensor, table sizes and detector time.
Run as a subprocess by tests/test_health.py (configured by the same environment variables)."""

from __future__ import annotations

from faust.worker import Worker

from agents.admin import create_topics
from agents.app import create_app
from agents.health import readiness, register_health
from agents.logs import configure_logging
from agents.metrics import install_faust_sensor, observe_detection, timed, watch_table_sizes
from agents.settings import Settings


class ObservedSink:
    """Stands in for the call the moderator is to make after each violation it emits."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def send(self, violation) -> None:
        await self.inner.send(violation)
        observe_detection(violation)


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings)
    app = create_app(settings)
    engine = app.moderator.engine
    engine.detectors[:] = timed(engine.detectors)
    app.moderator.violations = ObservedSink(app.moderator.violations)
    register_health(app, readiness(app, app.moderator.reference.client.ping))
    if settings.faust_sensor:
        install_faust_sensor(app)
    watch_table_sizes(app.detector_state.tables)
    partitions = ("group", *(p for p in engine.partitions() if p != "group"))
    create_topics(settings.kafka_bootstrap, app.topology.internal_topics(partitions))
    worker = Worker(app, loglevel=settings.log_level, quiet=True, override_logging=False)
    worker.spinner = None  # its terminal codes would land in the log stream
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
