"""`qunguard dev` (what `make demo` runs): the whole pipeline on embedded services.

Starts Tansu and Redis on free loopback ports, creates the topics, loads the sample roster and
ledger, starts a worker process, feeds the sample events (and one poison record, to show the
dead-letter path), prints each violation as it arrives until the worker has committed every input
record and every violation has been read, then sends one reviewer's verdict (a group owner judges a
content violation that gave a warning a false positive, docs/review.md) and prints what it did,
then the notifier's messages, and exits. `--follow` keeps everything running and
starts a worker or notifier that exits again (agents.dev.supervise) until Ctrl-C.
Whatever happens, every process it started is stopped on the way out.
"""

from __future__ import annotations

import collections
import re
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer

from agents.cli.table import row
from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config, reader_config
from agents.connect.offsets import caught_up, end_offsets
from agents.connect.settings import Settings
from agents.dev.embedded import Service, embedded_stack, worker
from agents.dev.notifier import BLOCK_START, DevNotifier
from agents.dev.supervise import Supervised
from agents.intake.feed import feed_file
from agents.intake.loaders import load_ledger, load_roster
from agents.runtime.deadletter import REASON_HEADER
from agents.worker.topology import Topology
from config import SAMPLE_DIR
from streams.core.policy import DEFAULT_POLICY
from streams.ladder.steps import RETRACTED, WARNING
from topics.catalog import DEADLETTER, FEEDBACK, INPUT_TOPICS, MESSAGES, VIOLATIONS
from topics.feedback import FALSE_POSITIVE, Verdict

WIDTHS = (26, 16, 18, 48)
DEMO_FALSE_ALARM = "content.malicious_link"  # the sample's link to an internal build server
DEMO_FEEDBACK_ID = "f-demo-1"
POISON = b'{"kind": "message", "event_id": "demo-poison", "ts": "yesterday-ish"'
DONE_TIMEOUT = 120.0


def run_dev(events: str | None = None, follow: bool = False, workdir: str | Path = ".qunguard/dev") -> int:
    events_path = Path(events) if events else SAMPLE_DIR / "events.jsonl"
    if not events_path.is_file():
        print(f"qunguard dev: {events_path}: no such file", file=sys.stderr)
        return 2
    # Ctrl-C and SIGTERM both stop the stack cleanly; SIGINT is set explicitly because a process
    # started in the background by a non-interactive shell inherits it ignored (and Python then
    # installs no KeyboardInterrupt handler), which left `dev --follow` deaf to Ctrl-C there.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    with embedded_stack(workdir) as stack:
        policy_path, policy_changes = dev_policy(stack.workdir)
        settings = Settings(
            kafka_bootstrap=stack.bootstrap,
            redis_url=stack.redis_url,
            session_timeout=6.0,
            max_poll_interval=10.0,
            commit_interval=0.5,
            tick_interval=2.0,
            log_format="text",
            policy_path=str(policy_path),
        )
        say(f"broker  Tansu on {stack.bootstrap} (pid {stack.broker.proc.pid})")
        say(f"redis   {stack.redis_url} (pid {stack.redis.proc.pid})   logs in {stack.workdir}")
        say(f"policy  {policy_path}: the shipped policy, but for the demo")
        for change in policy_changes:
            say(f"        {change}")
        for topic, outcome in create_topics(stack.bootstrap).items():
            say(f"topic   {topic}: {outcome}")
        say(load_ledger(SAMPLE_DIR / "ledger.csv", settings).summary())
        say(load_roster(SAMPLE_DIR / "roster.csv", settings).summary())
        proc = worker(stack.workdir, settings.env())
        notify = DevNotifier(stack.workdir, settings)
        watcher = Consumer(reader_config(stack.bootstrap, "qunguard-dev", **{"enable.partition.eof": True}))
        try:
            proc.start()
            say(f"worker  started (pid {proc.proc.pid}), consumer group {settings.app_id!r}")
            say(notify.start())
            warnings: list[dict] = []
            code = _show(stack.bootstrap, settings, proc, events_path, follow, notify, watcher, warnings)
            if code == 0 and not follow:
                code = _show_verdict(stack.bootstrap, settings, watcher, warnings)
            return _show_notifications(stack.bootstrap, notify) if code == 0 else code
        finally:
            # the processes first: closing the watcher leaves its consumer group, which can take
            # a while, and Ctrl-C must not leave a worker or notifier behind meanwhile
            notify.stop()
            proc.stop(timeout=20)
            say("stopped notifier")
            watcher.close()
            say("stopped worker, broker and redis")


