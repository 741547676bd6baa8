"""Deliveries off the agent's loop: each runs as a task, after the earlier ones of its lane (a
recipient, so their messages are not overtaken) and at most `limit` pending at a time in all.

The agent only waits in `submit`, for a free place, i.e. for the earliest of `limit` deliveries
to end; its buffer then fills and Faust stops fetching its partitions, while the consumer keeps
polling and stays in its group however slow a sink is (docs/notify.md, "Delivery").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

Delivery = asyncio.Task[None]


class DeliveryLanes:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.limit = limit
        self._places = asyncio.Semaphore(limit)
        self._last: dict[str, Delivery] = {}  # lane → its latest delivery
        self._pending: set[Delivery] = set()

    @property
    def pending(self) -> int:
        """Deliveries submitted and not over (waiting for their lane or running)."""
        return len(self._pending)

    async def submit(self, lane: str, work: Callable[[], Awaitable[None]]) -> Delivery:
        """Start `work` once the earlier work of `lane` is over; wait first while `limit` are
        pending. The task it returns ends when `work` does."""
        await self._places.acquire()
        task = asyncio.create_task(self._after(self._last.get(lane), work))
        self._last[lane] = task
        self._pending.add(task)
        task.add_done_callback(lambda done: self._over(lane, done))
        return task

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every delivery submitted so far is over, or `timeout` seconds; whether they are."""
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while self._pending:
            left = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(set(self._pending), timeout=left)
        return True

    @staticmethod
    async def _after(earlier: Delivery | None, work: Callable[[], Awaitable[None]]) -> None:
        if earlier is not None:
            await asyncio.wait((earlier,))  # its outcome is its own: this one runs either way
        await work()

    def _over(self, lane: str, task: Delivery) -> None:
        self._places.release()
        self._pending.discard(task)
        if self._last.get(lane) is task:
            del self._last[lane]
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery failed in lane %s", lane, exc_info=task.exception())


def when_delivered(deliveries: Sequence[Delivery], then: Callable[[], object]) -> None:
    """Call `then()` once all of `deliveries` are over (at once when there are none), unless one
    of them failed: its record then stays unacknowledged, to be read again (agents.runtime.stall_guard)."""
    if not deliveries:
        then()
        return

    def over(gathered: asyncio.Future[list[BaseException | None]]) -> None:
        if not gathered.cancelled() and not any(isinstance(r, BaseException) for r in gathered.result()):
            then()

    asyncio.gather(*deliveries, return_exceptions=True).add_done_callback(over)
