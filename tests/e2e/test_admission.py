"""Admission at the door over the real broker (streams.core.admission): a 2126 timestamp, a record
keyed other than its group and an oversized record are dead-lettered with the reason, and the
far-future record does not switch off flood.rate for the sender's next burst; `qunguard feed`
refuses what the worker would refuse."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from confluent_kafka import Producer

from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config
from agents.dev.embedded import worker
from agents.intake.feed import feed_file
from agents.runtime.deadletter import REASON_HEADER
from tests.support import e2e_settings, load_sample, read_until
from topics.catalog import DEADLETTER, MESSAGES, VIOLATIONS

FUTURE = "2126-01-01T00:00:00+08:00"


def message(event_id: str, group: str, ts: str, **fields: Any) -> bytes:
    return orjson.dumps({"kind": "message", "event_id": event_id, "ts": ts, "group_id": group,
                         "sender_id": "wx_wanglei", "text": f"{event_id} 进度同步", **fields})  # fmt: skip


def test_out_of_bounds_mismatched_and_oversized_records_are_dead_lettered(
    bootstrap: str, redis_url: str, unique: str, tmp_path
) -> None:
    settings = e2e_settings(bootstrap, redis_url, f"qg-admission-{unique}")
    load_sample(settings)
    proc = worker(tmp_path, settings.env()).start()
    try:
        group = f"g-adm-{unique}"
        key = group.encode()
        future, mismatched, oversized = f"{unique}-future", f"{unique}-mismatch", f"{unique}-big"
        start = datetime.now(UTC).replace(microsecond=0)
        burst = [f"{unique}-b{n:02d}" for n in range(12)]  # 12 messages in 22 s
        # a 3 MB record needs a producer that may send one
        producer = Producer(producer_config(bootstrap, "e2e-admission", **{"message.max.bytes": 4_000_000}))
        producer.produce(MESSAGES.name, key=key, value=message(future, group, FUTURE))
        for n, event_id in enumerate(burst):
            ts = (start + timedelta(seconds=2 * n)).isoformat()
            producer.produce(MESSAGES.name, key=key, value=message(event_id, group, ts))
        producer.produce(
            MESSAGES.name, key=key, value=message(mismatched, f"g-rd-{unique}", start.isoformat())
        )
        big = message(oversized, group, start.isoformat(), padding="x" * 3_000_000)
        producer.produce(MESSAGES.name, key=key, value=big)
        assert producer.flush(30) == 0

        def ours(msgs) -> tuple[list[dict], list]:
            found = [orjson.loads(m.value()) for m in msgs if m.topic() == VIOLATIONS.name]
            rate = [v for v in found if v["rule"] == "flood.rate" and set(v["source_event_ids"]) & set(burst)]
            letters = [m for m in msgs if m.topic() == DEADLETTER.name and m.key() == key]
            return rate, letters

        msgs = read_until(bootstrap, lambda seen: ours(seen)[0] and len(ours(seen)[1]) >= 3, timeout=120)
        assert proc.running, proc.log_path.read_text()[-3000:]
        rate, letters = ours(msgs)
        assert [v["source_event_ids"] for v in rate] == [burst[:10]], proc.log_path.read_text()[-3000:]
        reasons = {dict(m.headers())[REASON_HEADER].decode(): m.value() for m in letters}
        assert len(reasons) == 3, reasons.keys()
        [(too_far, value)] = [(r, v) for r, v in reasons.items() if r.startswith("field 'ts'")]
        assert too_far.startswith(f"field 'ts': {FUTURE} is ") and too_far.endswith(
            "in the future (limit 1 day)"
        )
        assert value == message(future, group, FUTURE)  # the original record
        expected = f"field 'group_id': 'g-rd-{unique}' differs from the record key '{group}'"
        assert reasons[expected] == message(mismatched, f"g-rd-{unique}", start.isoformat())
        size = len(key) + len(big)
        assert reasons[f"record is {size} bytes (limit 524288)"] is None  # sent without its value
        assert all(m.headers() and dict(m.headers()).get("qg-source-topic") == MESSAGES.name.encode()
                   for m in letters)  # fmt: skip
    finally:
        proc.stop()


def test_feed_refuses_what_the_worker_would_refuse(bootstrap: str, unique: str, tmp_path) -> None:
    create_topics(bootstrap)
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    group = f"g-adm-feed-{unique}"
    lines = [
        message(f"{unique}-ok", group, now),
        message(f"{unique}-future", group, FUTURE),
        message(f"{unique}-year1", group, "0001-01-01T00:00:00+08:00"),
        message(f"{unique}-crowd", group, now, mentions=[f"wx_{n}" for n in range(501)]),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    errors = io.StringIO()
    summary = feed_file(path, bootstrap, progress=False, errors=errors)
    assert (summary.sent, summary.rejected, summary.failed) == (1, 3, 0), errors.getvalue()
    report = errors.getvalue()
    assert f"{path}:2: field 'ts': {FUTURE} is " in report and "in the future (limit 1 day)" in report
    assert f"{path}:3: field 'ts': 0001-01-01T00:00:00+08:00 is outside the supported range" in report
    assert f"{path}:4: field 'mentions': 501 mentions (limit 500)" in report