def _show(
    bootstrap: str,
    settings: Settings,
    proc: Service,
    events_path: Path,
    follow: bool,
    notify: DevNotifier,
    watcher: Consumer,
    warnings: list[dict],
) -> int:
    """Feed the events and print what comes out; `warnings` gets the discipline.warning records."""
    watcher.subscribe([VIOLATIONS.name, DEADLETTER.name])
    try:
        # Membership first: who is in a group is known before its messages are judged (e.g. who
        # must acknowledge a notice). The two topics are consumed independently, so a single feed
        # could let a notice overtake the snapshot of its group's members.
        members, messages = _split(events_path, proc.log_path.parent / "feed")
        say(feed_file(members, bootstrap, progress=False).summary())
        _wait(bootstrap, settings.app_id, [t.name for t in INPUT_TOPICS], proc)
        say(feed_file(messages, bootstrap, progress=False).summary())
        _produce_poison(bootstrap)
        hops = WorkerHops(bootstrap, settings.app_id)
        print()
        print(row(("rule", "group", "subject", "evidence"), WIDTHS))
        print(row(("-" * 26, "-" * 16, "-" * 18, "-" * 48), WIDTHS))
        counts: collections.Counter[str] = collections.Counter()
        deadline = time.monotonic() + DONE_TIMEOUT
        quiet_since = time.monotonic()
        # --follow restarts a worker or notifier that exits (agents.dev.supervise)
        supervised = [Supervised(proc), Supervised(notify.proc)] if follow else []
        while True:
            for child in supervised:
                if line := child.check():
                    say(line)
            if not follow and not proc.running:
                say(f"worker exited with {proc.proc.returncode}; see {proc.log_path}")
                return 1
            msg = watcher.poll(0.5)
            if follow:
                print(notify.new_text(), end="", flush=True)
            if msg is not None and not msg.error():
                record = _print_record(msg, counts)
                if record is not None and record["rule"] == WARNING:
                    warnings.append(record)
                quiet_since = time.monotonic()
                continue
            settled = time.monotonic() - quiet_since > 1.0
            if not follow and settled and hops.done() and _drained(watcher):
                break
            if not follow and time.monotonic() > deadline:
                say(f"the worker did not finish the sample within {DONE_TIMEOUT:.0f}s; see {proc.log_path}")
                return 1
        print()
        say(f"done: {sum(counts.values())} records out")
        for name, count in sorted(counts.items()):
            print(f"  {count:4d}  {name}")
        return 0
    except KeyboardInterrupt:
        say("interrupted")
        return 130


