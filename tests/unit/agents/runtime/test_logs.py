"""agents.runtime.logs: one JSON object per line with the event context, never chat text unless asked."""

from __future__ import annotations

import io
import logging

import orjson
import pytest

from agents.connect.settings import Settings
from agents.runtime.logs import configure_logging

CONTEXT = {"event_id": "e-1", "topic": "chat.messages", "partition": 2, "offset": 41, "text": "今晚赌球吗"}


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


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
