"""A recipient's pending digest as one JSON-able value (the notifier keeps it in a Faust table):
items are added once each (by message id), and the digest is due `interval_seconds` after its
first item or as soon as it holds `max_items`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.notify.config import DigestPolicy
from streams.notify.model import Recipient


def add_item(
    pending: Mapping[str, Any] | None, recipient: Recipient, item: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """`pending` with `item` added (a copy; an item already there is not added twice)."""
    if not pending:
        return {"recipient": recipient.to_dict(), "since": now, "items": [dict(item)]}
    items = list(pending["items"])
    if all(i["message_id"] != item["message_id"] for i in items):
        items.append(dict(item))
    return {**pending, "items": items}


def is_due(pending: Mapping[str, Any] | None, policy: DigestPolicy, now: float) -> bool:
    if not pending or not pending.get("items"):
        return False
    return (
        len(pending["items"]) >= policy.max_items or now - float(pending["since"]) >= policy.interval_seconds
    )


def digest_recipient(pending: Mapping[str, Any]) -> Recipient:
    return Recipient.from_dict(pending["recipient"])
