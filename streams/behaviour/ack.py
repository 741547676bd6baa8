"""ack.missing (SPEC §4): a team_lead/manager member did not acknowledge a notice in time.

A notice is `msg_type: notice` or text starting with 【通知】/【公告】. Who must acknowledge: the
group's members in event time (streams.behaviour.members.GroupMembership) whose roster record is
active with a rank in `ranks` at the notice's time, except its sender; one account per employee.
A member acknowledges by a reply to the notice or a later message in the group containing an ack
term, by the deadline. At the deadline the rule fires once per notice and member still waiting;
a later ack changes nothing.

An event more than the tolerance behind the group's newest event (live: behind the input's
watermark, when that is older; streams.core.watermark) is late and ignored. Deadlines fire in
event time when an event of the group arrives at or after deadline + tolerance (an ack up to the deadline may still be in flight until then), and in a sweep at
`now` ≥ deadline: replay's end-of-input sweep, or the live timer's wall clock. State per group
(map "ack.missing"):

    {"wm": <newest event time>,
     "n": {<notice id>: {"at": t, "due": t, "off": <utc offset s>, "wait": [<account>…]}},
     "done": {<notice id>: <notice time>},          # settled notices, against redelivery
     "acks": [[t, <event id>, <account>, <reply_to>, <has term>]…]}  # recent, for late notices

`done` and `acks` are kept for the out-of-order tolerance only (a notice arriving later than
that is late and ignored); a group with nothing pending keeps only its watermark until a sweep
finds it idle (`[event_time] idle_expiry_seconds`) and deletes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from streams.behaviour.eventtime import EventClock, behaviour_message, reference_time, utc_seconds
from streams.behaviour.members import GroupMembership
from streams.core.detector import Context, Detector, DropsLate, Finding, Sweeper
from streams.core.policy import Policy
from streams.core.state import StateMap, StateSource
from topics.events import Event, MessageEvent

RULE = "ack.missing"


class AckDetector(Detector, Sweeper, DropsLate):
    rules = (RULE,)
    partition = "group"

    def __init__(
        self,
        policy: Policy,
        state: StateSource,
        members: GroupMembership,
        tolerance: float,
        clock: EventClock,
    ) -> None:
        params = policy.rule(RULE).params
        self.deadline = float(params.get("deadline_hours", 4)) * 3600
        self.ranks = frozenset(params.get("ranks", ("team_lead", "manager")))
        self.terms = tuple(params.get("ack_terms", ("收到", "已阅", "已读")))
        self.prefixes = tuple(params.get("notice_prefixes", ("【通知】", "【公告】")))
        self.state: StateMap = state.map(RULE, "group")
        self.members = members
        self.tolerance = tolerance
        self.clock = clock
        self.late: Counter[str] = Counter()

    def is_notice(self, event: MessageEvent) -> bool:
        return event.msg_type == "notice" or event.text.lstrip().startswith(self.prefixes)

    def _ack_like(self, event: MessageEvent) -> bool:
        return event.reply_to is not None or any(term in event.text for term in self.terms)

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        ts = utc_seconds(event.ts)
        self.clock.saw(ts)
        message = event if behaviour_message(event) else None
        assert message is None or isinstance(message, MessageEvent)
        old = self.state.get(key)
        if old is None and (message is None or not (self.is_notice(message) or self._ack_like(message))):
            return ()
        wm = float(old["wm"]) if old else ts
        if ts < reference_time(wm, ctx.watermark) - self.tolerance:
            self.late[RULE] += 1
            return ()  # late beyond the tolerance
        value = {"n": {}, "done": {}, "acks": [], **(old or {}), "wm": max(wm, ts)}
        if message is not None:
            value = self._message(value, message, key, ctx)
        now = reference_time(float(value["wm"]), ctx.watermark)
        value, findings = self._fire(value, key, now - self.tolerance)
        self._store(key, old, self._pruned(value, now - self.tolerance))
        return findings

    def sweep(self, now: datetime, ctx: Context) -> Iterable[Finding]:
        findings: list[Finding] = []
        horizon = self.clock.expiry_horizon(now)
        for key, old in list(self.state.items()):
            value, fired = self._fire(old, key, utc_seconds(now))
            findings.extend(fired)
            if horizon is not None and not value["n"] and float(value["wm"]) < horizon - self.tolerance:
                del self.state[key]  # nothing pending, idle: its redelivery guards are over
            else:
                self._store(key, old, value)
        return findings

    def _message(self, value: dict[str, Any], event: MessageEvent, key: str, ctx: Context) -> dict[str, Any]:
        ts = utc_seconds(event.ts)
        if self._ack_like(event):
            has_term = any(term in event.text for term in self.terms)
            ack = [ts, event.event_id, event.sender_id, event.reply_to, has_term]
            if ack not in value["acks"]:
                value = self._acknowledge(value, ack, ctx)
                value["acks"] = [*value["acks"], ack]
        if self.is_notice(event) and event.event_id not in value["n"] and event.event_id not in value["done"]:
            wait = self._must_acknowledge(event, key, ctx)
            offset = event.ts.utcoffset() or timedelta(0)
            if not wait:
                return {**value, "done": {**value["done"], event.event_id: ts}}
            notice = {"at": ts, "due": ts + self.deadline, "off": offset.total_seconds(), "wait": wait}
            value = {**value, "n": {**value["n"], event.event_id: notice}}
            for ack in value["acks"]:  # acks that arrived before the notice did
                value = self._acknowledge(value, ack, ctx, only=event.event_id)
        return value

    def _must_acknowledge(self, event: MessageEvent, key: str, ctx: Context) -> list[str]:
        sender = ctx.roster.by_account(event.sender_id)
        chosen: dict[str, str] = {}  # employee id → the account that must acknowledge
        for account in sorted(self.members.members(key)):
            employee = ctx.roster.by_account(account)
            if employee is None or not employee.active or employee.rank not in self.ranks:
                continue
            if account == event.sender_id or (sender and sender.employee_id == employee.employee_id):
                continue
            chosen.setdefault(employee.employee_id, account)
        return sorted(chosen.values())

    def _acknowledge(
        self, value: dict[str, Any], ack: list[Any], ctx: Context, only: str | None = None
    ) -> dict[str, Any]:
        ts, event_id, account, reply_to, has_term = ack
        employee = ctx.roster.by_account(account)
        notices = dict(value["n"])
        done = dict(value["done"])
        for notice_id, notice in value["n"].items():
            if only is not None and notice_id != only:
                continue
            if notice_id == event_id or not (notice["at"] <= ts <= notice["due"]):
                continue
            if not (has_term or reply_to == notice_id):
                continue
            wait = [a for a in notice["wait"] if not _same_person(a, account, employee, ctx)]
            if len(wait) == len(notice["wait"]):
                continue
            if wait:
                notices[notice_id] = {**notice, "wait": wait}
            else:
                del notices[notice_id]
                done[notice_id] = notice["at"]
        return {**value, "n": notices, "done": done}

    def _fire(self, value: dict[str, Any], key: str, until: float) -> tuple[dict[str, Any], list[Finding]]:
        """Findings for notices due by event time `until`; they move to `done`."""
        due = {nid: n for nid, n in value.get("n", {}).items() if float(n["due"]) <= until}
        if not due:
            return value, []
        findings = [self._finding(key, nid, n, account) for nid, n in due.items() for account in n["wait"]]
        notices = {nid: n for nid, n in value["n"].items() if nid not in due}
        done = {**value.get("done", {}), **{nid: n["at"] for nid, n in due.items()}}
        return {**value, "n": notices, "done": done}, findings

    def _finding(self, key: str, notice_id: str, notice: dict[str, Any], account: str) -> Finding:
        zone = timezone(timedelta(seconds=float(notice["off"])))
        deadline = datetime.fromtimestamp(float(notice["due"]), tz=zone)
        return Finding(
            rule=RULE,
            event_ts=deadline,
            source_event_ids=(notice_id,),
            group_id=key,
            subject_id=account,
            evidence={"notice": notice_id, "deadline": deadline.isoformat()},
        )

    def _pruned(self, value: dict[str, Any], horizon: float) -> dict[str, Any]:
        """Drop settled notices and recent acks older than `horizon`. An emptied value keeps its
        watermark, so a redelivered old notice is still late; the sweep deletes it when idle."""
        done = {nid: at for nid, at in value.get("done", {}).items() if float(at) >= horizon}
        acks = [ack for ack in value.get("acks", []) if float(ack[0]) >= horizon]
        return {"wm": value["wm"], "n": value.get("n", {}), "done": done, "acks": acks}

    def _store(self, key: str, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        if new != old:
            self.state[key] = new


def _same_person(waiting: str, account: str, employee: Any, ctx: Context) -> bool:
    if waiting == account:
        return True
    other = ctx.roster.by_account(waiting)
    return employee is not None and other is not None and other.employee_id == employee.employee_id
