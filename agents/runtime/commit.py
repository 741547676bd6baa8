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
    """Add it to an app's sensors once (`app.sensors.add`) and append each hook: synchronous and
    quick, run whenever one of the app's commits starts."""

    def __init__(self) -> None:
        super().__init__()
        self.hooks: list[Callable[[], object]] = []

    def on_commit_initiated(self, consumer: Any) -> Any:
        for hook in self.hooks:
            hook()
