"""The review pages' logic (agents.notify.review.ReviewDesk) against a real Redis: a link shows its
violation, one POST records one verdict and any later one is refused, forged, expired and unknown
links record nothing, and a verdict the broker did not take releases the link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import redis.asyncio

from agents.notify.review import ReviewDesk
from agents.stores.keys import RedisKeys
from agents.stores.review import ReviewStore
from streams.notify.config import load_notify_config
from streams.notify.model import Recipient
from streams.review.links import LinkSigner, ReviewLinks
from tests.reference_doubles import StaticReference
from tests.support import sample_violation
from topics.codec import encode
from topics.feedback import decode_feedback
from topics.timeutil import parse_ts

CONFIG = load_notify_config()
SIGNER = LinkSigner("integration-review-secret-0123456789")
LINKS = ReviewLinks(SIGNER, "http://127.0.0.1:1", CONFIG.review)
OWNER = Recipient("owner", "E0004", "吴婷(群主)", "E0004", name="吴婷")
SUBJECT = Recipient("subject", "E0006", "王磊(当事人)", "E0006", account="wx_wanglei", name="王磊")
# Detected a minute ago: Redis keeps it until its links expire, by the real clock.
VIOLATION = sample_violation(
    detected_at=(datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
)
DETECTED = parse_ts(VIOLATION.detected_at).timestamp()


class Broker:
    """Takes produced records, or refuses the next `failures` of them."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes]] = []
        self.failures = 0

    async def produce(self, key: bytes, value: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker away")
        self.records.append((key, value))


async def desk(redis_url: str, now: float = DETECTED + 60) -> tuple[ReviewDesk, ReviewStore, Broker]:
    store = ReviewStore(redis.asyncio.Redis.from_url(redis_url), RedisKeys("qgt"))
    await store.keep(VIOLATION.violation_id, encode(VIOLATION), LINKS.expires(VIOLATION) or 0)
    broker = Broker()
    return (
        ReviewDesk(SIGNER, CONFIG, store, StaticReference.sample(), broker.produce, lambda: now),
        store,
        broker,
    )


def token(recipient: Recipient = OWNER) -> str:
    links = LINKS.links(VIOLATION, recipient)
    assert links is not None
    return links.page.rsplit("/", 1)[1]


async def test_show_then_record_one_verdict(redis_url: str) -> None:
    review, store, broker = await desk(redis_url)
    shown = await review.show(token(), "false_positive")
    assert (shown.outcome, shown.status) == ("shown", 200)
    assert "赌博信息" in shown.page and "审核人:吴婷(群主)" in shown.page and broker.records == []

    done = await review.record(token(), "false_positive", "  正常讨论 ")
    assert (done.outcome, done.status) == ("recorded", 200) and "已提交" in done.page
    ((key, value),) = broker.records
    verdict = decode_feedback(value)
    assert key == b"g-sales" and verdict.to_dict() | {"ts": None} == {
        "kind": "verdict", "feedback_id": LINKS.grant(VIOLATION, OWNER).feedback_id, "ts": None,
        "violation_id": "v-1", "group_id": "g-sales", "verdict": "false_positive", "reviewer_id": "E0004",
        "note": "正常讨论",
    }  # fmt: skip

    link_id = LINKS.grant(VIOLATION, OWNER).link_id  # type: ignore[union-attr]
    used = orjson.loads(await store.client.get(f"qgt:review:used:{link_id}"))  # docs/redis.md
    assert used["verdict"] == "false_positive" and await store.client.exists("qgt:review:violation:v-1")
    for verdict in ("false_positive", "confirmed"):  # a double click, or a change of mind
        again = await review.record(token(), verdict, "")
        assert (again.outcome, again.status) == ("used", 403) and "「误报」,该结果已记录" in again.page
    reopened = await review.show(token(), "")
    assert (reopened.outcome, reopened.status) == ("used", 403) and len(broker.records) == 1


async def test_forged_expired_and_unknown_links_record_nothing(redis_url: str) -> None:
    review, store, broker = await desk(redis_url)
    real = token()
    for forged in (real[:-2] + "xx", real.replace(".", ".A"), "garbage"):
        for answer in (await review.show(forged, ""), await review.record(forged, "false_positive", "")):
            assert (answer.outcome, answer.status) == ("forged", 403) and "链接无效" in answer.page

    late, _, _ = await desk(redis_url, now=DETECTED + 72 * 3600 + 1)
    expired = await late.record(real, "false_positive", "")
    assert (expired.outcome, expired.status) == ("expired", 403) and "72 小时" in expired.page

    await store.client.delete(RedisKeys("qgt").review_violation("v-1"))
    missing = await review.record(real, "false_positive", "")
    assert (missing.outcome, missing.status) == ("missing", 404)
    assert broker.records == [] and await store.used(LINKS.grant(VIOLATION, OWNER).link_id) is None


async def test_a_verdict_the_broker_did_not_take_leaves_the_link_usable(redis_url: str) -> None:
    review, _, broker = await desk(redis_url)
    broker.failures = 1
    failed = await review.record(token(), "confirmed", "")
    assert (failed.outcome, failed.status) == ("unavailable", 503) and broker.records == []
    retried = await review.record(token(), "confirmed", "")
    assert retried.outcome == "recorded" and orjson.loads(broker.records[0][1])["verdict"] == "confirmed"


async def test_an_appeal_is_a_false_positive_request_noted_appeal(redis_url: str) -> None:
    review, _, broker = await desk(redis_url)
    assert (await review.record(token(SUBJECT), "confirmed", "")).outcome == "bad_request"
    shown = await review.show(token(SUBJECT), "")
    assert "申诉" in shown.page and "审核人:王磊(当事人)" in shown.page
    done = await review.record(token(SUBJECT), "false_positive", "我没有违规")
    assert done.outcome == "recorded" and "申诉已提交" in done.page
    record = orjson.loads(broker.records[0][1])
    assert (record["verdict"], record["reviewer_id"], record["note"]) == ("false_positive", "E0006", "appeal")
