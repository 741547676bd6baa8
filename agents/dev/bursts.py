"""Two bursts that used to push a consumer out of its group (docs/runtime.md, "Bursts"), run
against a broker and Redis: `ops/bursts.py` at full size, tests/e2e/test_bursts.py scaled down.

- `roster_burst`: `qunguard roster load` of a generated roster of `rows` employees while a
  worker runs, i.e. one hr.roster event per new employee;
- `webhook_burst`: `violations` violation records for a notifier whose webhook answers each
  request after `delay` seconds.

Each returns a `BurstReport`: how long it took, what the loader's peak memory was, and what would
show an eviction: group (re)joins or eviction lines in the process's log after it was ready, the
process gone, duplicates.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiohttp import web
from confluent_kafka import Consumer, Producer, TopicPartition

from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config, reader_config
from agents.connect.offsets import caught_up, end_offsets
from agents.connect.settings import Settings
from agents.dev.embedded import Service, notifier, worker
from agents.dev.webhook import LocalWebhook
from agents.intake.loaders import load_ledger, load_roster
from agents.notify.run import NotifySettings
from agents.worker.topology import Topology
from config import SAMPLE_DIR
from streams.notify.config import DEFAULT_NOTIFY_CONFIG
from topics.catalog import MESSAGES, ROSTER, VIOLATIONS

# What a consumer leaving its group, or being made to, writes (aiokafka, agents.runtime.watchdog).
EVICTION = re.compile(
    r"UnknownMemberId|Heartbeat session expired|LeaveGroup|\(Re-\)joining group|"
    r"Revoking previously assigned|left its consumer group"
)
READY = "[^Worker]: Ready"  # Faust's line once the app has its partitions


@dataclass
class BurstReport:
    name: str
    size: int
    seconds: float = 0.0  # from the first record of the burst until the last was handled
    loader_seconds: float = 0.0
    loader_peak_mb: float = 0.0
    delivered: int = 0
    duplicates: int = 0
    out_of_order: int = 0  # messages to one recipient delivered in another order than sent
    most_in_flight: int = 0
    evictions: list[str] = field(default_factory=list)
    exited: int | None = None  # the consumer process's exit status, if it stopped
    judged_as: str | None = None  # roster: the employee a violation by the last new account names
    complete: bool = False

    @property
    def ok(self) -> bool:
        return self.complete and not self.evictions and self.exited is None and not self.duplicates

    def summary(self) -> str:
        text = f"{self.name}: {self.size} records in {self.seconds:.1f}s"
        if self.loader_seconds:
            text += f" (loader {self.loader_seconds:.1f}s, peak {self.loader_peak_mb:.0f} MB)"
        if self.delivered:
            rate = self.delivered / self.seconds if self.seconds else 0.0
            text += f"; delivered {self.delivered} ({rate:.0f}/s, {self.most_in_flight} at once at most)"
            text += f", {self.duplicates} duplicates, {self.out_of_order} out of order"
        if self.judged_as is not None:
            text += f"; a violation by the last new account names employee {self.judged_as or '(none)'}"
        text += f"; {len(self.evictions)} eviction lines"
        if self.exited is not None:
            text += f"; the process exited with {self.exited}"
        return text + ("; OK" if self.ok else "; FAILED" if self.complete else "; did not finish")


class LogMark:
    """The lines a process's log gained after the mark."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def lines(self) -> list[str]:
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            return log.read().decode("utf-8", "replace").splitlines()

    def evictions(self) -> list[str]:
        return [line for line in self.lines() if EVICTION.search(line)]


def burst_settings(bootstrap: str, redis_url: str, app_id: str, max_poll_interval: float = 10.0) -> Settings:
    """`qunguard dev`'s timings (a 6 s session, commits every 0.5 s): the strictest we ship."""
    return Settings(
        kafka_bootstrap=bootstrap, redis_url=redis_url, app_id=app_id, session_timeout=6.0,
        max_poll_interval=max_poll_interval, commit_interval=0.5, log_format="text",
    )  # fmt: skip


def wait_ready(proc: Service, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while READY not in proc.log_path.read_text(errors="replace"):
        if not proc.running or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} not ready; see {proc.log_path}")
        time.sleep(0.2)


def wait_committed(bootstrap: str, group: str, topics: list[str], proc: Service, timeout: float) -> bool:
    """Has `group` committed everything `topics` hold now, within `timeout` seconds?"""
    ends = end_offsets(bootstrap, topics)
    deadline = time.monotonic() + timeout
    while not caught_up(bootstrap, group, ends):
        if not proc.running or time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


# roster


