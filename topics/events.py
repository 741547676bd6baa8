"""Input event records (SPEC §2). Immutable; built only through `topics.codec`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MSG_TYPES = frozenset({"text", "image", "video", "file", "link", "voice", "notice", "system"})
MEMBERSHIP_ACTIONS = frozenset(
    {
        "group_created",
        "member_joined",
        "member_present",
        "member_left",
        "member_removed",
        "nickname_changed",
        "owner_changed",
        "group_renamed",
        "group_dissolved",
    }
)
# "removed" is our extension: the roster loader publishes it for an employee dropped from the HR file.
ROSTER_CHANGES = frozenset({"upsert", "departed", "removed"})


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str = ""
    size: int = 0
    url: str = ""


@dataclass(frozen=True, slots=True)
class MessageEvent:
    event_id: str
    ts: datetime
    group_id: str
    sender_id: str
    sender_name: str = ""
    msg_type: str = "text"
    text: str = ""
    mentions: tuple[str, ...] = ()
    mention_all: bool = False
    reply_to: str | None = None
    urgent: bool = False
    attachment: Attachment | None = None
    kind: str = field(default="message", init=False)

    @property
    def key(self) -> str:
        return self.group_id


@dataclass(frozen=True, slots=True)
class MembershipEvent:
    event_id: str
    ts: datetime
    group_id: str
    action: str
    member_id: str | None = None
    actor_id: str | None = None
    nickname: str | None = None
    group_name: str | None = None
    kind: str = field(default="membership", init=False)

    @property
    def key(self) -> str:
        return self.group_id


@dataclass(frozen=True, slots=True)
class RosterEvent:
    event_id: str
    ts: datetime
    employee_id: str
    change: str
    record: dict[str, Any] | None = None
    kind: str = field(default="roster", init=False)

    @property
    def key(self) -> str:
        return self.employee_id


Event = MessageEvent | MembershipEvent | RosterEvent
