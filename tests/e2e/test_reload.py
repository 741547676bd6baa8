"""End to end: a running worker picks up a changed dictionary without a restart, and keeps the
previous dictionaries when a file is broken. Needs agents/worker/app.py to call
agents.worker.reload.register_reload(app, detectors)."""

from __future__ import annotations

import re
import shutil
import time

import orjson
from confluent_kafka import Producer

from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config
from agents.connect.settings import Settings
from agents.dev.embedded import free_port, worker
from agents.intake.loaders import load_ledger, load_roster
from config import CONFIG_DIR, SAMPLE_DIR
from tests.support import message, read_until
from topics.catalog import MESSAGES, VIOLATIONS

NEW_TERM = "斗蛐蛐押钱局"


def test_dictionary_change_reaches_a_running_worker(
    bootstrap: str, redis_url: str, unique: str, tmp_path
) -> None:
    folder = tmp_path / "dictionaries"
    shutil.copytree(CONFIG_DIR / "dictionaries", folder)
    policy = (CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")
    policy = policy.replace('dictionaries = "dictionaries"', f'dictionaries = "{folder}"')
    policy = re.sub(r"(?m)^reload_seconds = .*$", "reload_seconds = 1", policy)
    (tmp_path / "policy.toml").write_text(policy, encoding="utf-8")
    settings = Settings(
        kafka_bootstrap=bootstrap, redis_url=redis_url, app_id=f"qg-e2e-reload-{unique}",
        session_timeout=6.0, max_poll_interval=10.0, commit_interval=0.5, web_port=free_port(),
        policy_path=str(tmp_path / "policy.toml"),
    )  # fmt: skip
    create_topics(bootstrap)
    load_ledger(SAMPLE_DIR / "ledger.csv", settings)
    load_roster(SAMPLE_DIR / "roster.csv", settings)
    producer = Producer(producer_config(bootstrap, "e2e-reload"))
    sent: list[str] = []

    def send(text: str) -> str:
        event_id = f"{unique}-r{len(sent)}"
        sent.append(event_id)
        producer.produce(
            MESSAGES.name, key=b"g-sales", value=message(event_id, "g-sales", "wx_wanglei", text)
        )
        assert producer.flush(10) == 0
        return event_id

    def fired(msgs, ids: set[str]) -> set[str]:
        found = [orjson.loads(m.value()) for m in msgs if m.topic() == VIOLATIONS.name]
        found = [v for v in found if v["rule"] == "content.gambling"]  # not flood.duplicate
        return {e for v in found for e in v["source_event_ids"] if e in ids}

    def send_until_fired(text: str, attempts: int = 8) -> tuple[str, list]:
        """Send the text until one copy fires: the poll interval decides when, not the test. Each
        read starts at the beginning of the shared violations topic, which late in a full run
        holds the bursts' thousands of records: a read gets 20 s, not the 4 s it once had."""
        tries: set[str] = set()
        for attempt in range(attempts):
            tries.add(send(f"{text} 第{attempt}次"))
            msgs = read_until(bootstrap, lambda seen: bool(fired(seen, tries)), timeout=20.0)
            if fired(msgs, tries):
                return next(iter(fired(msgs, tries))), msgs
        raise AssertionError(f"no violation for {text!r} after {attempts} messages")

    proc = worker(tmp_path, settings.env()).start()
    try:
        before, sentinel = send(f"周末一起玩{NEW_TERM}"), send("今晚一起买六合彩")
        msgs = read_until(bootstrap, lambda seen: bool(fired(seen, {sentinel})))
        assert fired(msgs, {sentinel}) == {sentinel}, proc.log_path.read_text()[-3000:]
        assert not fired(msgs, {before})  # the new term is not in the dictionaries yet

        gambling = folder / "gambling.txt"
        gambling.write_text(f"{NEW_TERM}\n" + gambling.read_text(encoding="utf-8"), encoding="utf-8")
        send_until_fired(f"周末一起玩{NEW_TERM}")

        (folder / "porn.txt").write_text("@near undeclared other within 3\n", encoding="utf-8")
        time.sleep(2.5)  # let the poll see the broken file (it must keep the old dictionaries)
        send_until_fired(f"下周再玩{NEW_TERM}")
        assert proc.running, proc.log_path.read_text()[-3000:]
        assert "not reloaded" in proc.log_path.read_text()
    finally:
        proc.stop()
