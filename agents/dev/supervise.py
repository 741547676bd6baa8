"""`qunguard dev --follow` keeps its stack up: a worker or notifier process that exits is started
again instead of the whole stack being torn down (its log, appended to, says why it exited).

A process that exits again soon after a restart waits longer before the next one (1 s, doubling
up to 30 s), so a crash loop does not spin; one that ran for a minute starts again after 1 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.dev.embedded import Service

FIRST_PAUSE = 1.0
MAX_PAUSE = 30.0
STABLE_AFTER = 60.0  # seconds up after which an exit counts as a first one again


@dataclass
class Supervised:
    service: Service
    clock: Callable[[], float] = time.monotonic
    restarts: int = 0
    pause: float = 0.0  # before the pending restart
    started_at: float = field(init=False)
    exited_at: float | None = None

    def __post_init__(self) -> None:
        self.started_at = self.clock()

    def check(self) -> str | None:
        """Notice an exit, or start the process again once its pause is over; returns a line
        to print when either happens."""
        if self.service.running:
            return None
        now = self.clock()
        if self.exited_at is None:
            self.exited_at = now
            crashed_soon = now - self.started_at < STABLE_AFTER and self.pause > 0
            self.pause = min(MAX_PAUSE, 2 * self.pause) if crashed_soon else FIRST_PAUSE
            code = self.service.proc.returncode if self.service.proc else None
            return (
                f"{self.service.name} exited with {code} (see {self.service.log_path}); "
                f"starting it again in {self.pause:.0f}s"
            )
        if now - self.exited_at < self.pause:
            return None
        self.service.start()
        self.restarts += 1
        self.started_at, self.exited_at = now, None
        return f"{self.service.name} restarted (pid {self.service.proc.pid}), restart {self.restarts}"
