"""Stops a worker that has been out of its consumer group for too long, so its supervisor starts it
again.

On the embedded broker a worker whose commit took longer than the session timeout was evicted
(`OffsetCommit failed … UnknownMemberIdError, will rejoin`) and never rejoined: no log line, no
progress, its partitions unowned until someone restarted it (docs/bench.md, "Known problem").
A rebalance that has not finished after `limit` seconds is treated as that state: the watchdog
logs it and exits with status 3. A fresh process joins the group and recovers its tables from the
changelogs; nothing is lost, because nothing past the last commit was acknowledged. `limit`
(QUNGUARD_REBALANCE_LIMIT, default 300 s) must exceed the longest table recovery you expect.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
EXIT_STATUS = 3


@dataclass
class RebalanceWatchdog:
    app: Any
    limit: float
    clock: Any = time.monotonic
    since: float | None = None

    def overdue(self) -> bool:
        """Whether the app has been rebalancing for `limit` seconds without a break."""
        if not self.app.rebalancing:
            self.since = None
            return False
        now = self.clock()
        if self.since is None:
            self.since = now
        return now - self.since >= self.limit


def register_rebalance_watchdog(app: Any, limit: float, exit: Any = os._exit) -> RebalanceWatchdog:
    watchdog = RebalanceWatchdog(app, limit)

    @app.timer(max(1.0, min(30.0, limit / 10)), name="qunguard.rebalance_watchdog")
    async def rebalance_watchdog() -> None:
        if watchdog.overdue():
            log.critical(
                "no partitions for %.0f s: the worker has left its consumer group and not "
                "rejoined; exiting so that it is started again",
                limit,
            )
            logging.shutdown()
            exit(EXIT_STATUS)

    return watchdog
