"""hours.off_hours and hours.urgent_needs_call (SPEC §4), judged on a `WorkingCalendar`.

An urgent message always gets `hours.urgent_needs_call` (it must be followed by a phone call)
and never `hours.off_hours`. A non-urgent message outside working time gets `hours.off_hours`
in a ledger group whose kind is not exempt (interest groups by default) and that is not a 24×7
group. A group absent from the ledger has no kind to judge by; `group.unregistered` covers it.
Stateless.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.behaviour.eventtime import behaviour_message
from streams.behaviour.worktime import WorkingCalendar
from streams.core.detector import Calendared, Context, Detector, Finding
from streams.core.policy import Policy
from topics.events import Event, MessageEvent

OFF_HOURS = "hours.off_hours"
URGENT = "hours.urgent_needs_call"


class HoursDetector(Detector, Calendared):
    rules = (OFF_HOURS, URGENT)
    partition = "group"

    def __init__(self, policy: Policy) -> None:
        self.calendar = WorkingCalendar.from_policy(policy.section("working_time"))

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        if not behaviour_message(event):
            return ()
        assert isinstance(event, MessageEvent)
        if event.urgent:
            return (self._finding(URGENT, event),)
        group = ctx.ledger.group(event.group_id)
        if group is None or self.calendar.exempt(event.group_id, group.kind):
            return ()
        if self.calendar.is_working_time(event.ts, event.group_id):
            return ()
        return (self._finding(OFF_HOURS, event),)

    def _finding(self, rule: str, event: MessageEvent) -> Finding:
        local = event.ts.astimezone(self.calendar.hours.timezone)
        return Finding.of_message(rule, event, {"local_time": local.isoformat()})
