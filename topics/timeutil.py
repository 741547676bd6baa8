"""RFC 3339 timestamps: every timestamp on the wire carries an explicit offset."""

from __future__ import annotations

from datetime import datetime


def parse_ts(value: object) -> datetime:
    """Parse an RFC 3339 timestamp with an offset; raise ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"expected an RFC 3339 string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if len(text) < 20 or text[10] not in "Tt ":
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp has no offset: {value!r}")
    return parsed


def format_ts(value: datetime) -> str:
    return value.isoformat()
