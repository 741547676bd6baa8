"""media.large_file (SPEC §4): a video or file attachment over the size limit (20 MiB).

Stateless: one finding per message. Share a link to large files instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.behaviour.eventtime import behaviour_message
from streams.core.detector import Context, Detector, Finding
from streams.core.policy import Policy
from topics.events import Event, MessageEvent

RULE = "media.large_file"


class LargeFileDetector(Detector):
    rules = (RULE,)
    partition = "group"

    def __init__(self, policy: Policy) -> None:
        params = policy.rule(RULE).params
        self.max_bytes = int(params.get("max_bytes", 20 * 1024 * 1024))
        self.msg_types = frozenset(params.get("msg_types", ("video", "file")))

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        if not behaviour_message(event):
            return ()
        assert isinstance(event, MessageEvent)
        attachment = event.attachment
        if attachment is None or event.msg_type not in self.msg_types or attachment.size <= self.max_bytes:
            return ()
        # the name may be sensitive: evidence is the size only
        return (Finding.of_message(RULE, event, {"size": attachment.size, "max_bytes": self.max_bytes}),)