def _show_verdict(bootstrap: str, settings: Settings, watcher: Consumer, warnings: list[dict]) -> int:
    """One reviewer's verdict: the ledger owner of its group judges a content violation that gave a
    warning (the sample's link to an internal build server, when there) a false positive; print the
    discipline.retracted records the worker emits and the allow entry it leaves."""
    from agents.stores.allow import RedisAllowEntries
    from agents.stores.reference import ReferenceStore

    content = [w for w in warnings if str(w["evidence"].get("rule", "")).startswith("content.")]
    warning = next((w for w in content if w["evidence"]["rule"] == DEMO_FALSE_ALARM), None)
    warning = warning or (content[0] if content else None)
    _, groups = ReferenceStore.from_settings(settings).ledger()
    group = groups.get(warning["group_id"] or "") if warning else None
    print()
    if warning is None or group is None:
        say("verdict  none sent: no content violation in a ledger group gave a warning")
        return 0
    judged, rule = warning["evidence"]["violation_id"], warning["evidence"]["rule"]
    verdict = Verdict(DEMO_FEEDBACK_ID, datetime.now(UTC), judged, group.group_id, FALSE_POSITIVE,
                      group.owner_id, "qunguard dev: 误报示例")  # fmt: skip
    producer = Producer(producer_config(bootstrap, "qunguard-dev"))
    producer.produce(FEEDBACK.name, key=verdict.key.encode(), value=verdict.to_bytes())
    producer.flush(10)
    say(f"verdict  {group.owner_id}, owner of {group.group_id}, judges {rule} {judged}"
        f" ({', '.join(warning['source_event_ids'])}) a false positive → {FEEDBACK.name}")  # fmt: skip
    retracted: collections.Counter[str] = collections.Counter()
    deadline, quiet_since = time.monotonic() + DONE_TIMEOUT, None
    while quiet_since is None or time.monotonic() - quiet_since < 1.0:
        if time.monotonic() > deadline:
            say(f"the worker did not retract the warning within {DONE_TIMEOUT:.0f}s")
            return 1
        msg = watcher.poll(0.5)
        if msg is not None and not msg.error() and msg.topic() == VIOLATIONS.name:
            record = orjson.loads(msg.value())
            if (record.get("evidence") or {}).get("feedback_id") == DEMO_FEEDBACK_ID:
                _print_record(msg, retracted)
                quiet_since = time.monotonic()
    for entry in RedisAllowEntries.from_settings(settings).entries():
        if entry.feedback_id == DEMO_FEEDBACK_ID:
            allows = ", ".join(entry.terms) or entry.excerpt
            say(f"allowed  {entry.entry_id} in {entry.scope}: {entry.rule} {allows}; the same message no"
                " longer fires there, elsewhere it still does (`qunguard allow list`)")  # fmt: skip
    say(f"retracted {sum(retracted.values())} step(s) of {warning['employee_id']}: `qunguard discipline show"
        f" {warning['employee_id']}` lists them as withdrawn; the notifier tells HR and the employee")  # fmt: skip
    return 0


def _show_notifications(bootstrap: str, notify: DevNotifier) -> int:
    """Print what the notifier's log sink wrote, once every violation and digest is out."""
    if not notify.settle(bootstrap, DONE_TIMEOUT):
        say(f"the notifier did not finish within {DONE_TIMEOUT:.0f}s; see {notify.proc.log_path}")
        return 1
    text = notify.new_text()
    print()
    say("notifications (qunguard notify, log sink; docs/notify.md):")
    print()
    print(text, end="")
    digests = text.count("【群规提醒汇总】")
    say(f"notified: {text.count(BLOCK_START)} messages, {digests} of them digests of low-severity reminders")
    return 0


@dataclass(frozen=True, slots=True)
class PolicyChange:
    key: str
    dev: str
    shipped: str
    why: str

    def __str__(self) -> str:
        return f"{self.key} = {self.dev} (shipped: {self.shipped}): {self.why}"


# What `qunguard dev` changes in the shipped policy for a whole day of sample events fed at once;
# `run_dev` says so at start. Live traffic keeps the shipped values.
DEV_POLICY: tuple[tuple[str, str, str], ...] = (
    ("sweep_interval_seconds", "5", "membership is swept every 5 s instead of daily, so the sweep's"
     " findings (a leader missing from the company group) show up in a short run"),
    ("out_of_order_seconds", "86400", "a day of events is fed at once and the partitions of a backfill"
     " are consumed at their own pace (a broadcast to three groups reaches the sender's state in any"
     " order), so events may arrive a day out of event-time order"),
)  # fmt: skip


