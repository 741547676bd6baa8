"""agents.stores.reference against a real redis-server (conftest): key layout, atomic swap, worker-local cache."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest
import redis
import redis.asyncio

from agents.dev.embedded import free_port
from agents.stores.cache import ReferenceCache
from agents.stores.keys import RedisKeys
from agents.stores.reference import ConcurrentLoadError, DatasetMeta, ReferenceStore
from streams.core.directory import LedgerView, RosterView
from tests.conftest import CORPUS
from topics.reference import read_ledger, read_roster

ROSTER = read_roster(CORPUS / "roster.csv")
LEDGER = read_ledger(CORPUS / "ledger.csv")


def _store(url: str, prefix: str = "qg") -> ReferenceStore:
    return ReferenceStore(redis.Redis.from_url(url), RedisKeys(prefix))


def _cache(url: str, prefix: str = "qg", **kwargs) -> ReferenceCache:
    return ReferenceCache(redis.asyncio.Redis.from_url(url), RedisKeys(prefix), **kwargs)


def _load_roster(store: ReferenceStore, employees, digest: str = "d1") -> DatasetMeta:
    current, _ = store.roster()
    meta = DatasetMeta(current.generation + 1, digest, "test", "2026-11-23T09:00:00+08:00", len(employees))
    store.replace_roster(employees, meta, current.generation)
    return meta


def _load_ledger(store: ReferenceStore, groups, digest: str = "d1") -> DatasetMeta:
    current, _ = store.ledger()
    meta = DatasetMeta(current.generation + 1, digest, "test", "2026-11-23T09:00:00+08:00", len(groups))
    store.replace_ledger(groups, meta, current.generation)
    return meta


def _employee(employee_id: str):
    return next(e for e in ROSTER if e.employee_id == employee_id)


def test_key_layout_under_prefix(redis_url: str) -> None:
    store = _store(redis_url, prefix="acme")
    _load_roster(store, ROSTER)
    _load_ledger(store, LEDGER)
    keys = sorted(k.decode() for k in store.client.keys("*"))
    assert keys == [
        "acme:ledger:groups",
        "acme:ledger:meta",
        "acme:roster:accounts",
        "acme:roster:employees",
        "acme:roster:meta",
    ]
    client = store.client
    assert client.hlen("acme:roster:employees") == len(ROSTER)
    assert client.hget("acme:roster:accounts", "wx_qlx_office") == b"E1002"
    assert store.employee_id_for_account("wx_tt_2019") == "E1081"
    assert client.hget("acme:roster:meta", "generation") == b"1"
    assert client.ttl("acme:roster:employees") == -1  # the staging TTL did not survive the RENAME
    assert client.hlen("acme:ledger:groups") == len(LEDGER)


def test_cache_serves_corpus_synchronously(redis_url: str) -> None:
    store = _store(redis_url)
    _load_roster(store, ROSTER)
    _load_ledger(store, LEDGER)
    cache = _cache(redis_url)

    async def scenario() -> None:
        await cache.refresh()
        await cache.close()

    asyncio.run(scenario())
    roster: RosterView = cache
    ledger: LedgerView = cache
    assert roster.by_account("wx_qlx_office") == _employee("E1002")
    assert roster.employee("E1081").status == "departed"
    assert roster.employee("E1081").left_at.isoformat() == "2026-07-15T18:00:00+08:00"
    assert roster.by_account("wx_nobody") is None
    assert ledger.group("g-sales-main").owner_id == "E1010"
    assert {g.group_id for g in ledger.groups()} == {g.group_id for g in LEDGER}
    assert ledger.group("g-sales-main") == next(g for g in LEDGER if g.group_id == "g-sales-main")
    assert cache.roster_meta.generation == 1 and cache.ledger_meta.records == len(LEDGER)


def test_refresh_employee_follows_account_and_removal(redis_url: str) -> None:
    store = _store(redis_url)
    _load_roster(store, ROSTER)
    cache = _cache(redis_url)
    moved = replace(_employee("E1012"), accounts=("wx_zhangwei_new",))
    changed = [moved if e.employee_id == "E1012" else e for e in ROSTER if e.employee_id != "E1013"]

    async def scenario() -> None:
        await cache.refresh()
        _load_roster(store, changed, digest="d2")
        assert cache.by_account("wx_zhangwei").employee_id == "E1012"  # nothing refetched yet
        await cache.refresh_employee("E1012")
        await cache.refresh_employee("E1013")
        await cache.close()

    asyncio.run(scenario())
    assert cache.by_account("wx_zhangwei") is None
    assert cache.by_account("wx_zhangwei_new") == moved
    assert cache.employee("E1013") is None and cache.by_account("wx_liuyang") is None


def test_refresh_if_stale_checks_at_most_every_interval(redis_url: str) -> None:
    store = _store(redis_url)
    _load_roster(store, ROSTER)
    _load_ledger(store, LEDGER)
    now = [100.0]
    cache = _cache(redis_url, stale_check_interval=5.0, clock=lambda: now[0])
    renamed = [replace(g, name="销售部新群名") if g.group_id == "g-sales-main" else g for g in LEDGER]

    async def scenario() -> None:
        await cache.refresh()
        assert await cache.refresh_if_stale() == []
        _load_ledger(store, renamed, digest="d2")
        now[0] += 4.9
        assert await cache.refresh_if_stale() == []  # not asked yet: too soon
        assert cache.group("g-sales-main").name == "销售部工作群"
        now[0] += 0.2
        assert await cache.refresh_if_stale() == ["ledger"]
        assert cache.group("g-sales-main").name == "销售部新群名"
        now[0] += 10
        assert await cache.refresh_if_stale() == []  # version unchanged
        _load_roster(store, ROSTER, digest="d3")  # same content, new load: still a new version
        now[0] += 10
        assert await cache.refresh_if_stale() == ["roster"]
        assert cache.roster_meta.generation == 2
        await cache.close()

    asyncio.run(scenario())


def test_readers_never_see_a_mixture(redis_url: str) -> None:
    """Poll snapshots while loads alternate between two rosters: data always matches its meta."""
    store = _store(redis_url)
    first = ROSTER[:20]
    second = [replace(e, title=f"{e.title}-v2") for e in ROSTER[10:]]
    expected = {"A": {e.employee_id: e for e in first}, "B": {e.employee_id: e for e in second}}
    _load_roster(store, first, digest="A")
    done = threading.Event()
    seen: dict[str, int] = {"A": 0, "B": 0}
    failures: list[str] = []

    def poll() -> None:
        reader = _store(redis_url)
        while not done.is_set():
            meta, employees = reader.roster()
            seen[meta.digest] += 1
            if employees != expected[meta.digest]:
                failures.append(f"generation {meta.generation} ({meta.digest}) has the wrong data")

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        for i in range(40):
            _load_roster(store, second if i % 2 == 0 else first, digest="B" if i % 2 == 0 else "A")
    finally:
        done.set()
        thread.join()
    assert not failures, failures[:3]
    assert seen["A"] and seen["B"]


def test_cache_reload_never_mixes_data_and_meta(redis_url: str) -> None:
    store = _store(redis_url)
    first, second = ROSTER[:20], ROSTER[15:]
    ids = {"A": {e.employee_id for e in first}, "B": {e.employee_id for e in second}}
    _load_roster(store, first, digest="A")
    cache = _cache(redis_url)

    async def scenario() -> None:
        loads = asyncio.create_task(
            asyncio.to_thread(
                lambda: [
                    _load_roster(store, second if i % 2 else first, "B" if i % 2 else "A") for i in range(30)
                ]
            )
        )
        while not loads.done():
            await cache.refresh()
            assert {e.employee_id for e in cache.employees()} == ids[cache.roster_meta.digest]
        await loads
        await cache.close()

    asyncio.run(scenario())


def test_swap_commands_run_in_one_transaction(redis_url: str) -> None:
    """MONITOR shows the RENAMEs and the meta write between one MULTI and its EXEC."""
    store = _store(redis_url)
    commands: list[str] = []
    ready = threading.Event()

    def watch() -> None:
        with redis.Redis.from_url(redis_url).monitor() as monitor:
            ready.set()
            for entry in monitor.listen():
                commands.append(entry["command"].split()[0].upper())
                if commands[-1] == "EXEC" and "RENAME" in commands:
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    _load_roster(store, ROSTER)
    thread.join(5)
    end = len(commands) - 1
    start = end - commands[end::-1].index("MULTI")
    inside = commands[start:end]
    assert inside.count("RENAME") == 2 and "HSET" in inside, commands
    assert "RENAME" not in commands[:start]


def test_stale_expected_generation_is_refused_and_changes_nothing(redis_url: str) -> None:
    store = _store(redis_url)
    _load_roster(store, ROSTER)
    before = store.roster()
    meta = DatasetMeta(2, "other", "test", "2026-11-23T09:00:00+08:00", 1)
    with pytest.raises(ConcurrentLoadError):
        store.replace_roster(ROSTER[:1], meta, expected_generation=0)
    assert store.roster() == before
    assert store.client.keys("*staging*") == []


def test_empty_dataset_replaces_with_nothing(redis_url: str) -> None:
    store = _store(redis_url)
    _load_ledger(store, LEDGER)
    _load_ledger(store, [], digest="empty")
    meta, groups = store.ledger()
    assert groups == {} and meta.generation == 2 and meta.records == 0


def test_outbox_is_appended_in_the_swap_and_trimmed_by_ack(redis_url: str) -> None:
    store = _store(redis_url)
    meta = DatasetMeta(1, "d1", "test", "2026-11-23T09:00:00+08:00", len(ROSTER))
    store.replace_roster(ROSTER, meta, 0, outbox=[b"one", b"two"])
    store.replace_roster(ROSTER, replace(meta, generation=2), 1, outbox=[b"three"])
    assert store.pending_roster_events() == [b"one", b"two", b"three"]
    store.ack_roster_events(2)
    assert store.pending_roster_events() == [b"three"]


def test_redis_errors_propagate_from_the_cache() -> None:
    cache = _cache(f"redis://127.0.0.1:{free_port()}/0")

    async def scenario() -> None:
        with pytest.raises(redis.ConnectionError):
            await cache.refresh()
        with pytest.raises(redis.ConnectionError):
            await cache.refresh_employee("E1001")
        with pytest.raises(redis.ConnectionError):
            await cache.refresh_if_stale()
        await cache.close()

    asyncio.run(scenario())
