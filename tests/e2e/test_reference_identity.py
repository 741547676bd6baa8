"""Reference data has an identity, over the real broker and Redis: after a FLUSHALL, or a Redis
restarted empty, the worker and the notifier refuse the empty roster and ledger. /readyz says why,
the records that need the data are held (no membership, employee or group violation is judged
from nothing, no content violation goes out without its employee), the consumers stay in their
groups, and once `roster load` / `ledger load` run again the held records are judged by the same
processes, without a restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import redis as redis_py
from confluent_kafka import Producer

from agents.connect.kafka import producer_config
from agents.dev.bursts import LogMark
from agents.dev.embedded import Service, free_port, notifier, redis, worker
from agents.intake.loaders import load_ledger, load_roster
from agents.notify.run import NotifySettings
from config import SAMPLE_DIR
from tests.support import (
    Reader,
    e2e_settings,
    get,
    load_sample,
    metric_value,
    readyz,
    violations_of,
    wait_for,
)
from topics.catalog import MEMBERSHIP, MESSAGES, VIOLATIONS

Wipe = Callable[[Service], Service]


def flushall(store: Service) -> Service:
    redis_py.Redis(port=store.port).flushall()
    return store


def restart_empty(store: Service) -> Service:
    """Stop the redis-server and start a new one, without data, on the same port."""
    store.stop()
    return redis(store.log_path.parent, port=store.port).start()


class Stack:
    """A worker and a notifier on a Redis of their own, shared by this module's tests: each test
    wipes the reference data and loads it again, and leaves both processes ready as it found them."""

    def __init__(self, bootstrap: str, folder: Path) -> None:
        self.store = redis(folder).start()
        app_id = f"qg-identity-{uuid.uuid4().hex[:8]}"
        url = f"redis://127.0.0.1:{self.store.port}/0"
        # a wiped Redis is noticed, and a held record asks again, within a second
        self.settings = e2e_settings(
            bootstrap, url, app_id, web_port=free_port(), reference_check_interval=1.0
        )
        notify_settings = replace(self.settings, web_port=free_port())
        notify_env = {**notify_settings.env(), **NotifySettings(app_id=f"{app_id}-notify").env()}
        load_sample(self.settings, publish=False)
        self.procs = [worker(folder, self.settings.env()).start(), notifier(folder, notify_env).start()]
        self.ports = (self.settings.web_port, notify_settings.web_port)

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.store.stop()


@pytest.fixture(scope="module")
def stack(bootstrap: str, tmp_path_factory: pytest.TempPathFactory):
    started = Stack(bootstrap, tmp_path_factory.mktemp("identity"))
    yield started
    started.stop()


def test_flushall_holds_judgement_until_the_reload(bootstrap: str, unique: str, stack: Stack) -> None:
    hold_and_resume(bootstrap, unique, stack, flushall)


def test_an_empty_redis_restart_holds_judgement_until_the_reload(
    bootstrap: str, unique: str, stack: Stack
) -> None:
    hold_and_resume(bootstrap, unique, stack, restart_empty)


def hold_and_resume(bootstrap: str, unique: str, stack: Stack, wipe: Wipe) -> None:
    settings, procs, ports = stack.settings, stack.procs, stack.ports
    marks = [LogMark(proc.log_path) for proc in procs]  # what this test's wipe makes them log
    events = Events(bootstrap, unique)
    for port, proc in zip(ports, procs, strict=True):
        wait_for(lambda port=port: (r := readyz(port)) and r[0] == 200, 90, "ready", proc.log_path)
    with Reader(bootstrap) as reader:
        warm = events.gamble("warm")
        [before] = violations_of(reader.until(lambda msgs: violations_of(msgs, {warm}), 60), {warm})
        assert before["employee_id"] == "E0006"

        stack.store = wipe(stack.store)
        for port, proc in zip(ports, procs, strict=True):
            # both datasets are judged by one check, but a record's own refresh may have looked
            # at the roster first: wait until the periodic check has refused both
            refused = wait_for(lambda port=port: both_refused(port), 60, "refused", proc.log_path)
            assert set(refused["refused"]) == {"roster", "ledger"}, refused
            assert "generation marker qg:roster:meta is missing" in refused["reason"]
            assert "qunguard roster load" in refused["refused"]["roster"]

        gamble = events.gamble("held")
        # a current employee of the group's department, then an outsider (same partition)
        member = events.join("member", "wx_lixue", "销售部-李雪")
        outsider = events.join("outsider", f"wx_stranger_{unique}", "陌生人")
        held = {gamble, member, outsider}
        # held for longer than the consumer's max poll interval and session: nothing is judged
        assert violations_of(reader.until(lambda msgs: violations_of(msgs, held), 15), held) == []
        _, body = get(settings.web_port, "/metrics")
        assert metric_value(body, "qunguard_reference_unavailable", dataset="roster") == 1.0
        log = "\n".join(marks[0].lines())
        assert "reference data refused" in log and "qg:ledger:meta is missing" in log

        load_ledger(SAMPLE_DIR / "ledger.csv", settings)  # what the operator runs
        load_roster(SAMPLE_DIR / "roster.csv", settings)
        found = judged(reader, held, lambda rules: ("content.gambling", gamble) in rules
                       and ("member.outsider", outsider) in rules)  # fmt: skip
    assert ("content.gambling", gamble) in found and ("member.outsider", outsider) in found, found
    by_rule = {v["rule"]: v for v in found.values()}
    assert by_rule["content.gambling"]["employee_id"] == "E0006"
    assert not [key for key in found if key[1] == member], found  # a current employee, judged by the roster
    assert not [key for key in found if key[0].startswith("group.")], found  # g-sales is registered
    for port, proc in zip(ports, procs, strict=True):
        wait_for(lambda port=port: (r := readyz(port)) and r[0] == 200, 60, "ready again", proc.log_path)
        assert proc.running
        assert "UnknownMemberId" not in proc.log_path.read_text(errors="replace")  # never evicted


class Events:
    """Events of this test, dated now, in the sample's registered group g-sales."""

    def __init__(self, bootstrap: str, unique: str) -> None:
        self.producer = Producer(producer_config(bootstrap, "identity-test"))
        self.unique = unique

    def gamble(self, name: str) -> str:
        # the same text twice per test (three times would be a flood.duplicate)
        return self._send(
            MESSAGES.name, name, sender_id="wx_wanglei", text=f"今晚买六合彩,稳赚 {self.unique}"
        )

    def join(self, name: str, member: str, nickname: str) -> str:
        return self._send(MEMBERSHIP.name, name, action="member_joined", member_id=member,
                          actor_id="wx_wuting", nickname=nickname)  # fmt: skip

    def _send(self, topic: str, name: str, **fields: str) -> str:
        event_id = f"{self.unique}-{name}"
        kind = "message" if topic == MESSAGES.name else "membership"
        doc = {"kind": kind, "event_id": event_id, "ts": datetime.now(UTC).isoformat(), "group_id": "g-sales"}
        self.producer.produce(topic, key=b"g-sales", value=orjson.dumps({**doc, **fields}))
        self.producer.flush(10)
        return event_id


def refused_reference(port: int) -> dict | None:
    found = readyz(port)
    if found is None or found[0] != 503:
        return None
    check = found[1]["checks"].get("reference", {})
    return None if check.get("ok", True) else check


def both_refused(port: int) -> dict | None:
    check = refused_reference(port)
    return check if check is not None and set(check["refused"]) == {"roster", "ledger"} else None


def judged(reader: Reader, event_ids: set[str], done: Callable[[set], bool]) -> dict[tuple[str, str], dict]:
    """(rule, source event id) → violation, for the violations of `event_ids`, read until `done`."""

    def found(msgs) -> dict[tuple[str, str], dict]:
        records = [orjson.loads(m.value()) for m in msgs if m.topic() == VIOLATIONS.name]
        return {(v["rule"], e): v for v in records for e in v["source_event_ids"] if e in event_ids}

    return found(reader.until(lambda msgs: done(set(found(msgs))), timeout=120))
