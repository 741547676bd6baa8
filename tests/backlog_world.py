"""One working day of a company's group chats, built from a seed, for the backlog test
(tests/e2e/test_backlog.py): the roster, the ledger and the day's events in event-time order.

The company: six departments of twelve (a manager, two team leads, nine staff) and two departed
employees; 24 ledger groups (a department group per department, nine project and nine interest
groups), four on each input partition, and one group absent from the ledger; none is a company
group. Everyone sits in their department's group and in a few project and interest groups, so one
sender's messages come from groups on several partitions.

The day (times in +08:00 on `day`): a membership snapshot of every group at 08:30, about 4,000
messages of ordinary work chat from 09:00 to 17:55 (agents.bench.events' work talk), and planted
among it:

- flood.broadcast: one sender, one text, in three or four groups on different partitions within
  a few minutes;
- flood.rate, flood.duplicate, flood.mention_all: one sender in one group;
- chat.private_in_group: two members alone in a group of ten or more for a dozen messages;
- ack.missing: notices in groups with several team leads and managers, each of whom acknowledges
  (收到/已阅/已读, or a reply to the notice), acknowledges only after the deadline, or says nothing;
  every deadline falls before 17:00, and the group speaks again after it;
- content violations (the bench's violating phrases, one per sender), large files, urgent
  messages, a few messages after 18:00 in department and project groups (hours.off_hours on a
  working day);
- membership: an outsider invited by an employee and one joining alone, a departed employee, a
  wrong nickname, a member of another department, a member leaving a department group, a group
  renamed, an owner changed to a non-admin; messages in the unregistered group.

Per group, events are in time order; `events` is sorted by (time, creation order), which is both
the produce order and replay's file order. Every employee has at most one violation the ladder
counts, so its discipline steps do not depend on the order violations reach it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import orjson
from confluent_kafka.cimpl import murmur2  # the producers' partitioner (Kafka's default)

from agents.bench.events import PUNCTUATION, VIOLATIONS, WORK_TALK
from topics.catalog import MEMBERSHIP, MESSAGES

CST = timezone(timedelta(hours=8))
PARTITIONS = MESSAGES.partitions
DEPARTMENTS = ("销售部", "研发部", "财务部", "行政部", "生产部", "市场部")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉兰萍红鹏辉健斌宇浩凯欣怡晨阳"
LEADERS = ("team_lead", "manager")
SHORT_REPLIES = ("好的", "明白", "没问题", "可以", "行", "稍等我看下", "嗯嗯", "好", "我这边可以", "那就这样")
MIB = 1024 * 1024
# The bench's work talk, without the one clause the content model takes for a leaked contract
# (content.confidential on ordinary chat would give some employees three ladder steps, whose order
# depends on how violations from different partitions interleave).
CLAUSES = tuple(c for c in WORK_TALK if "合同" not in c)


@dataclass(frozen=True, slots=True)
class Person:
    employee_id: str
    name: str
    department: str
    rank: str
    account: str
    active: bool = True

    @property
    def nickname(self) -> str:
        return f"{self.department}-{self.name}"

    @property
    def leader(self) -> bool:
        return self.rank in LEADERS


@dataclass(slots=True)
class ChatGroup:
    group_id: str
    name: str
    kind: str  # department | project | interest; "" for the unregistered group
    department: str
    owner: Person
    members: list[Person] = field(default_factory=list)

    @property
    def partition(self) -> int:
        return murmur2(self.group_id.encode("utf-8"), PARTITIONS)

    @property
    def leaders(self) -> list[Person]:
        return [p for p in self.members if p.leader]


@dataclass(frozen=True, slots=True)
class Timed:
    at: datetime
    seq: int
    event: dict[str, Any]


@dataclass(slots=True)
class Day:
    """What `build_day` returns. `planted` counts, per rule (content rules as "content.*"), the
    violations the planted scenarios must give at least; replay is checked against it, so the
    comparison with the live worker is never between two empty sets."""

    day: date
    people: list[Person]
    groups: list[ChatGroup]
    events: list[dict[str, Any]]
    planted: Counter[str]

    def roster_csv(self) -> str:
        lines = ["employee_id,name,department,title,rank,status,accounts,left_at"]
        for p in self.people:
            status, left = ("active", "") if p.active else ("departed", "2026-06-30T18:00:00+08:00")
            lines.append(
                f"{p.employee_id},{p.name},{p.department},{p.rank},{p.rank},{status},{p.account},{left}"
            )
        return "\n".join(lines) + "\n"

    def ledger_csv(self) -> str:
        lines = [
            "group_id,name,kind,department,owner_id,admins,purpose,created_at,expires_at,approved,classified"
        ]
        for g in self.groups:
            if g.kind:
                lines.append(
                    f"{g.group_id},{g.name},{g.kind},{g.department},{g.owner.employee_id},,工作沟通,"
                    "2026-01-05T09:00:00+08:00,,true,false"
                )
        return "\n".join(lines) + "\n"

    def records(self) -> list[tuple[str, str, str, bytes]]:
        """(topic, event id, key, value) in produce order."""
        return [(_topic(e), e["event_id"], e["group_id"], orjson.dumps(e)) for e in self.events]

    def jsonl(self) -> bytes:
        """The same events as `qunguard replay` reads them, in the same order."""
        return b"".join(orjson.dumps(e) + b"\n" for e in self.events)


def _topic(event: dict[str, Any]) -> str:
    return MESSAGES.name if event["kind"] == "message" else MEMBERSHIP.name


class _Builder:
    def __init__(self, seed: int, day: date) -> None:
        self.rng = random.Random(seed)
        self.day = day
        self.timed: list[Timed] = []
        self.seq = 0
        self.reserved: list[tuple[str, datetime, datetime]] = []  # (group, from, to): private chats
        self.planted: Counter[str] = Counter()
        self.ladder_used: set[str] = set()  # employees with a violation the ladder counts

    # time and events

    def at(self, hh: int, mm: int, ss: float = 0) -> datetime:
        return datetime.combine(self.day, time(hh, mm), tzinfo=CST) + timedelta(seconds=ss)

    def between(self, start: datetime, end: datetime) -> datetime:
        return start + timedelta(seconds=self.rng.randint(0, int((end - start).total_seconds())))

    def free(self, group: ChatGroup, when: datetime) -> bool:
        return self.free_span(group, when, when)

    def free_span(self, group: ChatGroup, start: datetime, end: datetime) -> bool:
        """No private chat in `group` overlaps [start, end]."""
        return not any(g == group.group_id and a <= end and start <= b for g, a, b in self.reserved)

    def add(self, topic: str, when: datetime, event: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        prefix = "bl-m" if topic == MESSAGES.name else "bl-e"
        event = {
            "kind": event.pop("kind"),
            "event_id": f"{prefix}{self.seq:05d}",
            "ts": when.isoformat(),
            **event,
        }
        self.timed.append(Timed(when, self.seq, event))
        return event

    def message(
        self, when: datetime, group: ChatGroup, sender: Person, text: str, **fields: Any
    ) -> dict[str, Any]:
        fields.setdefault("msg_type", "text")
        return self.add(
            MESSAGES.name, when,
            {"kind": "message", "group_id": group.group_id, "sender_id": sender.account,
             "sender_name": sender.nickname, "text": text, **fields},
        )  # fmt: skip

    def membership(
        self, when: datetime, group: ChatGroup, action: str, member: str, **fields: Any
    ) -> dict[str, Any]:
        return self.add(
            MEMBERSHIP.name, when,
            {"kind": "membership", "group_id": group.group_id, "action": action, "member_id": member, **fields},
        )  # fmt: skip

    def text(self, low: int = 12, high: int = 60) -> str:
        """Work talk of `low` to `high` characters (agents.bench.events.work_text's way)."""
        target = self.rng.randint(low, high)
        parts: list[str] = []
        while sum(map(len, parts)) < target:
            parts.append(self.rng.choice(CLAUSES) + self.rng.choice(PUNCTUATION))
        return "".join(parts)[:target]

    # the company

    def people(self) -> list[Person]:
        names = [s + g for s in SURNAMES for g in GIVEN]
        self.rng.shuffle(names)
        people = []
        for d, department in enumerate(DEPARTMENTS):
            for i in range(12):
                n = d * 12 + i + 1
                rank = "manager" if i == 0 else "team_lead" if i < 3 else "staff"
                people.append(Person(f"B{n:03d}", names[n], department, rank, f"wx_bl{n:03d}"))
        for n in (73, 74):
            people.append(
                Person(f"B{n:03d}", names[n], DEPARTMENTS[n % 6], "staff", f"wx_bl{n:03d}", active=False)
            )
        return people

    def groups(self, people: list[Person]) -> list[ChatGroup]:
        """24 ledger groups, four per input partition (ids picked by partition), and one unregistered."""
        active = [p for p in people if p.active]
        leaders = [p for p in active if p.leader]
        specs: list[tuple[str, str, str, list[Person]]] = []
        for department in DEPARTMENTS:
            members = [p for p in active if p.department == department]
            specs.append(("department", f"{department}工作群", department, members))
        for k in range(9):
            picked = self.rng.sample(leaders, 3) + self.rng.sample([p for p in active if not p.leader], 9)
            specs.append(("project", f"项目{k + 1}组", picked[0].department, picked))
        for k in range(9):
            specs.append(
                ("interest", f"兴趣小组{k + 1}", "行政部", self.rng.sample(active, self.rng.randint(8, 13)))
            )
        ids = _spread_ids("g-bl-", len(specs))
        groups = []
        for group_id, (kind, name, department, members) in zip(ids, specs, strict=True):
            owner = next((p for p in members if p.rank == "manager"), members[0])
            groups.append(
                ChatGroup(group_id, name, kind, department, owner, sorted(members, key=lambda p: p.account))
            )
        shadow = self.rng.sample(active, 6)
        groups.append(ChatGroup("g-bl-shadow", "私建群", "", "", shadow[0], shadow))
        return groups


def _spread_ids(prefix: str, count: int) -> list[str]:
    """`count` group ids spread evenly over the partitions, interleaved (id i on partition ~i mod P)."""
    buckets: list[list[str]] = [[] for _ in range(PARTITIONS)]
    per = -(-count // PARTITIONS)
    n = 0
    while sum(len(b) for b in buckets) < per * PARTITIONS:
        candidate = f"{prefix}{n:02d}"
        bucket = buckets[murmur2(candidate.encode("utf-8"), PARTITIONS)]
        if len(bucket) < per:
            bucket.append(candidate)
        n += 1
    return [buckets[i % PARTITIONS][i // PARTITIONS] for i in range(count)]


def build_day(seed: int, day: date, chat_messages: int = 4000) -> Day:
    b = _Builder(seed, day)
    rng = b.rng
    people = b.people()
    groups = b.groups(people)
    registered = [g for g in groups if g.kind]

    # 08:30: every group's membership snapshot (the platform's periodic full sync)
    snap = b.at(8, 30)
    for g in registered:
        for p in g.members:
            b.membership(snap, g, "member_present", p.account, actor_id=None, nickname=p.nickname)
            snap += timedelta(seconds=1)

    # the groups the membership changes happen in: no notice or private chat reads them
    departments = [g for g in registered if g.kind == "department"]
    plant_dept = departments[0]
    plant_project = next(g for g in registered if g.kind == "project")
    plant_interest = [g for g in registered if g.kind == "interest"][:4]
    planted_in = {plant_dept.group_id, plant_project.group_id, *(g.group_id for g in plant_interest)}
    others = [g for g in registered if g.group_id not in planted_in]

    # chat.private_in_group first: the group stays quiet around it but for the pair
    private_groups = rng.sample([g for g in others if len(g.members) >= 10], 4)
    for k, g in enumerate(private_groups):
        start = b.between(b.at(10 + 2 * k, 0), b.at(10 + 2 * k, 50))
        a, c = rng.sample(g.members, 2)
        senders = [a] * 6 + [c] * 7
        rng.shuffle(senders)
        b.reserved.append((g.group_id, start - timedelta(minutes=3), start + timedelta(minutes=10)))
        for i, who in enumerate(senders):
            b.message(
                start + timedelta(seconds=25 * i), g, who, rng.choice(SHORT_REPLIES) + "," + b.text(6, 20)
            )
        b.planted["chat.private_in_group"] += 1

    # ack.missing: one notice per chosen group, before 12:30 (deadline 4 h: before 16:30)
    ack_groups = rng.sample([g for g in others if len(g.leaders) >= 3 and g not in private_groups], 8)
    for g in ack_groups:
        when = b.between(b.at(9, 15), b.at(12, 30))
        sender = rng.choice([p for p in g.members if not p.leader])
        fields: dict[str, Any] = {"msg_type": "notice"} if rng.random() < 0.4 else {}
        notice = b.message(when, g, sender, "【通知】" + b.text(20, 50), **fields)
        due = when + timedelta(hours=4)
        waiting = g.leaders  # the sender is staff
        ways = [rng.choice(("term", "reply", "late", "silent")) for _ in waiting]
        if not {"late", "silent"} & set(ways):
            ways[0] = "silent"
        for p, way in zip(waiting, ways, strict=True):
            if way == "term":
                b.message(b.between(when + timedelta(minutes=1), due - timedelta(minutes=5)), g, p,
                          rng.choice(("收到", "已阅", "已读,谢谢", "收到,马上安排")))  # fmt: skip
            elif way == "reply":
                b.message(b.between(when + timedelta(minutes=1), due - timedelta(minutes=5)), g, p,
                          "好的,我这边安排", reply_to=notice["event_id"])  # fmt: skip
            else:
                b.planted["ack.missing"] += 1
                if way == "late":
                    b.message(
                        b.between(due + timedelta(minutes=5), due + timedelta(minutes=40)), g, p, "收到"
                    )
        # the group speaks again after the deadline, so the notice fires in event time, as in replay
        b.message(due + timedelta(minutes=rng.randint(45, 60)), g, rng.choice(g.members), b.text())

    # flood.broadcast: one text in 3-4 groups on different partitions within minutes, by 14 senders
    active = [p for p in people if p.active]
    for k, sender in enumerate(rng.sample(active, 14)):
        while True:
            by_partition: dict[int, ChatGroup] = {}
            for g in rng.sample(registered, len(registered)):
                by_partition.setdefault(g.partition, g)
            targets = rng.sample(list(by_partition.values()), rng.choice((3, 4)))
            times = [b.between(b.at(9, 30), b.at(17, 20))]
            for _ in targets[1:]:
                times.append(times[-1] + timedelta(seconds=rng.randint(15, 100)))
            if all(b.free(g, when) for g, when in zip(targets, times, strict=True)):
                break
        text = f"各位同事:{b.text(16, 36)}(第{k + 1}期)"
        for g, when in zip(targets, times, strict=True):
            b.message(when, g, sender, text)
        b.planted["flood.broadcast"] += 1

    def someone_free(start: datetime, end: datetime, span: timedelta) -> tuple[ChatGroup, datetime]:
        """A group no notice or private chat uses in [when, when + span], and `when`."""
        while True:
            g, when = rng.choice(others), b.between(start, end)
            if g not in ack_groups and b.free_span(g, when, when + span):
                return g, when

    # flood.rate: 11 messages in 40 s; flood.duplicate: one text three times in ~4 min;
    # flood.mention_all: three @all messages within the hour
    for _ in range(6):
        g, when = someone_free(b.at(9, 30), b.at(17, 0), timedelta(minutes=1))
        who = rng.choice(g.members)
        for i in range(11):
            b.message(when + timedelta(seconds=4 * i), g, who, b.text(8, 30))
        b.planted["flood.rate"] += 1
    for _ in range(6):
        g, when = someone_free(b.at(9, 30), b.at(17, 0), timedelta(minutes=4))
        who, text = rng.choice(g.members), b.text(6, 24)
        for offset in (0, 90, 200):
            b.message(when + timedelta(seconds=offset), g, who, text)
        b.planted["flood.duplicate"] += 1
    for _ in range(4):
        g, when = someone_free(b.at(9, 30), b.at(16, 50), timedelta(minutes=25))
        who = rng.choice(g.members)
        for offset in (0, 600, 1500):
            b.message(when + timedelta(seconds=offset), g, who, "@所有人 " + b.text(10, 30), mention_all=True)
        b.planted["flood.mention_all"] += 1

    # content violations, large files, urgent messages: each by a sender the ladder has not met
    inviter = next(p for p in active if p.rank == "staff")
    b.ladder_used.add(inviter.employee_id)
    for phrase in VIOLATIONS:
        g, when = someone_free(b.at(9, 10), b.at(17, 40), timedelta(0))
        who = rng.choice([p for p in g.members if p.employee_id not in b.ladder_used])
        b.ladder_used.add(who.employee_id)
        b.message(when, g, who, b.text(8, 20) + "," + phrase)
        b.planted["content.*"] += 1
    for name in ("季度汇报.mp4", "设计稿全集.zip"):
        g, when = someone_free(b.at(9, 10), b.at(17, 40), timedelta(0))
        b.message(when, g, rng.choice(g.members), "", msg_type="video" if name.endswith("mp4") else "file",
                  attachment={"name": name, "size": 30 * MIB})  # fmt: skip
        b.planted["media.large_file"] += 1
    for _ in range(2):
        g, when = someone_free(b.at(9, 10), b.at(17, 40), timedelta(0))
        b.message(when, g, rng.choice(g.members), "【紧急】" + b.text(10, 30), urgent=True)
        b.planted["hours.urgent_needs_call"] += 1

    # membership changes, in the groups set aside for them
    t = b.at(10, 5)

    def step() -> datetime:
        nonlocal t
        t += timedelta(minutes=rng.randint(20, 50))
        return t

    b.membership(step(), plant_interest[0], "member_joined", "wx_outsider1", actor_id=inviter.account,
                 nickname="外包-小刘")  # fmt: skip
    b.planted.update({"member.outsider": 1, "member.invited_outsider": 1})
    b.membership(step(), plant_interest[1], "member_joined", "wx_outsider2", actor_id=None, nickname="访客")
    b.planted["member.outsider"] += 1
    gone = next(p for p in people if not p.active)
    b.membership(step(), plant_project, "member_present", gone.account, actor_id=None, nickname=gone.nickname)
    b.planted["member.departed"] += 1
    newcomer = next(p for p in active if p not in plant_project.members)
    b.membership(step(), plant_project, "member_joined", newcomer.account, actor_id=plant_project.owner.account,
                 nickname="小王")  # fmt: skip
    b.planted["member.nickname"] += 1
    stranger = next(p for p in active if p.department != plant_dept.department and p.rank == "staff")
    b.membership(step(), plant_dept, "member_joined", stranger.account, actor_id=plant_dept.owner.account,
                 nickname=stranger.nickname)  # fmt: skip
    b.planted["member.wrong_department"] += 1
    leaver = next(p for p in plant_dept.members if p.rank == "staff")
    b.membership(step(), plant_dept, "member_left", leaver.account, actor_id=None)
    b.planted["member.unauthorized_leave"] += 1
    renamed = plant_interest[2]
    b.membership(step(), renamed, "group_renamed", renamed.owner.account, actor_id=renamed.owner.account,
                 group_name="吃喝玩乐群")  # fmt: skip
    b.planted["group.name"] += 1
    handed = plant_interest[3]
    heir = next(p for p in handed.members if p != handed.owner)
    b.membership(step(), handed, "owner_changed", heir.account, actor_id=handed.owner.account)
    b.planted["group.owner_invalid"] += 1

    # ordinary chat, 09:00-17:55, busier groups more often; the unregistered group too
    weights = [rng.choice((1, 2, 3)) for _ in groups]
    day_start, day_end = b.at(9, 0), b.at(17, 55)
    made = 0
    while made < chat_messages:
        g = rng.choices(groups, weights)[0]
        when = b.between(day_start, day_end)
        if not b.free(g, when):
            continue
        text = rng.choice(SHORT_REPLIES) if rng.random() < 0.15 else b.text(12, 90)
        b.message(when, g, rng.choice(g.members), text)
        made += 1
    b.planted["group.unregistered"] += 1

    # after hours in department and project groups
    for _ in range(4):
        g = rng.choice([g for g in registered if g.kind in ("department", "project")])
        b.message(b.between(b.at(18, 5), b.at(18, 40)), g, rng.choice(g.members), b.text())
        b.planted["hours.off_hours"] += 1

    events = [t.event for t in sorted(b.timed, key=lambda t: (t.at, t.seq))]
    return Day(day, people, groups, events, b.planted)
