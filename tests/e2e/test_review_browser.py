"""Review links in a real browser: a notifier (broker, Redis, `qunguard notify` process) sends its
messages with signed links; headless Chromium (Debian's chromium and chromium-driver, driven by
selenium) opens the 误报 link of the group owner's message, sees the violation, clicks 误报, and
the verdict arrives on moderation.feedback. A tampered link and an expired one get the 403 page
and record nothing, and so does the used link opened again. Screenshots of each page, at a
desktop and a phone size, go to /tmp/qg-review-shots/ for people to look at."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config
from agents.dev.embedded import free_port, notifier, tansu
from agents.intake.loaders import load_ledger, load_roster
from agents.notify.run import NotifySettings
from config import SAMPLE_DIR
from streams.notify.config import DEFAULT_NOTIFY_CONFIG
from tests.support import Reader, e2e_settings, wait_for
from topics.catalog import FEEDBACK, VIOLATIONS
from topics.feedback import decode_feedback

SHOTS = Path("/tmp/qg-review-shots")
SECRET = "e2e-review-secret-0123456789abcdef"
DESKTOP = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


@pytest.fixture(scope="module")
def review_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker of its own: the notifier's fresh group reads only this test's violations."""
    service = tansu(tmp_path_factory.mktemp("review-broker")).start()
    yield f"127.0.0.1:{service.port}"
    service.stop()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,800", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=DriverService("/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def violation(vid: str, detected: datetime) -> bytes:
    stamp = detected.isoformat(timespec="seconds")
    return orjson.dumps({
        "violation_id": vid, "rule": "content.gambling", "severity": "high", "actions": ["recall_message"],
        "group_id": "g-sales", "subject_id": "wx_wanglei", "employee_id": "E0006",
        "source_event_ids": [f"{vid}-m"], "event_ts": stamp, "detected_at": stamp,
        "clause": "D1.3 D2.7.2.4 D4.3.11", "evidence": {"terms": ["六合彩"], "excerpt": "今晚一起买六合彩,稳赚"},
        "policy_version": "e2e",
    })  # fmt: skip


def links_in(messages: str, vid: str, recipient: str) -> dict[str, str]:
    """The links of the message about `vid` to `recipient` in the log sink's text."""
    for block in messages.split("──── 通知 → ")[1:]:
        if block.startswith(recipient) and f"违规编号:{vid}" in block:
            return dict(re.findall(r"^(确认违规|标记误报):(\S+)$", block, re.M))
    return {}


