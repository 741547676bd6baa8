"""Membership reconciliation over the real broker and Redis: a roster load that marks an employee
departed yields member.departed for each of their groups; Redis frozen while membership events
flow loses nothing and duplicates nothing once it is back (SPEC §7)."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from confluent_kafka import Producer

from agents.cli.parser import main
from agents.connect.admin import create_topics
from agents.connect.kafka import producer_config
from agents.connect.settings import Settings
from agents.dev.embedded import Service, redis, worker
from agents.intake.loaders import file_digest, load_ledger, load_roster
from tests.support import LEDGER_HEADER, ROSTER_HEADER, Reader, e2e_settings, violations_of
from topics.catalog import MEMBERSHIP


class Company:
    """A roster and ledger of accounts and groups unique to one test (the broker is shared)."""

    def __init__(self, unique: str, tmp_path: Path) -> None:
        self.u, self.dir = unique, tmp_path
        self.owner, self.leaver, self.staff = (
            f"wx_{unique}_owner",
            f"wx_{unique}_leaver",
            f"wx_{unique}_staff",
        )
        self.dept, self.proj = f"g-{unique}-dept", f"g-{unique}-proj"
        self.start = datetime.now(UTC).astimezone().replace(microsecond=0)
        self.count = 0

    def roster(self, leaver_status: str = "active", left_at: str = "") -> Path:
        path = self.dir / f"roster-{leaver_status}.csv"
        path.write_text(
            ROSTER_HEADER
            + f"E{self.u}1,王经理,销售部,经理,manager,active,{self.owner},\n"
            + f"E{self.u}2,董明,销售部,销售代表,staff,{leaver_status},{self.leaver};{self.leaver}_2,{left_at}\n"
            + f"E{self.u}3,张伟,销售部,销售代表,staff,active,{self.staff},\n",
            encoding="utf-8",
        )
        return path

    def ledger(self) -> Path:
        path = self.dir / "ledger.csv"
        path.write_text(
            LEDGER_HEADER
            + f"{self.dept},销售部工作群,department,销售部,E{self.u}1,,,,,true,false\n"
            + f"{self.proj},CRM项目组,project,销售部,E{self.u}1,,,,,true,false\n",
            encoding="utf-8",
        )
        return path

    def event(
        self, group: str, action: str, member: str, actor: str | None = None, nickname: str | None = None
    ):
        self.count += 1
        event_id = f"e-{self.u}-{self.count}"
        ts = (self.start + timedelta(seconds=self.count)).isoformat()
        record = {"kind": "membership", "event_id": event_id, "ts": ts, "group_id": group, "action": action,
                  "member_id": member, "actor_id": actor, "nickname": nickname}  # fmt: skip
        return event_id, group, orjson.dumps(record)


def produce(bootstrap: str, events: Iterable[tuple[str, str, bytes]]) -> list[str]:
    producer = Producer(producer_config(bootstrap, "e2e-membership"))
    ids = []
    for event_id, group, value in events:
        producer.produce(MEMBERSHIP.name, key=group.encode(), value=value)
        ids.append(event_id)
    assert producer.flush(10) == 0
    return ids


def settings_for(bootstrap: str, redis_url: str, unique: str) -> Settings:
    return e2e_settings(bootstrap, redis_url, f"qg-member-{unique}")


def start_worker(company: Company, settings: Settings, tmp_path: Path) -> Service:
    """Topics, the company's ledger and roster in Redis, and a running worker."""
    create_topics(settings.kafka_bootstrap)
    load_ledger(company.ledger(), settings)
    load_roster(company.roster(), settings, publish=False)
    return worker(tmp_path, settings.env()).start()


