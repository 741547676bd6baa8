"""agents.connect.admin against a port nothing listens on: one clear error after a bounded wait,
none of librdkafka's per-attempt lines on stderr."""

from __future__ import annotations

import pytest

from agents.connect.admin import TopicAdminError, create_topics
from agents.dev.embedded import free_port


def test_no_broker_is_one_error_after_the_connect_timeout(capfd: pytest.CaptureFixture[str]) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    with pytest.raises(TopicAdminError, match=rf"no Kafka broker answered at {bootstrap} within 1s"):
        create_topics(bootstrap, connect_timeout=1.0)
    assert capfd.readouterr().err == ""  # librdkafka writes straight to fd 2 unless given a logger
