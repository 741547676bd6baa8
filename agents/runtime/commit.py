"""Work that must be out before Faust commits offsets: `BeforeCommit`, a sensor whose hooks run
when a commit starts.

Faust calls `on_commit_initiated` and then computes the offsets to commit without yielding to the
event loop, and flushes its producer before it commits them. So a hook that hands records to the
producer (`send_soon`) when a commit starts has them produced before any offset of the input they
stem from is committed: the written-behind state of agents.runtime.tables and the batched forwards
of agents.worker.forwards rely on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust


class BeforeCommit(faust.Sensor):
    def __init__(self) -> None:
        super().__init__()
        self.hooks: list[Callable[[], object]] = []

    def on_commit_initiated(self, consumer: Any) -> Any:
        for hook in self.hooks:
            hook()


def before_commit(app: faust.App, hook: Callable[[], object]) -> None:
    """Run `hook` (synchronous, quick) whenever one of `app`'s commits starts."""
    sensor = getattr(app, "_qunguard_before_commit", None)
    if sensor is None:
        sensor = BeforeCommit()
        app.sensors.add(sensor)
        app._qunguard_before_commit = sensor  # type: ignore[attr-defined]
    sensor.hooks.append(hook)
