"""topics.codec.encode returns bytes that cost their size: orjson (3.12+) leaves at least 4 KB
allocated behind any output, which a roster load that holds 100,000 encoded records paid 400 MB for."""

from __future__ import annotations

import tracemalloc

from topics.codec import encode


def test_encoded_records_cost_their_size() -> None:
    record = {"employee_id": "E0001", "name": "陈国华", "accounts": ["wx_chenguohua"], "status": "active"}
    tracemalloc.start()
    try:
        held = [encode({**record, "n": n}) for n in range(1000)]
        per_record = tracemalloc.get_traced_memory()[0] / len(held)
    finally:
        tracemalloc.stop()
    assert per_record < 4 * len(held[0])
    assert (
        held[0]
        == b'{"employee_id":"E0001","name":"\xe9\x99\x88\xe5\x9b\xbd\xe5\x8d\x8e","accounts":["wx_chenguohua"],"status":"active","n":0}'
    )
