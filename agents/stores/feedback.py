"""What applying reviewers' feedback keeps in Redis (streams.feedback.stores; docs/review.md), and the
bundle the worker and the CLI use (`redis_feedback_stores`). Layout (docs/redis.md, keys in
agents.stores.keys):

- `<prefix>:feedback:applied:<feedback_id>` STRING: set once (SET NX) when a feedback record was
  applied, expiring with the violations a verdict may name (`[review] violation_days`): a verdict
  replayed later names a violation nobody keeps, and changes nothing either;
- `<prefix>:feedback:judged:<violation_id>` HASH: the violation's latest verdict (`verdict`,
  `reviewer_id`, `feedback_id`, `at`), expiring like the violation;
- `<prefix>:feedback:counts` HASH: `<rule>|<verdict>` → violations that stand judged so (a later
  different verdict on a violation moves it); changed with the judgement in one Lua script;
- `<prefix>:feedback:examples` HASH: example id → labelled example as JSON (masked), and
  `<prefix>:feedback:examples:order` ZSET: example id → when it was kept; at most `[review]
  max_examples`, none older than `example_days` (the oldest go first).

Synchronous (the CLI's client); the worker calls these through a thread (agents.worker.feedback).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import orjson
import redis

from agents.connect.redis import redis_client
from agents.connect.settings import Settings
from agents.stores.allow import RedisAllowEntries
from agents.stores.keys import RedisKeys
from agents.stores.violations import ViolationStore
from streams.feedback.effects import LabelledExample
from streams.feedback.stores import FeedbackLimits, FeedbackStores
from topics.feedback import Verdict
from topics.timeutil import format_ts
from topics.violation import Violation

# KEYS: judged hash, counts hash; ARGV: verdict, rule, reviewer, feedback id, at, ttl seconds
_JUDGE = """
local previous = redis.call('HGET', KEYS[1], 'verdict')
redis.call('HSET', KEYS[1], 'verdict', ARGV[1], 'reviewer_id', ARGV[3], 'feedback_id', ARGV[4], 'at', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
if previous ~= ARGV[1] then
  if previous then redis.call('HINCRBY', KEYS[2], ARGV[2] .. '|' .. previous, -1) end
  redis.call('HINCRBY', KEYS[2], ARGV[2] .. '|' .. ARGV[1], 1)
end
return previous
"""


class RedisAppliedFeedback:
    def __init__(self, client: redis.Redis, keys: RedisKeys, keep_seconds: float) -> None:
        self.client = client
        self.keys = keys
        self.keep_seconds = max(1, int(keep_seconds))

    def applied(self, feedback_id: str) -> bool:
        return bool(self.client.exists(self.keys.feedback_applied(feedback_id)))

    def mark_applied(self, feedback_id: str) -> None:
        self.client.set(self.keys.feedback_applied(feedback_id), b"1", nx=True, ex=self.keep_seconds)


class RedisReviewTally:
    def __init__(self, client: redis.Redis, keys: RedisKeys, keep_seconds: float) -> None:
        self.client = client
        self.keys = keys
        self.keep_seconds = max(1, int(keep_seconds))
        self._judge = client.register_script(_JUDGE)

    def judge(self, violation: Violation, verdict: Verdict) -> str | None:
        keys = [self.keys.feedback_judged(violation.violation_id), self.keys.feedback_counts]
        args = [verdict.verdict, violation.rule, verdict.reviewer_id, verdict.feedback_id,
                format_ts(verdict.ts), self.keep_seconds]  # fmt: skip
        previous = self._judge(keys=keys, args=args)
        return previous.decode() if isinstance(previous, bytes) else None

    def judgement(self, violation_id: str) -> dict[str, str] | None:
        """The latest verdict on a violation (`verdict`, `reviewer_id`, `feedback_id`, `at`), or None."""
        raw = self.client.hgetall(self.keys.feedback_judged(violation_id))
        return {k.decode(): v.decode() for k, v in raw.items()} or None

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for field, value in sorted(self.client.hgetall(self.keys.feedback_counts).items()):
            rule, _, verdict = field.decode().rpartition("|")
            if int(value) > 0:
                out.setdefault(rule, {})[verdict] = int(value)
        return out


class RedisLabelledExamples:
    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        limits: FeedbackLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.keys = keys
        self.limits = limits
        self.clock = clock

    def add(self, example: LabelledExample) -> None:
        now, data, order = self.clock(), self.keys.labelled_examples, self.keys.labelled_order
        ttl = max(1, int(self.limits.example_seconds))
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(data, example.example_id, orjson.dumps(example.to_dict()))
            pipe.zadd(order, {example.example_id: now})
            pipe.expire(data, ttl)  # nothing added for example_days: every example is too old
            pipe.expire(order, ttl)
            pipe.zrangebyscore(order, "-inf", now - self.limits.example_seconds)
            pipe.zcard(order)
            *_, stale, held = pipe.execute()
        excess = held - len(stale) - self.limits.max_examples
        oldest = self.client.zrange(order, len(stale), len(stale) + excess - 1) if excess > 0 else []
        dropped = [*stale, *oldest]
        if dropped:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hdel(data, *dropped)
                pipe.zrem(order, *dropped)
                pipe.execute()

    def examples(self) -> Iterator[LabelledExample]:
        """The examples kept, oldest first."""
        cutoff = self.clock() - self.limits.example_seconds
        ids = self.client.zrangebyscore(self.keys.labelled_order, f"({cutoff}", "+inf")
        raws = self.client.hmget(self.keys.labelled_examples, ids) if ids else []
        for raw in raws:
            if raw is not None:
                yield LabelledExample.from_mapping(orjson.loads(raw))


def redis_feedback_stores(settings: Settings, limits: FeedbackLimits) -> FeedbackStores:
    """Every feedback store over one Redis client ($REDIS_URL, $QUNGUARD_REDIS_PREFIX)."""
    client, keys = redis_client(settings), RedisKeys(settings.redis_prefix)
    return FeedbackStores(
        applied=RedisAppliedFeedback(client, keys, limits.violation_seconds),
        allow=RedisAllowEntries(client, keys),
        examples=RedisLabelledExamples(client, keys, limits),
        tally=RedisReviewTally(client, keys, limits.violation_seconds),
        violations=ViolationStore(client, keys, limits.violation_seconds),
    )
