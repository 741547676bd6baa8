"""Deterministic benchmark input: the mix of config/sample/events.jsonl at any size.

Messages of 40-120 Chinese characters from ordinary work talk, ~2 % carrying a violation taken
from the sample, ~10 % membership events, spread over the sample's groups and accounts on an
event-time line of one second per event (no sender floods a group) inside working time
(`event_time`). The same seed gives the same bytes, so every measured run of one bench sees the
same topic contents.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from config import SAMPLE_DIR
from topics.catalog import MEMBERSHIP, MESSAGES
from topics.reference import read_ledger, read_roster

START = datetime.fromisoformat("2026-11-23T09:00:00+08:00")  # a Monday, when working time begins
WORKDAY_SECONDS = 9 * 3600  # 09:00-18:00, the sample policy's working time
MEMBERSHIP_SHARE = 0.10
VIOLATION_SHARE = 0.02

# Clauses of everyday work chat; messages are built by joining them to the drawn length.
WORK_TALK = (
    "华东区本周报价单已更新到共享盘",
    "大家下午前确认一下客户名单",
    "客户发来的新版合同我看过了",
    "周三前回复法务意见",
    "测试环境的回归用例今天跑完",
    "缺陷单已经提到系统里了",
    "下周一消防演练九点在一楼大厅集合",
    "月底冲刺目标已经发在邮件里",
    "大家按区域分工跟进",
    "门户上线前请把部署文档再过一遍",
    "会议室改到三楼东侧",
    "财务提醒本月报销单周五前提交",
    "请各组长汇总一下本周工作进展",
    "新同事明天入职请帮忙开通账号",
    "客户那边反馈界面加载有点慢",
    "我们排查后发现是缓存配置的问题",
    "季度复盘材料放在项目空间了",
    "明早十点和供应商开视频会",
    "样品已经寄出预计后天到",
    "这个需求先排到下个迭代",
    "接口文档更新了请前端同学看一下",
    "周报模板有调整按新模板填写",
    "年会节目报名截止到本周四",
    "培训课件发在群文件里了",
)
PUNCTUATION = ",,。;、"

# Violating phrases from the sample events (gambling, ad, insult, link, confidential, rumor …).
VIOLATIONS = (
    "兄弟们今晚一起买六合彩吗,赌球也行,稳赚不赔",
    "兼职刷单日结三百,有意加微信 vx: haoyun888 详聊",
    "你个傻逼,这点需求都看不懂",
    "新版安装包在这里 http://203.0.113.45/download/setup.exe 直接装就行",
    "【机密】新产品定价方案:底价每套 12800 元,请勿外传",
    "听说公司下个月要裁员一半,大家赶紧找下家吧",
    "研发部那帮人就是一群废物,什么都做不好",
)
# What every latency probe says: one content.gambling violation per event.
PROBE_VIOLATION = "兄弟们今晚一起买六合彩吗,赌球也行,稳赚不赔"


@dataclass(frozen=True, slots=True)
class BenchRecord:
    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Account:
    account: str
    nickname: str


@functools.cache
def population() -> tuple[tuple[Account, ...], tuple[str, ...]]:
    """The sample's active accounts (with their rule-abiding nicknames) and its ledger groups."""
    accounts = tuple(
        Account(account, f"{e.department}-{e.name}")
        for e in read_roster(SAMPLE_DIR / "roster.csv")
        if e.status == "active"
        for account in e.accounts
    )
    return accounts, tuple(g.group_id for g in read_ledger(SAMPLE_DIR / "ledger.csv"))


def work_text(rng: random.Random, low: int = 40, high: int = 120) -> str:
    target = rng.randint(low, high)
    parts: list[str] = []
    size = 0
    while size < target:
        clause = rng.choice(WORK_TALK) + rng.choice(PUNCTUATION)
        parts.append(clause)
        size += len(clause)
    return "".join(parts)[:target]


