"""The router with review links on: each message carries its recipient's links, and the violation
is kept for the review page before any message is forwarded (only while its links live)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from agents.notify.flow import NotifyRouter
from agents.runtime.deadletter import MemoryDeadLetterSink
from agents.runtime.records import RawRecord
from streams.notify.config import load_notify_config
from streams.review.links import LinkSigner, ReviewLinks
from tests.reference_doubles import StaticReference
from tests.support import sample_violation
from topics.catalog import VIOLATIONS
from topics.codec import encode

CONFIG = load_notify_config()
LINKS = ReviewLinks(LinkSigner("unit-review-secret-0123456789"), "http://notifier:6067", CONFIG.review)


class Keeper:
    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.kept: dict[str, tuple[bytes, int]] = {}

    async def keep(self, violation_id: str, record: bytes, expires: int) -> None:
        self.events.append(f"keep {violation_id}")
        self.kept[violation_id] = (record, expires)


async def route(detected_at: str) -> tuple[list[str], Keeper, list[dict]]:
    events: list[str] = []
    keeper = Keeper(events)
    notices: list[dict] = []

    async def forward(address: str, value: bytes) -> None:
        events.append(f"forward {address}")
        notices.append(orjson.loads(value))

    router = NotifyRouter(CONFIG, StaticReference.sample(), forward, MemoryDeadLetterSink(), LINKS, keeper)
    value = encode(sample_violation("media.large_file", detected_at=detected_at, evidence={"size": 78643200}))
    await router.handle(RawRecord(VIOLATIONS.name, 0, 0, b"g-sales", value))
    return events, keeper, notices


async def test_messages_carry_links_and_the_violation_is_kept_first() -> None:
    now = datetime.now(UTC)
    events, keeper, notices = await route(now.isoformat(timespec="seconds"))
    assert events[0] == "keep v-1" and len(events) == 1 + len(notices) == 4  # owner, admin, subject
    record, expires = keeper.kept["v-1"]
    assert orjson.loads(record)["violation_id"] == "v-1"
    assert expires == int(now.timestamp()) + 72 * 3600
    by_role = {n["recipient"]["role"]: n for n in notices}
    assert "http://notifier:6067/review/" in by_role["owner"]["line"]  # low severity: a digest item
    assert "审核或申诉:http://notifier:6067/review/" in by_role["subject"]["line"]


async def test_links_of_an_old_violation_are_made_but_nothing_is_kept() -> None:
    events, keeper, notices = await route((datetime.now(UTC) - timedelta(days=4)).isoformat())
    assert keeper.kept == {} and all(e.startswith("forward") for e in events)
    assert all("/review/" in n["line"] for n in notices)  # its page will say: expired


def test_links_and_keeper_come_together() -> None:
    async def forward(address: str, value: bytes) -> None: ...

    with pytest.raises(ValueError):
        NotifyRouter(CONFIG, StaticReference.sample(), forward, MemoryDeadLetterSink(), LINKS)


def test_review_links_from_the_settings() -> None:
    from agents.connect.settings import Settings
    from agents.notify.run import NotifySettings, review_links

    web = Settings(web_port=6067)
    assert review_links(NotifySettings(), web, CONFIG) is None  # no secret, no links
    found = review_links(NotifySettings(review_secret="s" * 16), web, CONFIG)
    assert found is not None and found.base_url == "http://127.0.0.1:6067"
    container = Settings(web_port=6067, web_host="0.0.0.0")
    assert review_links(NotifySettings(review_secret="s" * 16), container, CONFIG) is None
    told = NotifySettings(review_secret="s" * 16, review_base_url="https://qg.example.com/notify/")
    assert review_links(told, container, CONFIG).base_url == "https://qg.example.com/notify"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        review_links(NotifySettings(review_secret="short"), web, CONFIG)
    env = {"QUNGUARD_REVIEW_SECRET": "s" * 16, "QUNGUARD_REVIEW_BASE_URL": "https://x"}
    assert NotifySettings.from_env(env) == NotifySettings(review_secret="s" * 16, review_base_url="https://x")
    assert "s" * 16 not in repr(NotifySettings.from_env(env))
