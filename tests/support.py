"""Helpers shared by the test folders: input events, the settings and reference data of a worker
under test, reading output topics until a condition holds, polling a process's web pages.

Test modules import from here, never from one another."""

from __future__ import annotations

import collections
import functools
import importlib.util
import itertools
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from datetime import time as clock_time
from pathlib import Path
from types import ModuleType
from typing import Any

import chinese_calendar
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config, reader_config
from agents.connect.offsets import Membership
from agents.connect.settings import Settings
from agents.intake.loaders import load_ledger, load_roster
from config import SAMPLE_DIR
from streams.core.directory import MemoryLedger, MemoryRoster
from streams.core.policy import DEFAULT_POLICY, Policy, load_policy
from topics.catalog import DEADLETTER, MEMBERSHIP, MESSAGES, VIOLATIONS
from topics.reference import read_ledger, read_roster
from topics.violation import Violation, violation_id


def message(event_id: str, group: str, sender: str, text: str) -> bytes:
    return orjson.dumps(
        {"kind": "message", "event_id": event_id, "ts": "2026-11-23T10:00:00+08:00", "group_id": group,
         "sender_id": sender, "sender_name": "", "text": text}
    )  # fmt: skip


def self_signed_certificate(folder: Path) -> tuple[str, str]:
    """A certificate for localhost and 127.0.0.1 and its unencrypted key (PEM files, via openssl);
    it serves as its own CA."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


# A worker or notifier under test


def recent_working_morning() -> datetime:
    """10:00 Beijing time (in UTC) of the last working day before today: an event time within the
    admission bounds whatever year the suite runs in, and inside working hours whatever time of
    day it runs at, so no hours.* finding joins the ones a test expects."""
    beijing = timezone(timedelta(hours=8))
    day = datetime.now(beijing).date() - timedelta(days=1)
    while not chinese_calendar.is_workday(day):
        day -= timedelta(days=1)
    return datetime.combine(day, clock_time(10), beijing).astimezone(UTC)


def ops_tool(name: str) -> ModuleType:
    """ops/NAME.py loaded from its file (ops/ is not a package); a fresh module object on every call."""
    path = Path(__file__).resolve().parents[1] / "ops" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"qunguard_ops_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def e2e_settings(bootstrap: str, redis_url: str, app_id: str = "qunguard", **overrides: Any) -> Settings:
    """The settings of a process under test: `qunguard dev`'s timings, a 6 s session, a 10 s max
    poll interval (group joins on the embedded broker wait up to it) and commits every 0.5 s."""
    timings: dict[str, Any] = {"session_timeout": 6.0, "max_poll_interval": 10.0, "commit_interval": 0.5}
    return Settings(kafka_bootstrap=bootstrap, redis_url=redis_url, app_id=app_id, **{**timings, **overrides})


def load_sample(settings: Settings, publish: bool = True) -> None:
    """The topics, and the sample ledger and roster in Redis (`publish`: the roster's hr.roster events too)."""
    create_topics(settings.kafka_bootstrap)
    load_ledger(SAMPLE_DIR / "ledger.csv", settings)
    load_roster(SAMPLE_DIR / "roster.csv", settings, publish=publish)


# Reading output topics


class Reader:
    """The records of `topics` from their start, read as asked and kept: each `until` goes on
    where the one before stopped. Its partitions are assigned, not subscribed: no consumer-group
    join to wait for (about 3 s on the embedded broker), no rebalance that reads them again."""

    def __init__(self, bootstrap: str, topics: tuple[str, ...] = (VIOLATIONS.name, DEADLETTER.name)) -> None:
        self.consumer = Consumer(reader_config(bootstrap, "e2e"))
        metadata = self.consumer.list_topics(timeout=10)
        missing = [t for t in topics if t not in metadata.topics]
        assert not missing, f"no topic {missing} on {bootstrap}"
        self.consumer.assign(
            [
                TopicPartition(t, p, OFFSET_BEGINNING)
                for t in topics
                for p in sorted(metadata.topics[t].partitions)
            ]
        )
        self.seen: list = []
        self._fetched: collections.deque = collections.deque()

    def until(self, done: Callable[[list], Any], timeout: float = 90.0) -> list:
        """Every record read so far, up to the first one after which `done(records)` holds, or
        to `timeout`. Records are fetched in batches but taken one at a time, as by `poll`."""
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            if self._fetched:
                self.seen.append(self._fetched.popleft())
            elif time.monotonic() < deadline:
                self._fetched.extend(m for m in self.consumer.consume(500, timeout=0.2) if not m.error())
            else:
                break
        return self.seen

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_until(
    bootstrap: str, done, timeout: float = 90.0, topics: tuple[str, ...] = (VIOLATIONS.name, DEADLETTER.name)
) -> list:
    """Messages of `topics` (from the start) until `done(messages)` holds or `timeout` passes."""
    with Reader(bootstrap, topics) as reader:
        return list(reader.until(done, timeout))


def violations_of(msgs, event_ids: set[str]) -> list[dict]:
    """The violation records among `msgs` whose source events include one of `event_ids`."""
    found = [orjson.loads(m.value()) for m in msgs if m.topic() == VIOLATIONS.name]
    return [v for v in found if set(v["source_event_ids"]) & event_ids]


def violations_for(bootstrap: str, event_ids: set[str], timeout: float = 60.0) -> list[dict]:
    """Violation records whose source events include one of `event_ids`, read until one shows up."""
    return violations_of(
        read_until(bootstrap, lambda msgs: violations_of(msgs, event_ids), timeout=timeout), event_ids
    )


# A line that fires content.gambling: sent last into one group (one partition), its violation means
# every message sent before it was judged.
JUDGED_MARKER = "今晚一起买六合彩,赌球稳赚"


def verdicts_in_order(
    bootstrap: str,
    bodies: Iterable[tuple[str, str]],
    marker: str,
    log: Path,
    counts: Callable[[str], bool],
    client: str = "e2e-verdicts",
) -> dict[str, list[dict]]:
    """Send (event id, text) `bodies` and then JUDGED_MARKER as event `marker` into group g-sales,
    read the violations until the marker's shows up, and return those of rules `counts` keeps,
    per source event. `log`: the worker's log, shown when the marker never comes out."""
    producer = Producer(producer_config(bootstrap, client))
    for event_id, body in [*bodies, (marker, JUDGED_MARKER)]:
        producer.produce(
            MESSAGES.name, key=b"g-sales", value=message(event_id, "g-sales", "wx_wanglei", body)
        )
    assert producer.flush(10) == 0

    def kept(msgs) -> list[dict]:
        found = [orjson.loads(m.value()) for m in msgs if m.topic() == VIOLATIONS.name]
        return [v for v in found if counts(v["rule"])]

    def judged(msgs) -> bool:
        return any(marker in v["source_event_ids"] for v in kept(msgs))

    msgs = read_until(bootstrap, judged, timeout=120)
    assert judged(msgs), log.read_text()[-3000:]
    by_event: dict[str, list[dict]] = {}
    for violation in kept(msgs):
        for event_id in violation["source_event_ids"]:
            by_event.setdefault(event_id, []).append(violation)
    return by_event


def distinct(msgs, event_ids: set[str], rule: str | None = None) -> list[dict]:
    """Distinct violations (by violation id: delivery is at-least-once) on any of `event_ids`,
    of `rule` if given."""
    found = {v["violation_id"]: v for v in violations_of(msgs, event_ids)}
    return [v for v in found.values() if rule in (None, v["rule"])]


# A process's web server and log


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def readyz(port: int) -> tuple[int, dict] | None:
    try:
        status, body = get(port, "/readyz")
    except OSError:
        return None  # not listening yet
    return status, orjson.loads(body)


def metric_value(body: bytes, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


def wait_for(condition, timeout: float, what: str, log: Path, every: float = 0.2):
    """`condition()`'s first true value, polled every `every` s; fails with the log's tail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what} within {timeout}s\n{log.read_text(errors='replace')[-3000:]}")


# People, groups and events of one end-to-end test

ROSTER_HEADER = "employee_id,name,department,title,rank,status,accounts,left_at\n"
LEDGER_HEADER = (
    "group_id,name,kind,department,owner_id,admins,purpose,created_at,expires_at,approved,classified\n"
)
Record = tuple[str, str, str, bytes]  # topic, event id, key, value


class Scene:
    """Accounts, groups and reference files unique to one test (the broker is shared)."""

    def __init__(self, unique: str, tmp_path: Path) -> None:
        self.u, self.dir = unique, tmp_path
        self.lead, self.staff, self.flooder = f"wx_{unique}_lead", f"wx_{unique}_staff", f"wx_{unique}_flood"
        self.notices, self.chat = f"g-{unique}-notices", f"g-{unique}-chat"
        self.start = datetime.now(UTC).replace(microsecond=0)
        self.count = 0

    def settings(self, bootstrap: str, redis_url: str, **kw) -> Settings:
        return e2e_settings(bootstrap, redis_url, f"qg-behaviour-{self.u}", **kw)

    def load_reference(self, settings: Settings) -> None:
        roster = self.dir / "roster.csv"
        roster.write_text(
            ROSTER_HEADER
            + f"E{self.u}1,李娜,销售部,组长,team_lead,active,{self.lead},\n"
            + f"E{self.u}2,张伟,销售部,销售代表,staff,active,{self.staff},\n"
            + f"E{self.u}3,赵磊,销售部,销售代表,staff,active,{self.flooder},\n",
            encoding="utf-8",
        )
        ledger = self.dir / "ledger.csv"  # interest groups: no off-hours findings at any wall-clock time
        ledger.write_text(
            LEDGER_HEADER
            + f"{self.notices},通知群,interest,行政部,E{self.u}1,,,,,true,false\n"
            + f"{self.chat},闲聊群,interest,行政部,E{self.u}1,,,,,true,false\n",
            encoding="utf-8",
        )
        create_topics(settings.kafka_bootstrap)
        load_ledger(ledger, settings)
        load_roster(roster, settings, publish=False)

    def message(self, group: str, sender: str, seconds: float, **fields) -> Record:
        self.count += 1
        event_id = f"m-{self.u}-{self.count}"
        ts = (self.start + timedelta(seconds=seconds)).isoformat()
        record = {"kind": "message", "event_id": event_id, "ts": ts, "group_id": group, "sender_id": sender,
                  "text": fields.pop("text", f"第{self.count}条"), **fields}  # fmt: skip
        return MESSAGES.name, event_id, group, orjson.dumps(record)

    def present(self, group: str, member: str) -> Record:
        self.count += 1
        event_id = f"e-{self.u}-{self.count}"
        record = {"kind": "membership", "event_id": event_id, "ts": self.start.isoformat(), "group_id": group,
                  "action": "member_present", "member_id": member}  # fmt: skip
        return MEMBERSHIP.name, event_id, group, orjson.dumps(record)

    def burst(self, seconds: Iterable[float]) -> list[Record]:
        return [self.message(self.chat, self.flooder, s) for s in seconds]

    @staticmethod
    def produce(bootstrap: str, records: list[Record]) -> list[tuple[str, int, int]]:
        """Produce (topic, event id, key, value) records; return each one's (topic, partition, offset)."""
        producer = Producer(producer_config(bootstrap, "e2e-behaviour"))
        delivered: list[tuple[str, int, int]] = []
        for topic, _, key, value in records:
            producer.produce(
                topic, key=key.encode(), value=value,
                on_delivery=lambda err, msg: delivered.append((msg.topic(), msg.partition(), msg.offset())),
            )  # fmt: skip
        assert producer.flush(10) == 0
        assert len(delivered) == len(records)
        return delivered

    @staticmethod
    def ids(records: list[Record]) -> list[str]:
        return [event_id for _, event_id, _, _ in records]


# Builders shared by unit and integration tests


def edited(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The shipped policy with each (old, new) replaced once."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


FIVE_MISTAKES = (
    ("count = 10\n", "count = -5\ncuont = 3\n"),  # flood.rate: a negative count and a misspelt parameter
    ('actions = ["remind"]\nclause = "D1.6', 'actions = ["remnd"]\nclause = "D1.6'),  # content.rumor
    ("count = 3\nmin_chars = 5\nwindow_seconds = 600", 'count = 3\nmin_chars = 5\nwindow_seconds = "60"'),
    ('[rules."group.zombie"]', '[rules."group.zombi"]'),
)

SAMPLE_ROSTER = MemoryRoster(read_roster(SAMPLE_DIR / "roster.csv"))
SAMPLE_LEDGER = MemoryLedger(read_ledger(SAMPLE_DIR / "ledger.csv"))


@functools.cache
def shipped_policy() -> Policy:
    return load_policy()


def sample_violation(rule: str = "content.gambling", **fields: Any) -> Violation:
    """A violation of `rule` as the shipped policy words it, by the sample's wx_wanglei in g-sales."""
    policy = shipped_policy().rule(rule)
    base = dict(
        violation_id="v-1", rule=rule, severity=policy.severity, actions=policy.actions, group_id="g-sales",
        subject_id="wx_wanglei", employee_id="E0006", source_event_ids=("m-1",),
        event_ts="2026-11-23T10:00:00+08:00", detected_at="2026-11-23T10:00:01+08:00", clause=policy.clause,
        evidence={"terms": ["六合彩"], "excerpt": "今晚买六合彩"},
    )  # fmt: skip
    base.update(fields)
    return Violation(**base)


LADDER_START = datetime.fromisoformat("2026-03-02T10:00:00+08:00")
_ladder_ids = itertools.count(1)


def ladder_violation(
    rule: str,
    employee: str | None = "E1",
    days: float = 0,
    group: str = "g-a",
    subject: str = "wx_a",
    event_id: str | None = None,
) -> Violation:
    """A violation `days` after LADDER_START, as the ladder receives it."""
    event_id = event_id or f"m-{next(_ladder_ids)}"
    ts = (LADDER_START + timedelta(days=days)).isoformat()
    spec = shipped_policy().rule(rule)
    return Violation(
        violation_id=violation_id(rule, subject, group, (event_id,)), rule=rule, severity=spec.severity,
        actions=spec.actions, group_id=group, subject_id=subject, employee_id=employee,
        source_event_ids=(event_id,), event_ts=ts, detected_at=ts, clause=spec.clause,
    )  # fmt: skip


class ScriptedOffsets:
    """An in-memory offset source: the test sets committed offsets, members and log ends per round."""

    method = "scripted"

    def __init__(self) -> None:
        self.committed_offsets: dict[str, dict[tuple[str, int], int]] = {}
        self.member_count: dict[str, int] = {}
        self.ends: dict[tuple[str, int], int] = {}

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        return dict(self.committed_offsets.get(group, {}))

    def membership(self, group: str) -> Membership:
        count = self.member_count.get(group, 0)
        return Membership("STABLE" if count else "EMPTY", count)

    def end_offsets(self, tps) -> dict[tuple[str, int], int]:
        return {tp: self.ends[tp] for tp in tps}
