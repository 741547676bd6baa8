"""The feedback stores (agents.stores.violations, .allow, .feedback) against a real redis-server:
key layout, expiry, bounds, the judgement tally, the allow cache, and one verdict applied through
streams.feedback.apply over them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import redis
import redis.asyncio

from agents.connect.settings import Settings
from agents.stores.allow import AllowCache, RedisAllowEntries
from agents.stores.feedback import (
    RedisAppliedFeedback,
    RedisLabelledExamples,
    RedisReviewTally,
    redis_feedback_stores,
)
from agents.stores.keys import RedisKeys
from agents.stores.violations import ViolationStore, ViolationWriter
from streams.core.allow import AllowEntry, allow_entry_id
from streams.feedback.apply import APPLIED, REPEATED, decide, keep
from streams.feedback.effects import LabelledExample
from streams.feedback.judges import Judges
from streams.feedback.stores import FeedbackLimits
from tests.support import SAMPLE_LEDGER, sample_violation, shipped_policy
from topics.feedback import CONFIRMED, FALSE_POSITIVE, Verdict

TS = datetime.fromisoformat("2026-11-23T11:00:00+08:00")
KEYS = RedisKeys("acme")


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def verdict(kind: str, feedback_id: str = "f-1", reviewer: str = "E0004", violation: str = "v-1") -> Verdict:
    return Verdict(feedback_id, TS, violation, "g-sales", kind, reviewer)


def entry(
    group: str | None, terms: tuple[str, ...] = ("六合彩",), ts: str = "2026-11-23T11:00:00+08:00"
) -> AllowEntry:
    return AllowEntry(allow_entry_id("content.gambling", group, terms, "x"), "content.gambling", group, terms,
                      "x", "v-1", "f-1", "E0004", ts)  # fmt: skip


def test_violations_are_kept_by_id_listed_newest_first_and_trimmed(redis_url: str) -> None:
    client, clock = redis.Redis.from_url(redis_url), Clock()
    store = ViolationStore(client, KEYS, keep_seconds=100, clock=clock)
    first, second = sample_violation(), sample_violation(violation_id="v-2", group_id="g-rd")
    store.keep(first)
    clock.now += 60
    store.keep(second)
    assert store.violation("v-1") == first and store.violation("v-nope") is None
    assert 0 < client.ttl("acme:violation:v-1") <= 100
    assert [v.violation_id for v in store.recent()] == ["v-2", "v-1"]
    assert [v.violation_id for v in store.recent(lambda v: v.group_id == "g-sales")] == ["v-1"]
    assert [v.violation_id for v in store.recent(limit=1)] == ["v-2"]
    clock.now += 50  # v-1 is older than 100 s: trimmed from the index on the next write
    store.keep(replace(second, violation_id="v-3"))
    assert client.zrange("acme:violations:recent", 0, -1) == [b"v-2", b"v-3"]


async def test_the_workers_writer_keeps_what_the_store_reads(redis_url: str) -> None:
    """The worker keeps violations on its event loop (ViolationWriter); the CLI and the feedback
    agent read them with the synchronous store: one layout, the same trimming."""
    clock = Clock()
    writer = ViolationWriter(redis.asyncio.Redis.from_url(redis_url), KEYS, keep_seconds=100, clock=clock)
    store = ViolationStore(redis.Redis.from_url(redis_url), KEYS, keep_seconds=100, clock=clock)
    first, second = sample_violation(), sample_violation(violation_id="v-2", group_id="g-rd")
    await writer.keep(first)
    clock.now += 60
    await writer.keep(second)
    assert store.violation("v-1") == first
    assert [v.violation_id for v in store.recent()] == ["v-2", "v-1"]
    clock.now += 50
    await writer.keep(replace(second, violation_id="v-3"))
    assert store.client.zrange("acme:violations:recent", 0, -1) == [b"v-2", b"v-3"]
    assert 0 < store.client.ttl("acme:violation:v-3") <= 100
    await writer.client.aclose()


def test_allow_entries_and_the_workers_cache(redis_url: str) -> None:
    store = RedisAllowEntries(redis.Redis.from_url(redis_url), KEYS)
    cache = AllowCache(store)
    assert cache.refresh() and cache.for_group("g-sales") == ()
    group, company = entry("g-sales"), entry(None, ("赌球",), "2026-11-23T12:00:00+08:00")
    store.add(group)
    store.add(company)
    assert [e.entry_id for e in store.entries()] == [group.entry_id, company.entry_id]
    assert store.version() == 2 and store.client.type("acme:allow:entries") == b"hash"
    assert cache.for_group("g-sales") == () and cache.refresh() and not cache.refresh()
    assert set(cache.for_group("g-sales")) == {group, company} and cache.for_group("g-rd") == (company,)
    assert store.for_group("g-rd") == [company]
    assert store.remove(group.entry_id) and not store.remove(group.entry_id)
    assert cache.refresh() and cache.for_group("g-sales") == (company,)
    cache.add(group)  # this worker's own entry is used before the next refresh
    assert set(cache.for_group("g-sales")) == {group, company}


def test_applied_ids_are_set_once_with_an_expiry(redis_url: str) -> None:
    applied = RedisAppliedFeedback(redis.Redis.from_url(redis_url), KEYS, keep_seconds=3600)
    assert not applied.applied("f-1")
    applied.mark_applied("f-1")
    applied.mark_applied("f-1")
    assert applied.applied("f-1") and 0 < applied.client.ttl("acme:feedback:applied:f-1") <= 3600


def test_the_tally_counts_a_violation_once_by_its_latest_verdict(redis_url: str) -> None:
    tally = RedisReviewTally(redis.Redis.from_url(redis_url), KEYS, keep_seconds=3600)
    gambling, ad = sample_violation(), sample_violation("content.ad", violation_id="v-2")
    assert tally.judge(gambling, verdict(CONFIRMED)) is None
    assert tally.judge(gambling, verdict(CONFIRMED, "f-2", "E0005")) == CONFIRMED  # a second reviewer
    assert tally.judge(ad, verdict(CONFIRMED, "f-3", violation="v-2")) is None
    assert tally.counts() == {"content.ad": {CONFIRMED: 1}, "content.gambling": {CONFIRMED: 1}}
    assert tally.judge(gambling, verdict(FALSE_POSITIVE, "f-4")) == CONFIRMED  # moved
    assert tally.counts() == {"content.ad": {CONFIRMED: 1}, "content.gambling": {FALSE_POSITIVE: 1}}
    judged = tally.judgement("v-1")
    assert judged is not None and (judged["verdict"], judged["feedback_id"]) == (FALSE_POSITIVE, "f-4")
    assert tally.judgement("v-nope") is None


def test_labelled_examples_are_bounded_and_expire(redis_url: str) -> None:
    clock = Clock()
    limits = FeedbackLimits(example_seconds=100, max_examples=2)
    examples = RedisLabelledExamples(redis.Redis.from_url(redis_url), KEYS, limits, clock)

    def example(n: int) -> LabelledExample:
        return LabelledExample(f"x-{n}", f"文本{n}", "content.ad", CONFIRMED, "g-sales", f"f-{n}", "E0004",
                               "2026-11-23T11:00:00+08:00")  # fmt: skip

    for n in range(3):
        examples.add(example(n))
        clock.now += 10
    assert [e.example_id for e in examples.examples()] == ["x-1", "x-2"]  # the oldest went first
    examples.add(example(1))  # the same example again: replaced, now the newest
    assert [e.example_id for e in examples.examples()] == ["x-2", "x-1"]
    clock.now += 95  # x-2 is older than 100 s
    assert [e.example_id for e in examples.examples()] == ["x-1"]
    examples.add(example(3))
    assert examples.client.hkeys("acme:feedback:examples") in ([b"x-1", b"x-3"], [b"x-3", b"x-1"])


def test_a_verdict_applied_over_redis(redis_url: str) -> None:
    stores = redis_feedback_stores(Settings(redis_url=redis_url, redis_prefix="acme"), FeedbackLimits())
    stores.violations.keep(sample_violation())
    judges, policy = Judges(), shipped_policy()
    decision = decide(verdict(FALSE_POSITIVE), stores, SAMPLE_LEDGER, policy, judges)
    assert decision.outcome == APPLIED and decision.effects.retraction is not None
    assert keep(decision, stores) and not keep(decision, stores)  # counted once
    stores.applied.mark_applied("f-1")
    assert decide(verdict(FALSE_POSITIVE), stores, SAMPLE_LEDGER, policy, judges).outcome == REPEATED
    assert [e.terms for e in stores.allow.entries()] == [("六合彩",)]
    assert [e.kind for e in stores.examples.examples()] == ["hard_negative"]
    assert stores.tally.counts() == {"content.gambling": {FALSE_POSITIVE: 1}}
