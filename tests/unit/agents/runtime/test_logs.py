"""agents.runtime.logs: one JSON object per line with the event context, never chat text unless asked."""

from __future__ import annotations

import io
import logging

import orjson
import pytest

from agents.connect.settings import Settings
from agents.runtime.logs import LIBRARY_LOGGERS, configure_logging

CONTEXT = {"event_id": "e-1", "topic": "chat.messages", "partition": 2, "offset": 41, "text": "今晚赌球吗"}


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in (*LIBRARY_LOGGERS, "mode.services")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in libraries.items():
        logging.getLogger(name).setLevel(saved)


def log_lines(settings: Settings, emit) -> list[str]:
    out = io.StringIO()
    configure_logging(settings, stream=out)
    emit(logging.getLogger("agents.worker.moderator"))
    return out.getvalue().splitlines()


def test_json_line_has_context_and_no_chat_text(restore_root_logging) -> None:
    [line] = log_lines(Settings(), lambda log: log.warning("dead letter: %s", "bad ts", extra=CONTEXT))
    doc = orjson.loads(line)
    assert doc.pop("ts").endswith("+00:00")
    assert doc == {
        "level": "warning", "logger": "agents.worker.moderator", "msg": "dead letter: bad ts",
        "event_id": "e-1", "topic": "chat.messages", "partition": 2, "offset": 41,
    }  # fmt: skip
    assert "赌球" not in line


def test_chat_text_only_when_enabled(restore_root_logging) -> None:
    [line] = log_lines(Settings(log_message_text=1), lambda log: log.info("seen", extra=CONTEXT))
    assert orjson.loads(line)["text"] == "今晚赌球吗"


def test_exceptions_stay_on_one_line(restore_root_logging) -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise ValueError("broken detector")
        except ValueError:
            log.exception("detector failed", extra={"event_id": "e-2"})

    [line] = log_lines(Settings(), emit)
    doc = orjson.loads(line)
    assert doc["level"] == "error" and doc["event_id"] == "e-2"
    assert "ValueError: broken detector" in doc["exc"]


def test_level_filters_and_text_format(restore_root_logging) -> None:
    lines = log_lines(
        Settings(log_format="text", log_level="warning"),
        lambda log: (log.info("hidden"), log.warning("shown", extra=CONTEXT)),
    )
    [line] = lines
    assert line.endswith("WARNING agents.worker.moderator: shown")


def test_bad_format_is_refused(restore_root_logging) -> None:
    with pytest.raises(SystemExit, match="QUNGUARD_LOG_FORMAT"):
        configure_logging(Settings(log_format="xml"), stream=io.StringIO())


def test_format_from_the_environment() -> None:
    settings = Settings.from_env({"QUNGUARD_LOG_FORMAT": "text", "QUNGUARD_LOG_MESSAGE_TEXT": "1"})
    assert (settings.log_format, settings.log_message_text) == ("text", 1)
    assert Settings().log_format == "json"


RECORD = b'{"kind":"message","text":"\xe4\xbb\x8a\xe6\x99\x9a","id":"440306199003072315"}'


def test_libraries_never_log_a_record_at_debug(restore_root_logging) -> None:
    """Faust's and aiokafka's debug lines carry whole records: held at info, whatever the level."""
    out = io.StringIO()
    configure_logging(Settings(log_level="debug"), stream=out)
    logging.getLogger("aiokafka.producer.producer").debug("Sending (key=%s value=%s)", b"k", RECORD)
    logging.getLogger("faust.topics").debug("send: v=%r", RECORD)
    lowered = logging.getLogger("mode.services")
    lowered.setLevel(logging.DEBUG)  # a library lowering its own level is still held by our handler
    lowered.debug("value %r", RECORD)
    logging.getLogger("agents.worker.moderator").debug("ours at debug")
    [line] = out.getvalue().splitlines()
    assert orjson.loads(line)["msg"] == "ours at debug"
    assert logging.getLogger("faust").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("aiokafka.consumer").getEffectiveLevel() == logging.INFO


def test_library_bytes_arguments_are_opaque_at_every_level(restore_root_logging) -> None:
    out = io.StringIO()
    configure_logging(Settings(log_level="debug"), stream=out)
    logging.getLogger("aiokafka.producer.sender").warning("cannot send %r to %s", RECORD, "node-1")
    logging.getLogger("confluent_kafka").error("value %(v)s", {"v": bytearray(RECORD)})
    logging.getLogger("agents.intake.feed").warning("not ours: %s", "kept")
    docs = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [d["msg"] for d in docs] == [
        f"cannot send <{len(RECORD)} bytes> to node-1",
        f"value <{len(RECORD)} bytes>",
        "not ours: kept",
    ]


def test_library_loggers_follow_a_stricter_level(restore_root_logging) -> None:
    configure_logging(Settings(log_level="error"), stream=io.StringIO())
    assert logging.getLogger("faust").level == logging.ERROR
