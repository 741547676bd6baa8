"""What the notifier sends: recipients and per-recipient messages, with deterministic ids."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class Recipient:
    """One addressee: a person (owner, admin, subject) or a fixed role (hr, security, platform).

    `key` identifies the addressee across violations (employee id, chat account or role name);
    the notifier partitions and batches by (role, key)."""

    role: str
    key: str
    label: str  # how messages name them: 吴婷(群主), 人力资源部
    employee_id: str | None = None
    account: str | None = None
    name: str | None = None

    @property
    def address(self) -> str:
        return f"{self.role}|{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipient:
        return cls(**{k: data.get(k) for k in ("role", "key", "label", "employee_id", "account", "name")})


def message_id(violation_id: str, recipient: Recipient) -> str:
    """One id per violation and recipient: the unit of dedupe."""
    return "n-" + _digest(violation_id, recipient.role, recipient.key)


def digest_id(recipient: Recipient, item_ids: list[str]) -> str:
    return "d-" + _digest(recipient.role, recipient.key, *sorted(item_ids))


@dataclass(frozen=True, slots=True)
class Notice:
    """One message for one recipient about one violation (or, kind "digest", about several)."""

    message_id: str
    kind: str  # "notice" | "digest"
    recipient: Recipient
    title: str
    text: str  # plain text: title, then the body
    markdown: str
    severity: str
    digestible: bool = False  # batched into the recipient's digest instead of sent at once
    violation_id: str | None = None
    rule: str | None = None
    group_id: str | None = None
    subject_id: str | None = None
    employee_id: str | None = None
    clause: str = ""
    citation: str = ""
    actions: tuple[str, ...] = ()
    instructions: tuple[str, ...] = ()
    event_ts: str = ""
    detected_at: str = ""
    line: str = ""  # this notice as one line of a digest
    items: tuple[dict[str, Any], ...] = field(default=())  # digest: its items

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["recipient"] = self.recipient.to_dict()
        for name in ("actions", "instructions", "items"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notice:
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["recipient"] = Recipient.from_dict(data["recipient"])
        for name in ("actions", "instructions", "items"):
            values[name] = tuple(data.get(name) or ())
        return cls(**values)
