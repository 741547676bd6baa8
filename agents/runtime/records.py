"""The record as an agent consumed it, independent of Faust's event and message types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One consumed record exactly as it arrived."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def from_event(cls, event: Any) -> RawRecord:
        """A Faust stream event (`stream.events()`) as a RawRecord."""
        message = event.message
        return cls(
            message.topic, message.partition, message.offset, event.key, event.value, header_pairs(message)
        )


def header_pairs(message: Any) -> tuple[tuple[str, bytes], ...]:
    """A Faust message's headers (a list of pairs or a dict, depending on the path) as pairs."""
    headers = message.headers or ()
    return tuple(headers.items() if isinstance(headers, dict) else headers)
