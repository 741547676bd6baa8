"""agents.connect.kafka: librdkafka's log lines go to Python logging, retried connection failures
at info."""

from __future__ import annotations

import logging

import pytest

from agents.connect.kafka import LIBRDKAFKA_LOG, connection, producer_config, reader_config


def test_every_client_logs_through_python_logging() -> None:
    for config in (connection("b:9092"), producer_config("b:9092", "x"), reader_config("b:9092", "x")):
        assert config["logger"] is LIBRDKAFKA_LOG


@pytest.mark.parametrize(
    ("level", "facility", "expected"),
    [
        (logging.ERROR, "FAIL", logging.INFO),  # "Connect to ipv4#… failed": retried by the client
        (logging.DEBUG, "FAIL", logging.DEBUG),
        (logging.ERROR, "SSL", logging.ERROR),
        (logging.WARNING, "CONFWARN", logging.WARNING),
    ],
)
def test_levels(level: int, facility: str, expected: int, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="confluent_kafka.librdkafka"):
        LIBRDKAFKA_LOG.log(level, "%s [%s] %s", facility, "rdkafka#producer-1", "some text")
    [record] = caplog.records
    assert (record.name, record.levelno) == ("confluent_kafka.librdkafka", expected)
    assert record.getMessage() == f"{facility} [rdkafka#producer-1] some text"
