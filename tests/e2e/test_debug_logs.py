"""Logs never carry a record: a worker at QUNGUARD_LOG_LEVEL=debug, fed a message with chat text
and a resident ID number over the broker, writes neither (nor their byte or JSON escapes) to its
log, with QUNGUARD_LOG_MESSAGE_TEXT=0 (the default)."""

from __future__ import annotations

import json

import orjson
from confluent_kafka import Producer

from agents.connect.kafka import producer_config
from agents.dev.embedded import worker
from tests.support import e2e_settings, load_sample, message, violations_for
from topics.catalog import MESSAGES

ID_NUMBER = "440306199003072315"  # an 18-digit resident ID number with a valid check digit
CHAT = "帮我订明天去杭州的机票"


def forms(text: str) -> list[str]:
    """How `text` may show up in a log line: as is, as UTF-8 byte escapes (a bytes repr), as JSON
    \\u escapes, and as a str repr."""
    return [
        text,
        repr(text.encode("utf-8"))[2:-1],
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        repr(text)[1:-1],
    ]


def test_debug_log_holds_no_chat_text_and_no_id_number(bootstrap: str, redis_url: str, unique: str, tmp_path):
    settings = e2e_settings(bootstrap, redis_url, f"qg-logs-{unique}", log_level="debug")
    assert settings.log_message_text == 0
    load_sample(settings, publish=False)
    proc = worker(tmp_path, settings.env()).start()
    try:
        event_id = f"{unique}-id"
        producer = Producer(producer_config(bootstrap, "logs-test"))
        text = f"{CHAT},身份证 {ID_NUMBER}"
        producer.produce(
            MESSAGES.name, key=b"g-sales", value=message(event_id, "g-sales", "wx_wanglei", text)
        )
        assert producer.flush(10) == 0
        found = violations_for(bootstrap, {event_id})
        assert [v["rule"] for v in found if v["rule"].startswith("content.")] == ["content.confidential"]
    finally:
        proc.stop()
    lines = proc.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    docs = [orjson.loads(line) for line in lines if line.startswith("{")]
    assert any(d["level"] == "debug" for d in docs)  # the run did log at debug
    assert any(d["logger"].startswith(("faust", "aiokafka")) for d in docs)  # the libraries too
    # Each line as written and as its JSON decodes (a bytes repr's \\x escapes become \x again).
    written = [*lines, *("\n".join(map(str, d.values())) for d in docs)]
    for leak in (*forms(CHAT), *forms(CHAT[:4]), ID_NUMBER):
        found = [line[:600] for line in written if leak in line]
        assert not found, f"{leak!r} in the worker's debug log:\n" + "\n".join(found[:5])