def write_roster(path: Path, rows: int) -> str:
    """Write the sample roster plus generated employees, `rows` in all (one account each);
    return the account of the last one."""
    sample = (SAMPLE_DIR / "roster.csv").read_text(encoding="utf-8").splitlines()
    account = ""
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(sample) + "\n")
        for n in range(rows - (len(sample) - 1)):
            account = f"wx_burst{n:07d}"
            out.write(f"B{n:07d},员工{n},销售部,销售专员,staff,active,{account},\n")
    return account


def run_loader(csv: Path, settings: Settings) -> tuple[float, float, str]:
    """`qunguard roster load CSV` as a process: seconds, peak RSS in MB, its summary line."""
    env = {**os.environ, **settings.env()}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "roster", "load", str(csv)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"roster load exited with {proc.returncode}: {output[-2000:]}")
    return time.monotonic() - started, usage.ru_maxrss / 1024, output.strip()


def roster_burst(bootstrap: str, redis_url: str, workdir: Path, rows: int, app_id: str,
                 max_poll_interval: float = 10.0, timeout: float = 600.0) -> BurstReport:  # fmt: skip
    """Load a `rows`-employee roster while a worker runs; the report's `complete` once the worker
    has committed every hr.roster event and every record it forwarded to its member topic."""
    settings = burst_settings(bootstrap, redis_url, app_id, max_poll_interval)
    create_topics(bootstrap)
    load_ledger(SAMPLE_DIR / "ledger.csv", settings)
    load_roster(SAMPLE_DIR / "roster.csv", settings, publish=False)
    proc = worker(workdir, settings.env())
    report = BurstReport("roster load", rows)
    proc.start()
    try:
        wait_ready(proc)
        mark = LogMark(proc.log_path)
        csv = workdir / f"roster-{rows}.csv"
        last = write_roster(csv, rows)
        started = time.monotonic()
        report.loader_seconds, report.loader_peak_mb, _ = run_loader(csv, settings)
        hops = [[ROSTER.name], [Topology(app_id).internal("member").name]]
        report.complete = all(wait_committed(bootstrap, app_id, hop, proc, timeout) for hop in hops)
        report.seconds = time.monotonic() - started
        report.judged_as = probe(bootstrap, last)
        report.evictions = mark.evictions()
        report.exited = None if proc.running else proc.proc.returncode
    finally:
        proc.stop(timeout=20)
    return report


def probe(bootstrap: str, account: str, timeout: float = 60.0) -> str | None:
    """The employee id the worker gives a gambling message from `account` in g-sales ('' when
    the violation names none, None when there is no violation within `timeout`)."""
    event_id = f"burst-probe-{time.time_ns()}"
    reader = Consumer(reader_config(bootstrap, "qunguard-burst-probe"))
    reader.assign(
        [TopicPartition(t, p, o) for (t, p), o in end_offsets(bootstrap, [VIOLATIONS.name]).items()]
    )
    try:
        producer = Producer(producer_config(bootstrap, "qunguard-burst"))
        message = {"kind": "message", "event_id": event_id, "ts": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                   "group_id": "g-sales", "sender_id": account, "sender_name": "", "text": "今晚一起买六合彩"}  # fmt: skip
        producer.produce(MESSAGES.name, key=b"g-sales", value=orjson.dumps(message))
        producer.flush(10)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = reader.poll(0.5)
            if msg is not None and not msg.error():
                violation = orjson.loads(msg.value())
                if event_id in violation.get("source_event_ids", ()):
                    return violation.get("employee_id") or ""
        return None
    finally:
        reader.close()


# webhook


class SlowWebhook(LocalWebhook):
    """An HTTP server on a loopback port that answers every POST after `delay` seconds and
    records the messages it was sent, in arrival order; `counted` those of violations whose id
    starts with `prefix`."""

    def __init__(self, delay: float, prefix: str) -> None:
        super().__init__("/hook")
        self.delay = delay
        self.prefix = prefix
        self.received: list[dict] = []
        self.in_flight = self.most_in_flight = 0

    @property
    def url(self) -> str:
        return f"{self.base_url()}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        body = await request.json()
        await asyncio.sleep(self.delay)
        self.received.append(body)
        self.in_flight -= 1
        return web.json_response({"ok": True})

    def ours(self, body: dict) -> bool:
        return str(body.get("violation_id", "")).startswith(f"{self.prefix}-")

    def counted(self) -> int:
        return sum(1 for body in list(self.received) if self.ours(body))


