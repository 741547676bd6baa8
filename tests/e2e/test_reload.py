"""End to end: a running worker picks up a changed dictionary without a restart, and keeps the
previous dictionaries when a file is broken. Needs agents/worker/app.py to call
agents.worker.reload.register_reload(app, detectors)."""

from __future__ import annotations

import re
import shutil
import time

import orjson
from confluent_kafka import Producer

from agents.connect.kafka import producer_config
from agents.dev.embedded import free_port, worker
from config import CONFIG_DIR
from tests.support import Reader, e2e_settings, load_sample, message, wait_for
from topics.catalog import MESSAGES, VIOLATIONS

# A made-up name no content rule knows, nor will: the shipped lexicons grow while this suite runs,
# and a real gambling word (the old 斗蛐蛐押钱局) came to fire before the test had added it.
NEW_TERM = "紫藤花茶会"


def test_dictionary_change_reaches_a_running_worker(
    bootstrap: str, redis_url: str, unique: str, tmp_path
) -> None:
    folder = tmp_path / "dictionaries"
    shutil.copytree(CONFIG_DIR / "dictionaries", folder)
    policy = (CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")
    policy = policy.replace('dictionaries = "dictionaries"', f'dictionaries = "{folder}"')
    policy = re.sub(r"(?m)^reload_seconds = .*$", "reload_seconds = 1", policy)
    (tmp_path / "policy.toml").write_text(policy, encoding="utf-8")
    settings = e2e_settings(
        bootstrap, redis_url, f"qg-e2e-reload-{unique}", web_port=free_port(),
        policy_path=str(tmp_path / "policy.toml"),
    )  # fmt: skip
    load_sample(settings)
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

    def send_until_fired(reader: Reader, text: str, timeout: float = 120.0) -> None:
        """Send the text again every 3 s until a copy fires: the poll interval decides when, not
        the test. The reader goes on where it stopped, so no read starts over."""
        tries: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tries.add(send(f"{text} 第{len(tries)}次"))
            if fired(reader.until(lambda seen: bool(fired(seen, tries)), timeout=3.0), tries):
                return
        raise AssertionError(f"no violation for {text!r} after {len(tries)} messages")

    proc = worker(tmp_path, settings.env()).start()
    try:
        with Reader(bootstrap) as reader:
            before, sentinel = send(f"周末一起去{NEW_TERM}"), send("今晚一起买六合彩")
            msgs = reader.until(lambda seen: bool(fired(seen, {sentinel})))
            assert fired(msgs, {sentinel}) == {sentinel}, proc.log_path.read_text()[-3000:]
            assert not fired(msgs, {before})  # the new term is not in the dictionaries yet

            gambling = folder / "gambling.txt"
            gambling.write_text(f"{NEW_TERM}\n" + gambling.read_text(encoding="utf-8"), encoding="utf-8")
            send_until_fired(reader, f"周末一起去{NEW_TERM}")

            (folder / "porn.txt").write_text("@near undeclared other within 3\n", encoding="utf-8")
            # the poll has seen the broken file (it must keep the old dictionaries)
            wait_for(
                lambda: "not reloaded" in proc.log_path.read_text(), 60, "a refused reload", proc.log_path
            )
            send_until_fired(reader, f"下周再去{NEW_TERM}")
        assert proc.running, proc.log_path.read_text()[-3000:]
    finally:
        proc.stop()
