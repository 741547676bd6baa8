"""agents.runtime.transport and the Faust options that bound a burst (docs/runtime.md, "Bursts"):
polls of at most MAX_POLL_RECORDS, commits from the commit timer only, a flush before a commit
that waits for what was sent before it and not for what is sent meanwhile, and a poll counted
after a revocation so that aiokafka rejoins however long the revocation took."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import faust
from aiokafka.consumer.subscription_state import SubscriptionState
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import FutureMessage

from agents.connect.settings import Settings
from agents.runtime import ticks, transport
from agents.runtime.app import MAX_POLL_RECORDS, app_options


def app() -> faust.App:
    return faust.App("qg-unit-transport", **app_options(Settings()))


def test_polls_are_bounded_and_both_clients_are_ours() -> None:
    built = app()
    assert built.conf.broker_max_poll_records == MAX_POLL_RECORDS
    assert isinstance(built.consumer, transport.Consumer) and isinstance(built.producer, transport.Producer)


def test_the_fetch_loop_never_commits() -> None:
    assert (
        app().consumer._commit_every is None
    )  # Faust's default: a commit every 10,000 acks, in the fetch loop


async def test_a_flush_waits_for_what_was_sent_before_it_only() -> None:
    producer = app().producer
    earlier, later = FutureMessage(SimpleNamespace()), FutureMessage(SimpleNamespace())
    producer.send_soon(earlier)  # a table write, say
    flush = asyncio.create_task(producer.flush())
    await asyncio.sleep(0)
    producer.send_soon(later)  # written while the commit flushes
    await asyncio.sleep(0.05)
    assert not flush.done()
    earlier.set_result(None)  # acknowledged by the broker
    await asyncio.wait_for(flush, 1)  # returns although `later` is still unsent
    assert not later.done()


async def test_a_revocation_counts_as_a_poll(monkeypatch) -> None:
    async def revoke(self, revoked) -> None:
        pass  # Faust's part: the app's revocation (waiting for the agents, flushing)

    monkeypatch.setattr(faust_aiokafka.AIOKafkaConsumerThread, "on_partitions_revoked", revoke)
    subscription = SubscriptionState()
    subscription._last_fetch_ended = time.monotonic() - 60  # nothing polled during a long revocation
    thread = transport.ConsumerThread.__new__(transport.ConsumerThread)
    monkeypatch.setattr(
        thread, "_ensure_consumer", lambda: SimpleNamespace(_subscription=subscription), raising=False
    )
    assert subscription.fetcher_idle_time >= 60  # aiokafka would not rejoin
    await thread.on_partitions_revoked(set())
    assert subscription.fetcher_idle_time < 5


def test_ticks_are_not_counted_as_work(monkeypatch) -> None:
    """The stall guard calls an app idle when `acks_total` stands still: the app's own ticks must
    not move it (a notifier ticking its digests every second never looked idle)."""
    monkeypatch.setattr(faust_aiokafka.Consumer, "ack", lambda self, message: True)
    consumer = app().consumer
    tick = SimpleNamespace(headers=[(ticks.TICK_HEADER, ticks.TICK)])
    record = SimpleNamespace(headers=None)
    consumer.ack(tick)
    consumer.ack(SimpleNamespace(headers={ticks.TICK_HEADER: ticks.TICK}))
    assert consumer.acks_total == 0
    consumer.ack(record)
    assert consumer.acks_total == 1
