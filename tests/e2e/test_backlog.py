"""Catch-up after an outage (issue 16): a working day of mixed traffic (tests/backlog_world.py:
broadcasts across partitions, floods, private chat, notices to acknowledge, content and
membership) is produced while no worker runs; then one worker reads the whole backlog, and its
violations are compared with those `qunguard replay` finds in the same events with the same roster
and ledger: it drops nothing as late, finds every broadcast, and agrees record for record.

Compared by violation id: it is derived from rule, subject, group and the sorted source event ids
only (topics.violation.violation_id; discipline steps from their trigger's id,
streams.ladder.steps.step_id), never from a time or the process, so the same finding has the same
id live and in replay, and a burst counted from other events has another. Records with the same id
are compared too, without `detected_at` (the wall clock live, the event time in replay).

The events are dated on the last working day before today (tests.support.recent_working_morning;
their contents come from the seed), not on a fixed date: the live sweep judges an idle partition
by the wall clock, and a day more than 30 days old would make every group a zombie live but not in
replay. No group is a company group (member.required_missing is judged live only a sweep interval
after a group is first seen), every notice's deadline falls before the day's last event, and the
worker ticks every 5 s so that an idle partition's wall-clock sweep comes before the wait ends.

The broker is this test's own: a later test's fresh consumer group would otherwise read these
thousands of records again.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import orjson
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from agents.connect.admin import create_topics
from agents.connect.offsets import caught_up, end_offsets
from agents.dev.embedded import Service, free_port, tansu, worker
from agents.intake.loaders import load_ledger, load_roster
from tests.backlog_world import CST, Day, build_day
from tests.support import Reader, Scene, e2e_settings, get, recent_working_morning
from topics.catalog import MEMBERSHIP, MESSAGES, VIOLATIONS

SEED = 16
LATE_METRIC = "qunguard_late_events_total"
TICK_INTERVAL = 5.0  # as `qunguard dev`: an idle partition is swept by the wall clock within 15 s
QUIET = 2 * TICK_INTERVAL + TICK_INTERVAL + 3  # SweepClock's idle time (10 s here), a tick, a margin
CATCH_UP_TIMEOUT = 150.0


@dataclass(frozen=True)
class Backlog:
    day: Day
    live: dict[str, dict]
    replay: dict[str, dict]
    late: dict[str, float]
    context: str


@pytest.fixture(scope="module")
def backlog(redis_service: Service, tmp_path_factory: pytest.TempPathFactory) -> Backlog:
    """The outage and the catch-up, once for the tests below (the worker is stopped before they
    run, so the Redis database is free for the next test that takes it)."""
    redis_url = f"redis://127.0.0.1:{redis_service.port}/15"
    redis.Redis.from_url(redis_url).flushdb()
    tmp_path = tmp_path_factory.mktemp("backlog")
    unique = uuid.uuid4().hex[:8]
    day = build_day(SEED, recent_working_morning().astimezone(CST).date())
    events, roster, ledger = tmp_path / "events.jsonl", tmp_path / "roster.csv", tmp_path / "ledger.csv"
    events.write_bytes(day.jsonl())
    roster.write_text(day.roster_csv(), encoding="utf-8")
    ledger.write_text(day.ledger_csv(), encoding="utf-8")
    replay_out = tmp_path / "replay.jsonl"

    broker = tansu(tmp_path).start()
    bootstrap = f"127.0.0.1:{broker.port}"
    settings = e2e_settings(
        bootstrap, redis_url, f"qg-backlog-{unique}", web_port=free_port(), tick_interval=TICK_INTERVAL
    )
    proc = worker(tmp_path, settings.env())
    replay = None
    try:
        create_topics(bootstrap)
        load_ledger(ledger, settings)
        load_roster(roster, settings, publish=False)
        delivered = Scene.produce(bootstrap, day.records())  # the outage: no worker yet
        used = {p for topic, p, _ in delivered if topic == MESSAGES.name}
        assert used == set(range(MESSAGES.partitions)), used

        # replay runs beside the worker: its start and the worker's group join overlap
        argv = [sys.executable, "-m", "agents.cli", "replay", str(events), "--roster", str(roster),
                "--ledger", str(ledger), "--out", str(replay_out)]  # fmt: skip
        replay = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started = time.monotonic()
        proc.start()
        with Reader(bootstrap, (VIOLATIONS.name,)) as reader:
            wait_caught_up(bootstrap, settings.app_id, reader, proc)
            took = time.monotonic() - started
            live = distinct(orjson.loads(m.value()) for m in reader.seen)
        (tmp_path / "live.jsonl").write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in live.values()))
        _, metrics = get(settings.web_port, "/metrics")
        assert proc.running, proc.log_excerpt(3000)
        output, _ = replay.communicate(timeout=120)
        assert replay.returncode == 0, output.decode(errors="replace")
    finally:
        if replay is not None and replay.poll() is None:
            replay.kill()
        proc.stop()
        broker.stop()

    want = distinct(orjson.loads(line) for line in replay_out.read_bytes().splitlines())
    assert_planted(day, want)
    late = late_events(metrics)
    context = (
        f"{len(day.events)} events, caught up {took:.0f} s after the worker started; "
        f"{LATE_METRIC}: {({r: n for r, n in late.items() if n}) or 0}; "
        f"events.jsonl, replay.jsonl, live.jsonl and worker.log in {tmp_path}"
    )
    return Backlog(day, live, want, late, context)


def test_the_worker_drops_nothing_as_late(backlog: Backlog) -> None:
    dropped = {rule: n for rule, n in backlog.late.items() if n}
    assert not dropped, f"the worker dropped events as late: {backlog.context}"


def test_every_broadcast_replay_finds_is_found_live(backlog: Backlog) -> None:
    """The broadcasts' copies reach the sender partitions from six group partitions read at
    different paces: each sender replay finds broadcasting is found broadcasting as often live."""

    def broadcasts(found: dict[str, dict]) -> Counter:
        return Counter(v["subject_id"] for v in found.values() if v["rule"] == "flood.broadcast")

    assert broadcasts(backlog.live) == broadcasts(backlog.replay), backlog.context


def test_live_equals_replay(backlog: Backlog) -> None:
    """Record for record, every rule: the worker judges its input in event-time order across the
    partitions that feed each state partition (agents.worker.event_order), as replay reads the file."""
    assert_same(backlog.live, backlog.replay, backlog.context)


# Catching up


def wait_caught_up(bootstrap: str, app_id: str, reader: Reader, proc: Service) -> None:
    """Until the worker's group has committed every partition it reads to its end on three looks
    in a row (an input record's forwards and a forward's violations are produced before its offset
    is committed, but may land after the look that saw that commit) and no violation has come for
    QUIET seconds (an idle partition's sweep judges by the wall clock within a tick interval after
    SweepClock's idle time), then read the violations topic to its end. Fails at CATCH_UP_TIMEOUT."""
    topics = [
        MESSAGES.name,
        MEMBERSHIP.name,
        *(f"{app_id}-{p}" for p in ("group", "sender", "member", "employee")),
    ]
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    streak, count, quiet_since = 0, -1, time.monotonic()
    while streak < 3 or time.monotonic() - quiet_since < QUIET:
        assert proc.running, proc.log_excerpt(3000)
        assert time.monotonic() < deadline, (
            f"not caught up after {CATCH_UP_TIMEOUT:.0f} s\n{proc.log_excerpt(3000)}"
        )
        reader.until(lambda _: False, timeout=1.0)  # read violations meanwhile
        if len(reader.seen) != count:
            count, quiet_since = len(reader.seen), time.monotonic()
        ends = end_offsets(bootstrap, topics)
        ready = len({t for t, _ in ends}) == len(topics)  # the worker creates its internal topics
        if ready and caught_up(bootstrap, app_id, ends):
            streak += 1
        else:
            streak, quiet_since = 0, time.monotonic()
    total = sum(end_offsets(bootstrap, [VIOLATIONS.name]).values())
    reader.until(lambda seen: len(seen) >= total, timeout=30)
    assert len(reader.seen) >= total, f"read {len(reader.seen)} of {total} violation records"


# Comparing


def distinct(records) -> dict[str, dict]:
    """Violations by id (delivery is at-least-once: a redelivered record repeats one)."""
    return {v["violation_id"]: v for v in records}


def assert_planted(day: Day, found: dict[str, dict]) -> None:
    """Replay finds at least what the generator planted, per rule (else the comparison is weak)."""
    counts = Counter(v["rule"] for v in found.values())
    counts["content.*"] = sum(n for rule, n in counts.items() if rule.startswith("content."))
    short = {rule: (counts[rule], n) for rule, n in day.planted.items() if counts[rule] < n}
    assert not short, f"replay found fewer than planted (found, planted): {short}"


def summary(v: dict) -> str:
    ids = v["source_event_ids"]
    shown = ",".join(ids[:6]) + (f",…(+{len(ids) - 6})" if len(ids) > 6 else "")
    return f"{v['rule']} group={v['group_id']} subject={v['subject_id']} at {v['event_ts']} events=[{shown}]"


def assert_same(live: dict[str, dict], replay: dict[str, dict], context: str) -> None:
    """The same violation ids, and the same records under each id but for detected_at."""
    missing = [replay[i] for i in sorted(replay.keys() - live.keys())]
    extra = [live[i] for i in sorted(live.keys() - replay.keys())]
    changed = [
        i for i in sorted(live.keys() & replay.keys())
        if {**live[i], "detected_at": None} != {**replay[i], "detected_at": None}
    ]  # fmt: skip
    if not (missing or extra or changed):
        return
    rules = sorted({v["rule"] for v in (*live.values(), *replay.values())})
    live_n, replay_n = Counter(v["rule"] for v in live.values()), Counter(v["rule"] for v in replay.values())
    lines = [f"live differs from replay ({context}):", f"{'rule':28} {'replay':>6} {'live':>6}"]
    lines += [f"{r:28} {replay_n[r]:6} {live_n[r]:6}" for r in rules if replay_n[r] != live_n[r]]
    lines += [f"only in replay ({len(missing)}):", *(f"  - {summary(v)}" for v in missing[:40])]
    lines += [f"only live ({len(extra)}):", *(f"  + {summary(v)}" for v in extra[:40])]
    for i in changed[:10]:
        fields = sorted(
            k
            for k in live[i].keys() | replay[i].keys()
            if k != "detected_at" and live[i].get(k) != replay[i].get(k)
        )
        lines.append(
            f"  ~ {summary(replay[i])}: "
            + "; ".join(f"{k}: replay {replay[i].get(k)!r}, live {live[i].get(k)!r}" for k in fields)
        )
    raise AssertionError("\n".join(lines))


# Lateness


def late_events(metrics: bytes) -> dict[str, float]:
    """qunguard_late_events_total per rule on the worker's /metrics (every rule that may drop an
    event as late is exported from the start, at 0)."""
    found = {
        s.labels.get("rule", ""): s.value
        for family in text_string_to_metric_families(metrics.decode())
        for s in family.samples
        if s.name == LATE_METRIC
    }
    assert found, f"no {LATE_METRIC} on the worker's /metrics"
    return found
