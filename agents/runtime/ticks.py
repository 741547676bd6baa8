"""Ticks: time passing, as records. A timer sends a tick (header `qg-control: tick`) to each
partition this process actively owns of some of its topics; the agent of that topic handles it
like any record of the partition, so work that needs time to pass (the worker's sweeps, the
notifier's digests) runs inside the stream, where Faust lets a table change, and only for the
keys of that partition (docs/runtime.md, "Sweeps and timers"). Old ticks re-read after a restart
only repeat that work, which must be idempotent."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust

from agents.runtime.records import RawRecord, header_pairs

TICK_HEADER = "qg-control"
TICK = b"tick"


def is_tick(record: RawRecord) -> bool:
    return (TICK_HEADER, TICK) in record.headers


def is_tick_message(message: Any) -> bool:
    """The same for a Faust message, as the consumer acknowledges it."""
    return (TICK_HEADER, TICK) in header_pairs(message)


def register_ticks(
    app: faust.App, interval: float, name: str, topics: Iterable[faust.TopicT], value: Callable[[], bytes]
) -> None:
    """Every `interval` seconds (none while rebalancing), send a tick whose value is `value()` to
    each partition of `topics` this app actively owns. No timer without topics."""
    targets = tuple(topics)
    if not targets:
        return

    @app.timer(interval, name=name)
    async def tick() -> None:
        if app.rebalancing:
            return
        payload = value()
        owned = app.assignor.assigned_actives()
        for topic in targets:
            topic_name = topic.get_topic_name()
            for tp in owned:
                if tp.topic == topic_name:
                    await topic.send(value=payload, partition=tp.partition, headers=[(TICK_HEADER, TICK)])