def status_of(url: str, form: dict[str, str] | None = None) -> int:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def shoot(driver: webdriver.Chrome, name: str) -> None:
    """Screenshots of the current page at a desktop and a phone size (and the phone's whole page
    when it is longer than the screen)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, metrics in (("desktop", DESKTOP), ("phone", PHONE)):
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        driver.save_screenshot(str(SHOTS / f"{name}-{size}.png"))
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    if height > PHONE["height"]:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**PHONE, "height": height})
        driver.save_screenshot(str(SHOTS / f"{name}-phone-full.png"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", DESKTOP)


def page_text(driver: webdriver.Chrome) -> str:
    """The page's text; "" while a navigation replaces the page under the lookup (a click on a
    form button), so that a wait polls again."""
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except StaleElementReferenceException:
        return ""


def test_a_reviewer_clicks_false_positive_in_a_browser(
    review_bootstrap: str, redis_url: str, unique: str, tmp_path: Path, browser: webdriver.Chrome
) -> None:
    bootstrap = review_bootstrap
    port = free_port()
    settings = e2e_settings(bootstrap, redis_url, f"qg-review-{unique}", web_port=port, log_format="text")
    create_topics(bootstrap)
    load_ledger(SAMPLE_DIR / "ledger.csv", settings)
    load_roster(SAMPLE_DIR / "roster.csv", settings, publish=False)
    out = tmp_path / "messages.txt"
    config = tmp_path / "notify.toml"
    text = DEFAULT_NOTIFY_CONFIG.read_text(encoding="utf-8")
    config.write_text(re.sub(r'(?m)^path = "-"', f"path = {orjson.dumps(str(out)).decode()}", text), "utf-8")

    now = datetime.now(UTC)
    producer = Producer(producer_config(bootstrap, "review-e2e"))
    producer.produce(VIOLATIONS.name, key=b"g-sales", value=violation("v-live", now))
    producer.produce(VIOLATIONS.name, key=b"g-sales", value=violation("v-old", now - timedelta(hours=73)))
    assert producer.flush(10) == 0

    notify = NotifySettings(str(config), f"qg-review-notify-{unique}", review_secret=SECRET)
    proc = notifier(tmp_path, {**settings.env(), **notify.env()}).start()
    feedback = Reader(bootstrap, (FEEDBACK.name,))
    try:
        log = proc.log_path

        def messages() -> str:
            return out.read_text(encoding="utf-8") if out.exists() else ""

        owner = wait_for(lambda: links_in(messages(), "v-live", "吴婷(群主)"), 90, "the owner's message", log)
        admin = wait_for(lambda: links_in(messages(), "v-live", "郑浩(群管理员)"), 30, "the admin's", log)
        old = wait_for(lambda: links_in(messages(), "v-old", "吴婷(群主)"), 30, "the old violation's", log)
        wait_for(lambda: status_of(f"http://127.0.0.1:{port}/healthz") == 200, 30, "the web server", log)
        false_positive = owner["标记误报"]
        assert false_positive.startswith(f"http://127.0.0.1:{port}/review/")
        assert owner["确认违规"] == false_positive.replace("verdict=false_positive", "verdict=confirmed")

        # The page, as the owner opens it from the message.
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", DESKTOP)
        browser.get(false_positive)
        shown = page_text(browser)
        for expected in ("群规违规审核", "审核人:吴婷(群主)", "您在通知中点击了「误报」", "赌博信息(content.gambling)",
                         "销售部工作群(g-sales)", "《公司微信群管理制度》三、11", "今晚一起买六合彩", "v-live"):  # fmt: skip
            assert expected in shown, (expected, shown)
        buttons = browser.find_elements(By.CSS_SELECTOR, "button[name='verdict']")
        assert [b.text for b in buttons] == ["确认", "误报"]
        shoot(browser, "review")

        browser.find_element(By.CSS_SELECTOR, "button[value='false_positive']").click()
        WebDriverWait(browser, 20).until(lambda d: "审核结果已记录" in page_text(d))
        assert "您的审核结果「误报」已提交" in page_text(browser)
        shoot(browser, "recorded")

        (record,) = feedback.until(lambda found: found, timeout=60)
        verdict = decode_feedback(record.value())
        assert record.key() == b"g-sales"
        assert (verdict.kind, verdict.violation_id, verdict.group_id, verdict.verdict, verdict.reviewer_id) == (
            "verdict", "v-live", "g-sales", "false_positive", "E0004",
        )  # fmt: skip
        assert verdict.feedback_id.startswith("f-") and verdict.note == ""

        # Refused, with nothing recorded: the used link again, a tampered link, an expired link.
        browser.get(false_positive)
        assert "链接已使用" in page_text(browser) and "「误报」" in page_text(browser)
        shoot(browser, "forbidden-used")
        head, signature = false_positive.split("?")[0].rsplit(".", 1)
        tampered = f"{head}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}?verdict=false_positive"
        browser.get(tampered)
        assert "链接无效" in page_text(browser) and "本次操作没有记录任何审核结果" in page_text(browser)
        shoot(browser, "forbidden-tampered")
        browser.get(old["标记误报"])
        assert "链接已过期" in page_text(browser) and "72 小时" in page_text(browser)
        shoot(browser, "forbidden-expired")
        for url in (false_positive, tampered, old["标记误报"]):
            assert status_of(url) == 403, url
            assert status_of(url, {"verdict": "false_positive"}) == 403, url

        # The admin then confirms: the next record on the topic is theirs, so none came between.
        assert status_of(admin["确认违规"], {"verdict": "confirmed"}) == 200
        records = feedback.until(lambda found: len(found) >= 2, timeout=60)
        assert [decode_feedback(r.value()).reviewer_id for r in records] == ["E0004", "E0005"]
        assert decode_feedback(records[1].value()).verdict == "confirmed"
    finally:
        feedback.close()
        proc.stop(timeout=20)