def write_notify_config(path: Path, url: str, concurrency: int) -> Path:
    """The shipped notify.toml with every role on one webhook, no digests, reminders to the
    subject only (so a burst's messages go to many recipients), `concurrency` deliveries at once."""
    text = DEFAULT_NOTIFY_CONFIG.read_text(encoding="utf-8")
    for pattern, value in (
        (r"(?m)^concurrency = \d+", f"concurrency = {concurrency}"),
        (r"(?m)^severities = \[.*\]", "severities = []"),
        (r"(?m)^group = \[.*\]", "group = []"),
        (r'(?m)^sinks = \["terminal"\]', 'sinks = ["hook"]'),
    ):
        text, found = re.subn(pattern, value, text)
        if not found:
            raise ValueError(f"{DEFAULT_NOTIFY_CONFIG}: no line matches {pattern}")
    text += f'\n[sinks.hook]\ntype = "webhook"\nurl = "{url}"\nformat = "generic"\n'
    path.write_text(text, encoding="utf-8")
    return path


def violation_records(prefix: str, count: int, recipients: int) -> list[bytes]:
    """`count` reminders in g-sales to `recipients` different chat accounts, in turn; violation
    ids `<prefix>-<n>`."""
    return [
        orjson.dumps({
            "violation_id": f"{prefix}-{n}", "rule": "flood.rate", "severity": "medium", "actions": ["remind"],
            "group_id": "g-sales", "subject_id": f"wx_burst{n % recipients:05d}", "employee_id": None,
            "source_event_ids": [f"m-burst-{n}"], "event_ts": "2026-11-23T10:00:00+08:00",
            "detected_at": "2026-11-23T10:00:01+08:00", "clause": "D5.7.1", "evidence": {"count": 10},
            "policy_version": "burst",
        })
        for n in range(count)
    ]  # fmt: skip


def webhook_burst(bootstrap: str, redis_url: str, workdir: Path, violations: int, app_id: str,
                  delay: float = 0.5, concurrency: int = 64, recipients: int = 1000,
                  max_poll_interval: float = 10.0, timeout: float = 900.0) -> BurstReport:  # fmt: skip
    """Send `violations` violation records to a notifier whose webhook takes `delay` s per
    request; the report's `complete` once every message arrived and every offset is committed."""
    prefix = f"v-{app_id}"  # the topic may hold other violations: those are delivered but not counted
    hook = SlowWebhook(delay, prefix)
    hook.start()
    hook.ready.wait(10)
    settings = burst_settings(bootstrap, redis_url, app_id, max_poll_interval)
    notify = NotifySettings(str(write_notify_config(workdir / "notify.toml", hook.url, concurrency)), app_id)
    create_topics(bootstrap)
    load_ledger(SAMPLE_DIR / "ledger.csv", settings)
    load_roster(SAMPLE_DIR / "roster.csv", settings, publish=False)
    proc = notifier(workdir, {**settings.env(), **notify.env()})
    report = BurstReport("webhook", violations)
    proc.start()
    try:
        wait_ready(proc)
        mark = LogMark(proc.log_path)
        producer = Producer(producer_config(bootstrap, "qunguard-burst"))
        started = time.monotonic()
        for value in violation_records(prefix, violations, recipients):
            while True:
                try:
                    producer.produce(VIOLATIONS.name, key=b"g-sales", value=value)
                    break
                except BufferError:
                    producer.poll(0.2)
        producer.flush(60)
        deadline = started + timeout
        while hook.counted() < violations and proc.running and time.monotonic() < deadline:
            time.sleep(0.5)
        report.seconds = time.monotonic() - started
        topics = [[VIOLATIONS.name], [f"{app_id}-recipient"]]
        committed = all(wait_committed(bootstrap, app_id, hop, proc, 60) for hop in topics)
        report.complete = committed and hook.counted() >= violations
        report.evictions = mark.evictions()
        report.exited = None if proc.running else proc.proc.returncode
    finally:
        proc.stop(timeout=20)
        hook.stop()
    ours = [body for body in hook.received if hook.ours(body)]
    ids = [body["message_id"] for body in ours]
    report.delivered = len(set(ids))
    report.duplicates = len(ids) - len(set(ids))
    report.out_of_order = _out_of_order(ours)
    report.most_in_flight = hook.most_in_flight
    return report


def _out_of_order(received: list[dict]) -> int:
    """Messages that reached their recipient after a later violation of the same recipient."""
    last: dict[str, int] = collections.defaultdict(lambda: -1)
    late = 0
    for body in received:
        recipient = f"{body['recipient']['role']}|{body['recipient']['key']}"
        number = int(body["violation_id"].rsplit("-", 1)[1])
        if number < last[recipient]:
            late += 1
        last[recipient] = max(last[recipient], number)
    return late
