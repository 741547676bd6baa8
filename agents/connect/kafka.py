"""The Kafka client factory: the configurations of every qunguard confluent-kafka client (producers,
short-lived readers, admin clients). All start from `connection`; the Faust apps' broker options come
from agents.connect.security.faust_broker_options.

librdkafka's own log lines go to Python logging (`LibrdkafkaLog`), not straight to stderr: they are
served when the client is polled, so a long-lived client must be polled (or consume) now and then."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from agents.connect.security import checked_settings, kafka_client_config

CLIENT_LOG = logging.getLogger("confluent_kafka.librdkafka")
# librdkafka's facilities for a connection attempt that failed; the client retries on its own
# (about 20 lines a second while a request waits on a broker that does not answer), and every
# caller reports the outcome in its own words, so these lines are details, not errors.
RETRIED_FACILITIES = frozenset({"FAIL"})


class LibrdkafkaLog:
    """The `logger` of every confluent-kafka client: librdkafka calls `log(level, "%s [%s] %s",
    facility, client name, text)` with the level already mapped onto Python's."""

    def log(self, level: int, msg: str, *args: Any) -> None:
        if args and args[0] in RETRIED_FACILITIES:
            level = min(level, logging.INFO)
        CLIENT_LOG.log(level, msg, *args)


LIBRDKAFKA_LOG = LibrdkafkaLog()


def connection(bootstrap: str, client_id: str | None = None) -> dict[str, Any]:
    """`bootstrap.servers` plus the cluster's TLS/SASL keys (agents.connect.security) from this process's
    settings, the environment, as for the Faust apps: no client can leave them out. librdkafka logs
    through `LIBRDKAFKA_LOG`."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "logger": LIBRDKAFKA_LOG,
        **kafka_client_config(checked_settings()),
    }
    if client_id:
        config["client.id"] = client_id
    return config


def producer_config(bootstrap: str, client_id: str, timeout: float = 60.0, **extra: Any) -> dict[str, Any]:
    return {
        **connection(bootstrap, client_id),
        # acks=all and no duplicates or reordering on retry; Tansu 0.6 and Kafka both support it.
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": int(timeout * 1000),
        # The Java/aiokafka default partitioner, so a key lands on the partition Faust and other
        # clients use; librdkafka's default (consistent_random, CRC32) would split a group's events.
        "partitioner": "murmur2_random",
        **extra,
    }


def reader_config(bootstrap: str, name: str, group: str | None = None, **extra: Any) -> dict[str, Any]:
    """A consumer that reads from the start and commits nothing (dev watcher, probes, tests).

    Its group is `name` plus a random suffix unless `group` is given. The short session and poll
    interval keep group joins quick on the embedded broker, which waits up to the poll interval.
    """
    return {
        **connection(bootstrap),
        "group.id": group or f"{name}-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "max.poll.interval.ms": 10000,
        **extra,
    }