def message(event_id: str, ts: datetime, group: str, sender: Account, text: str) -> bytes:
    return orjson.dumps(
        {"kind": "message", "event_id": event_id, "ts": ts.isoformat(), "group_id": group,
         "sender_id": sender.account, "sender_name": sender.nickname, "msg_type": "text", "text": text}
    )  # fmt: skip


def membership(event_id: str, ts: datetime, group: str, member: Account) -> bytes:
    return orjson.dumps(
        {"kind": "membership", "event_id": event_id, "ts": ts.isoformat(), "group_id": group,
         "action": "member_present", "member_id": member.account, "actor_id": None,
         "nickname": member.nickname}
    )  # fmt: skip


def event_time(n: int) -> datetime:
    """The event time of record number `n`: one second after the one before, inside working time
    (09:00-18:00, Monday to Friday; a record after 18:00 is the next working day's at 09:00). After
    18:00 every message in a work group is an hours.off_hours violation: the latency stream, which
    continues this line, crossed 18:00 near its end and turned from 2 % violations into ~90 %."""
    day, second = divmod(n, WORKDAY_SECONDS)
    weeks, weekday = divmod(day, 5)
    return START + timedelta(days=7 * weeks + weekday, seconds=second)


def generate(
    count: int, seed: int = 7, prefix: str = "bench", first: int = 0, violation_share: float = VIOLATION_SHARE
) -> list[BenchRecord]:
    """`count` input records in produce order, numbered (event id and event time) from `first`;
    the same arguments give the same bytes."""
    rng = random.Random(seed)
    accounts, groups = population()
    records = []
    for n in range(first, first + count):
        ts = event_time(n)
        group = rng.choice(groups)
        who = rng.choice(accounts)
        draw = rng.random()
        if draw < MEMBERSHIP_SHARE:
            value = membership(f"{prefix}-e{n:07d}", ts, group, who)
            records.append(BenchRecord(MEMBERSHIP.name, group.encode(), value))
            continue
        if draw < MEMBERSHIP_SHARE + violation_share:
            text = rng.choice(VIOLATIONS)
            text = work_text(rng, 10, max(11, 110 - len(text))) + text
        else:
            text = work_text(rng)
        records.append(
            BenchRecord(MESSAGES.name, group.encode(), message(f"{prefix}-m{n:07d}", ts, group, who, text))
        )
    return records


def probe(seq: int, ts: datetime, prefix: str = "probe") -> BenchRecord:
    """A latency probe: a message that yields a content violation; its event id is `{prefix}-{seq}`.

    Senders and groups rotate and callers space `ts` (event time) widely, so that no flood rule
    sees a burst from one sender in one group.
    """
    accounts, groups = population()
    group = groups[seq % len(groups)]
    sender = accounts[(seq // len(groups)) % len(accounts)]
    filler = WORK_TALK[seq % len(WORK_TALK)] + WORK_TALK[(seq * 7 + 3) % len(WORK_TALK)]
    text = f"{filler},{PROBE_VIOLATION}({seq})"
    return BenchRecord(MESSAGES.name, group.encode(), message(f"{prefix}-{seq}", ts, group, sender, text))


def latency_stream(
    count: int, first: int, probe_every: int, seed: int, prefix: str
) -> list[tuple[BenchRecord, str | None]]:
    """`count` records continuing the bench's event line at `first` (fresh event ids, later event
    times): the mix with every `probe_every`-th record a probe instead of the mix's own violations,
    so the violation share stays the mix's. Each record comes with its probe's event id or None.
    """
    mix = generate(count, seed, f"{prefix}-mix", first, violation_share=0.0)
    out: list[tuple[BenchRecord, str | None]] = []
    for n, record in enumerate(mix):
        if n % probe_every == probe_every - 1:
            seq = n // probe_every
            out.append((probe(seq, event_time(first + n), prefix), f"{prefix}-{seq}"))
        else:
            out.append((record, None))
    return out
