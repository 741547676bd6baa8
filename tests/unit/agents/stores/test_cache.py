"""A full reload of the reference cache decodes in slices with turns of the event loop between
them (agents.stores.cache.DECODE_SLICE), so a 100,000-employee roster does not hold up the
worker's other agents and timers for the whole decode; how often it looks at Redis is a setting."""

from __future__ import annotations

import asyncio

from agents.stores import cache
from agents.stores.cache import _decode_in_slices
from agents.stores.reference import decode_employee, encode_record
from topics.reference import Employee


def employee(n: int) -> Employee:
    return Employee(f"E{n:05d}", f"员工{n}", "销售部", "staff", "active", (f"wx_{n:05d}",), title="销售专员")


async def test_a_reload_gives_the_loop_a_turn_between_slices(monkeypatch) -> None:
    monkeypatch.setattr(cache, "DECODE_SLICE", 100)
    raw = {e.employee_id.encode(): encode_record(e) for e in map(employee, range(450))}
    turns = 0

    async def other_agent() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(other_agent())
    await asyncio.sleep(0)
    before = turns
    decoded = await _decode_in_slices(raw, decode_employee, "qg:roster:employees")
    running.cancel()
    assert [e.employee_id for e in decoded] == [f"E{n:05d}" for n in range(450)]
    assert decoded[7] == employee(7)
    assert turns - before >= 4  # one turn after each of the 5 slices (the last may not be seen)


def test_the_check_interval_comes_from_the_settings() -> None:
    from agents.connect.settings import Settings

    assert Settings().reference_check_interval == 5.0  # the shipped default
    chosen = Settings.from_env({"QUNGUARD_REFERENCE_CHECK_INTERVAL": "1.5"})
    assert cache.ReferenceCache.from_settings(chosen).stale_check_interval == 1.5