def test_roster_load_marking_an_employee_departed_reports_each_group(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path, monkeypatch
) -> None:
    company = Company(unique, tmp_path)
    settings = settings_for(bootstrap, redis_url, unique)
    proc = start_worker(company, settings, tmp_path)
    reader = Reader(bootstrap)
    try:
        c = company
        joined = [
            c.event(c.dept, "member_present", c.leaver, nickname="销售部-董明"),
            c.event(c.proj, "member_joined", f"{c.leaver}_2", actor=c.owner, nickname="销售部-董明"),
            c.event(c.proj, "member_present", c.staff, nickname="销售部-张伟"),
        ]
        # one outsider per group after the leaver's events: once both are reported, the group agent
        # has forwarded the leaver's events to the member index
        markers = [
            c.event(g, "member_joined", f"wx_{unique}_guest{i}") for i, g in enumerate((c.dept, c.proj))
        ]
        membership_ids = produce(bootstrap, [*joined, *markers])
        marker_ids = set(membership_ids[-2:])
        seen = reader.until(lambda msgs: len(violations_of(msgs, marker_ids)) >= 2, timeout=120)
        assert len(violations_of(seen, marker_ids)) == 2, proc.log_path.read_text()[-3000:]

        monkeypatch.setenv("KAFKA_BOOTSTRAP", bootstrap)
        monkeypatch.setenv("REDIS_URL", redis_url)
        monkeypatch.setenv("QUNGUARD_REDIS_PREFIX", settings.redis_prefix)
        departed_csv = company.roster("departed", "2026-11-20T18:00:00+08:00")
        broken = tmp_path / "broken.csv"  # the same departure plus one bad cell: changes nothing
        broken.write_text(
            departed_csv.read_text(encoding="utf-8").replace(",staff,active,", ",intern,active,")
        )
        assert main(["roster", "load", str(broken)]) == 1
        assert main(["roster", "load", str(departed_csv)]) == 0
        load_digest = file_digest(departed_csv)[:16]

        wanted = set(membership_ids[:2])

        def departed(msgs) -> list[dict]:
            return [v for v in violations_of(msgs, wanted) if v["rule"] == "member.departed"]

        found = departed(reader.until(lambda msgs: len(departed(msgs)) >= 2, timeout=120))
        assert sorted((v["group_id"], v["subject_id"]) for v in found) == [
            (c.dept, c.leaver),
            (c.proj, f"{c.leaver}_2"),
        ], proc.log_path.read_text()[-3000:]
        for v in found:
            roster_event, membership_event = v["source_event_ids"]
            assert roster_event == f"r-{load_digest}-E{unique}2"  # from the good file only
            assert membership_event in wanted
            assert v["employee_id"] == f"E{unique}2" and v["actions"] == ["remove_member"]
        assert proc.running
    finally:
        reader.close()
        proc.stop()


def test_frozen_redis_while_membership_events_flow_loses_and_duplicates_nothing(
    bootstrap: str, unique: str, tmp_path: Path
) -> None:
    store = redis(tmp_path).start()
    try:
        company = Company(unique, tmp_path)
        settings = settings_for(bootstrap, f"redis://127.0.0.1:{store.port}/0", unique)
        proc = start_worker(company, settings, tmp_path)
        reader = Reader(bootstrap)
        try:
            c = company
            warm = produce(bootstrap, [c.event(c.dept, "member_joined", f"wx_{unique}_warm")])
            reader.until(lambda msgs: bool(violations_of(msgs, set(warm))), timeout=120)

            store.pause()  # SIGSTOP: connections hang, as with a frozen host
            expected: dict[str, set[str]] = {}  # event id → rules it must raise
            sent: list[str] = []
            for i in range(5):  # events keep flowing for ~10 s while Redis is frozen
                batch = [
                    c.event(c.dept, "member_joined", f"wx_{unique}_out{i}", actor=c.staff),
                    c.event(c.proj, "member_present", c.staff, nickname=f"张伟{i}"),
                    c.event(c.proj, "member_present", c.owner, nickname="销售部-王经理"),  # clean
                ]
                ids = produce(bootstrap, batch)
                expected[ids[0]] = {"member.outsider", "member.invited_outsider"}
                expected[ids[1]] = {"member.nickname"}
                sent.extend(ids)
                time.sleep(2)
            store.resume()

            # each invitation is also a warning-ladder step for the inviter: 5 warnings, 1 demerit
            # (on whichever invitation reaches the ladder third: they are partitioned by member)
            steps = {"discipline.warning": 5, "discipline.demerit": 1}
            total = sum(len(rules) for rules in expected.values()) + sum(steps.values())
            ours = set(sent)

            def distinct(msgs) -> dict[str, dict]:
                return {v["violation_id"]: v for v in violations_of(msgs, ours)}

            reader.until(lambda msgs: len(distinct(msgs)) >= total, timeout=120)
            found = distinct(reader.until(lambda msgs: False, timeout=6))  # anything extra arrives by then
            got = {(v["source_event_ids"][0], v["rule"]) for v in found.values()}
            ladder = [v for v in found.values() if v["rule"].startswith("discipline.")]
            assert collections.Counter(v["rule"] for v in ladder) == steps, ladder
            assert {v["source_event_ids"][0] for v in ladder} <= {
                e for e in expected if len(expected[e]) == 2
            }
            got = {g for g in got if not g[1].startswith("discipline.")}
            assert got == {(e, r) for e, rules in expected.items() for r in rules}, proc.log_path.read_text()[
                -3000:
            ]
            assert len(found) == total
            assert "redis unavailable" in proc.log_path.read_text()
            assert proc.running
        finally:
            reader.close()
            proc.stop()
    finally:
        store.resume()
        store.stop()