def dev_policy(workdir: Path) -> tuple[Path, list[PolicyChange]]:
    """The shipped policy with DEV_POLICY's values, written to `workdir`, and what changed."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    changes = []
    for key, value, why in DEV_POLICY:
        found = re.search(rf"(?m)^{key} = ([^#\n]*?)\s*(#|$)", text)
        if found is None or found.group(1) == value:
            continue
        changes.append(PolicyChange(key, value, found.group(1), why))
        text = text[: found.start(1)] + value + text[found.end(1) :]
    path = workdir / "policy.toml"
    path.write_text(text, "utf-8")
    return path, changes


def _split(events: Path, folder: Path) -> tuple[Path, Path]:
    """The events file as two files: membership and roster events, then messages (file order)."""
    folder.mkdir(parents=True, exist_ok=True)
    members, messages = folder / "membership.jsonl", folder / "messages.jsonl"
    with open(events, "rb") as source, open(members, "wb") as first, open(messages, "wb") as second:
        for line in source:
            (second if b'"kind": "message"' in line or b'"kind":"message"' in line else first).write(line)
    return members, messages


class WorkerHops:
    """Has the worker committed everything the sample gives it, hop by hop? The inputs first,
    then the internal topics they forward to (sender, member), then the ladder's employee topic,
    which the group, sender and member agents forward to. A hop's ends are read once the hop
    before it has caught up: only then is everything it will receive written."""

    def __init__(self, bootstrap: str, group: str) -> None:
        topology = Topology(group)
        self.bootstrap, self.group = bootstrap, group
        self.ends = end_offsets(bootstrap, [t.name for t in INPUT_TOPICS])
        self.hops = [
            [topology.internal(p).name for p in ("sender", "member")],
            [topology.internal("employee").name],
        ]

    def done(self) -> bool:
        while caught_up(self.bootstrap, self.group, self.ends):
            if not self.hops:
                return True
            self.ends = end_offsets(self.bootstrap, self.hops.pop(0))
        return False


def _wait(bootstrap: str, group: str, topics: list[str], proc: Service) -> None:
    ends = end_offsets(bootstrap, topics)
    deadline = time.monotonic() + DONE_TIMEOUT
    while not caught_up(bootstrap, group, ends) and proc.running and time.monotonic() < deadline:
        time.sleep(0.2)


def _print_record(msg, counts: collections.Counter[str]) -> dict | None:
    """Print a violation (returned) or a dead letter (None)."""
    if msg.topic() == DEADLETTER.name:
        reason = dict(msg.headers() or ()).get(REASON_HEADER, b"?").decode("utf-8", "replace")
        counts["dead letter"] += 1
        print(row(("DEAD LETTER", "", "", reason), WIDTHS))
        return None
    record = orjson.loads(msg.value())
    counts[record["rule"]] += 1
    evidence = record.get("evidence") or {}
    detail = evidence.get("excerpt") or ", ".join(evidence.get("terms") or ()) or ""
    if record["rule"] == RETRACTED:
        detail = f"{evidence.get('step')} of {evidence.get('violation_id')} ({evidence.get('reason')})"
    subject = record.get("subject_id") or record.get("employee_id") or ""
    print(row((record["rule"], record.get("group_id") or "", subject, detail), WIDTHS))
    return record


def _drained(consumer: Consumer) -> bool:
    """Has the watcher read to the fetch high watermark of every assigned partition?"""
    assignment = consumer.assignment()
    if not assignment:
        return False
    for tp in consumer.position(assignment):
        _, high = consumer.get_watermark_offsets(tp, cached=True)
        if high > 0 and tp.offset < high:
            return False
    return True


def _produce_poison(bootstrap: str) -> None:
    producer = Producer(producer_config(bootstrap, "qunguard-dev"))
    producer.produce(MESSAGES.name, key=b"g-sales", value=POISON)
    producer.flush(10)
    say("fed     1 poison record (truncated JSON) to show the dead-letter path")


def say(line: str) -> None:
    print(line, flush=True)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
