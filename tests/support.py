"""Helpers for end-to-end tests: build input events and read output topics until a condition holds."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import orjson
from confluent_kafka import Consumer

from agents.connect.kafka import reader_config
from topics.catalog import DEADLETTER, VIOLATIONS


def message(event_id: str, group: str, sender: str, text: str) -> bytes:
    return orjson.dumps(
        {"kind": "message", "event_id": event_id, "ts": "2026-11-23T10:00:00+08:00", "group_id": group,
         "sender_id": sender, "sender_name": "", "text": text}
    )  # fmt: skip


def self_signed_certificate(folder: Path) -> tuple[str, str]:
    """A certificate for localhost and 127.0.0.1 and its unencrypted key (PEM files, via openssl);
    it serves as its own CA."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def read_until(
    bootstrap: str, done, timeout: float = 90.0, topics: tuple[str, ...] = (VIOLATIONS.name, DEADLETTER.name)
) -> list:
    """Messages of `topics` (from the start) until `done(messages)` holds or `timeout` passes."""
    consumer = Consumer(reader_config(bootstrap, "e2e"))
    consumer.subscribe(list(topics))
    seen: list = []
    deadline = time.monotonic() + timeout
    try:
        while not done(seen) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                seen.append(msg)
    finally:
        consumer.close()
    return seen


def violations_for(bootstrap: str, event_ids: set[str], timeout: float = 60.0) -> list[dict]:
    """Violation records whose source events include one of `event_ids`, read until one shows up."""

    def ours(msgs) -> list[dict]:
        found = [orjson.loads(m.value()) for m in msgs if m.topic() == VIOLATIONS.name]
        return [v for v in found if set(v["source_event_ids"]) & event_ids]

    return ours(read_until(bootstrap, ours, timeout=timeout))
