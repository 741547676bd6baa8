"""Delivery against a real Redis (dedupe) with in-process sinks: retries, dead letters, dedupe per
message and sink after a partial failure, and digests kept in a plain dict as the table."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import orjson
import redis.asyncio

from agents.notify.delivery import Deliverer
from agents.notify.flow import RecipientDesk
from agents.runtime.records import RawRecord
from agents.stores.dedupe import SentStore
from agents.stores.keys import RedisKeys
from streams.notify.backoff import DELIVERED, Outcome
from streams.notify.config import DeliveryPolicy, DigestPolicy, Role, SinkSpec, load_notify_config
from streams.notify.model import Recipient
from streams.notify.render import render_notice
from tests.support import SAMPLE_LEDGER as LEDGER
from tests.support import SAMPLE_ROSTER as ROSTER
from tests.support import sample_violation as violation

OWNER = Recipient("owner", "E0004", "吴婷(群主)", "E0004", name="吴婷")


class ListSink:
    """Records what it is sent; fails its first `failures` sends (retryable unless `permanent`)."""

    def __init__(self, name: str, failures: int = 0, permanent: bool = False) -> None:
        self.name, self.failures, self.permanent = name, failures, permanent
        self.sent: list[str] = []
        self.calls = 0

    async def send(self, notice) -> Outcome:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            return Outcome(False, not self.permanent, "HTTP 500" if not self.permanent else "HTTP 404")
        self.sent.append(notice.message_id)
        return DELIVERED

    async def close(self) -> None:
        pass


class ListDeadLetters:
    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None, dict]] = []

    async def send(self, key, value, headers) -> None:
        self.records.append((key, value, dict(headers)))


def setup(redis_url: str, sinks: list[ListSink], **delivery):
    config = load_notify_config()
    roles = {**config.roles, "owner": Role("owner", "群主", "manager", tuple(s.name for s in sinks))}
    config = replace(
        config,
        roles=roles,
        sinks={s.name: SinkSpec(s.name, "log") for s in sinks},
        delivery=DeliveryPolicy(attempts=4, backoff_base_seconds=0.5, backoff_max_seconds=1.0, **delivery),
        digest=DigestPolicy(interval_seconds=60, max_items=3),
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = redis.asyncio.Redis.from_url(redis_url)
    dead = ListDeadLetters()
    deliverer = Deliverer(
        config, {s.name: s for s in sinks}, SentStore(client, RedisKeys("qgt"), 3600), dead, sleep=sleep
    )
    return config, deliverer, dead, waits


async def test_retries_with_backoff_then_delivers_once(redis_url: str) -> None:
    sink = ListSink("hook", failures=3)
    config, deliverer, dead, waits = setup(redis_url, [sink])
    notice = render_notice(violation(), OWNER, config, ROSTER, LEDGER)
    await deliverer.deliver(notice)
    await deliverer.deliver(notice)  # redelivered record: already sent
    assert sink.sent == [notice.message_id] and sink.calls == 4
    assert waits == [0.5, 1.0, 1.0] and dead.records == []


async def test_gives_up_to_the_dead_letter_topic(redis_url: str) -> None:
    retrying, permanent = ListSink("a", failures=99), ListSink("b", failures=99, permanent=True)
    config, deliverer, dead, _ = setup(redis_url, [retrying, permanent])
    notice = render_notice(violation(), OWNER, config, ROSTER, LEDGER)
    await deliverer.deliver(notice)
    assert retrying.calls == 4 and permanent.calls == 1  # a 404 is not retried
    reasons = [headers["qg-reason"] for _, _, headers in dead.records]
    assert reasons == [b"sink a: HTTP 500 after 4 attempts", b"sink b: HTTP 404 after 1 attempt"]
    key, value, _ = dead.records[0]
    assert key == b"owner|E0004" and orjson.loads(value)["violation_id"] == "v-1"


async def test_partial_failure_is_retried_without_duplicating_the_sink_that_succeeded(redis_url: str) -> None:
    good, flaky = ListSink("good"), ListSink("flaky", failures=99)
    config, deliverer, _, _ = setup(redis_url, [good, flaky])
    notice = render_notice(violation(), OWNER, config, ROSTER, LEDGER)
    await deliverer.deliver(notice)
    flaky.failures = 0
    await deliverer.deliver(notice)  # the same record again (e.g. after a restart)
    assert good.sent == [notice.message_id] and flaky.sent == [notice.message_id]


async def test_desk_batches_low_severity_into_one_digest(redis_url: str) -> None:
    sink = ListSink("hook")
    config, deliverer, _, _ = setup(redis_url, [sink])
    table: dict = {}
    now = [1000.0]
    desk = RecipientDesk(config, deliverer, table, owns=lambda key, p: True, clock=lambda: now[0])

    def record(rule: str, vid: str) -> RawRecord:
        notice = render_notice(violation(rule, violation_id=vid), OWNER, config, ROSTER, LEDGER)
        return RawRecord("t", 0, 0, b"owner|E0004", orjson.dumps(notice.to_dict()))

    async def handle(rule: str, vid: str) -> None:
        await asyncio.gather(*await desk.handle(record(rule, vid)))  # the deliveries it started

    await handle("content.gambling", "v-high")  # high: at once
    await handle("flood.rate", "v-a")
    await handle("flood.rate", "v-a")  # the same record twice: one item
    await handle("media.large_file", "v-b")
    assert len(sink.sent) == 1 and desk.pending_items() == 2
    assert await desk.flush(0) == []  # not due yet
    now[0] += 60
    started = await desk.flush(0)
    await asyncio.gather(*started)
    assert len(started) == 1 and table == {} and len(sink.sent) == 2
    assert sink.sent[1].startswith("d-")
    await handle("flood.rate", "v-a")  # an item already sent in a digest
    assert table == {}
