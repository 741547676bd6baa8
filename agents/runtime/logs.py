"""Logging setup: one JSON object per line (QUNGUARD_LOG_FORMAT=json, the worker's default) or
plain text for people (`qunguard dev`).

A JSON line has ts (UTC, ms), level, logger, msg, and the context a call passes with `extra=`:
event_id, topic, partition, offset, group_id, rule, violation_id, dependency. Chat text is never
written unless QUNGUARD_LOG_MESSAGE_TEXT=1, and then only as the `text` extra: callers must not
put message text into the log message itself.

    log.warning("dead letter: %s", reason, extra={"event_id": eid, "topic": t, "partition": p, "offset": o})
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from agents.connect.settings import Settings

CONTEXT_FIELDS = (
    "event_id",
    "topic",
    "partition",
    "offset",
    "group_id",
    "rule",
    "violation_id",
    "dependency",
)
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def __init__(self, include_text: bool = False) -> None:
        super().__init__()
        self.include_text = include_text

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                doc[name] = value
        if self.include_text and "text" in record.__dict__:
            doc["text"] = record.__dict__["text"]
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        return orjson.dumps(doc, default=str).decode()


def formatter(settings: Settings) -> logging.Formatter:
    kind = settings.log_format.strip().lower()
    if kind == "json":
        return JsonFormatter(include_text=bool(settings.log_message_text))
    if kind == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise SystemExit(f"QUNGUARD_LOG_FORMAT={settings.log_format!r}: expected json or text")


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one writing to `stream` (stderr) in the set format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise SystemExit(f"QUNGUARD_LOG_LEVEL={settings.log_level!r}: expected debug, info, warning or error")
    root.setLevel(level)
    logging.captureWarnings(True)
    return handler
