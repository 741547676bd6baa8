"""Logging setup: one JSON object per line (QUNGUARD_LOG_FORMAT=json, the worker's default) or
plain text for people (`qunguard dev`).

A JSON line has ts (UTC, ms), level, logger, msg, and the context a call passes with `extra=`:
event_id, topic, partition, offset, group_id, rule, violation_id, dependency. Chat text is never
written unless QUNGUARD_LOG_MESSAGE_TEXT=1, and then only as the `text` extra: callers must not
put message text into the log message itself.

    log.warning("dead letter: %s", reason, extra={"event_id": eid, "topic": t, "partition": p, "offset": o})

Libraries print records: at debug, Faust's `faust.topics` and aiokafka's producer log every key and
value they send, `faust.agents` what an agent yields. So the loggers of the Kafka stack
(LIBRARY_LOGGERS) are held at info whatever QUNGUARD_LOG_LEVEL says, and our handler's
`LibraryRecordFilter` drops their records below info and writes `<N bytes>` for any bytes argument
of the rest, at every level: a library cannot put a record into our log even if it lowers its own
logger's level.
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
# Loggers of the libraries that print keys and values (Faust, aiokafka, mode, confluent-kafka and
# librdkafka through agents.connect.kafka); their children included.
LIBRARY_LOGGERS = ("faust", "aiokafka", "mode", "confluent_kafka")
LIBRARY_LEVEL = logging.INFO


def is_library(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in LIBRARY_LOGGERS)


class LibraryRecordFilter(logging.Filter):
    """Keeps records out of the log: a library's record below info is dropped; in any other, each
    bytes argument (a key or a value) becomes `<N bytes>`. Our own loggers pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_library(record.name):
            return True
        if record.levelno < LIBRARY_LEVEL:
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(_opaque(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _opaque(arg) for key, arg in record.args.items()}
        return True


class Opaque:
    """What a library's bytes argument prints as, with %s and %r alike."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __repr__(self) -> str:
        return f"<{self.size} bytes>"

    __str__ = __repr__


def _opaque(arg: object) -> object:
    return Opaque(len(arg)) if isinstance(arg, bytes | bytearray | memoryview) else arg


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
    """Replace the root logger's handlers with one writing to `stream` (stderr) in the set format,
    the libraries' loggers held at info (LibraryRecordFilter)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings))
    handler.addFilter(LibraryRecordFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise SystemExit(f"QUNGUARD_LOG_LEVEL={settings.log_level!r}: expected debug, info, warning or error")
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:  # their debug records are never written: do not even make them
        logging.getLogger(name).setLevel(max(level, LIBRARY_LEVEL))
    logging.captureWarnings(True)
    return handler
