"""One producer configuration for every qunguard producer (feed, roster loader, dev, tests)."""

from __future__ import annotations

from typing import Any


def producer_config(bootstrap: str, client_id: str, timeout: float = 60.0, **extra: Any) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        # acks=all and no duplicates or reordering on retry; Tansu 0.6 and Kafka both support it.
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": int(timeout * 1000),
        # The Java/aiokafka default partitioner, so a key lands on the partition Faust and other
        # clients use; librdkafka's default (consistent_random, CRC32) would split a group's events.
        "partitioner": "murmur2_random",
        **extra,
    }
