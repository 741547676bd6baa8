"""The identity of reference data: how loads are ordered, what the next load writes, and when a
reader refuses what Redis holds (agents.stores.reference)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agents.stores.reference import DatasetMeta, refusal

T = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
KEY = "qg:roster:meta"


def meta(generation: int, at: datetime, records: int = 3) -> DatasetMeta:
    return DatasetMeta(
        generation, f"d{generation}", "roster.csv", at.isoformat(timespec="milliseconds"), records
    )


def test_the_next_load_counts_up_and_never_goes_back_in_time() -> None:
    first = DatasetMeta().next_load("d1", "a.csv", 3, T)
    assert (first.generation, first.loaded_at, first.records) == (1, "2026-11-23T01:00:00.000+00:00", 3)
    behind = first.next_load("d2", "b.csv", 4, T - timedelta(hours=1))  # this loader's clock is behind
    assert behind.generation == 2 and behind.loaded_time() == T + timedelta(milliseconds=1)
    local = first.next_load("d3", "c.csv", 4, datetime(2026, 11, 23, 10, 0, tzinfo=UTC).astimezone())
    assert local.loaded_at.endswith("+00:00") and first.older_than(behind) and first.older_than(local)


def test_loads_are_ordered_by_load_time_then_generation() -> None:
    in_use = meta(5, T)
    assert meta(3, T - timedelta(hours=1)).older_than(in_use)  # a copy restored from a backup
    assert not meta(1, T + timedelta(hours=1)).older_than(in_use)  # loaded again after a flush
    assert meta(4, T).older_than(in_use) and not meta(6, T).older_than(in_use)
    assert not in_use.older_than(in_use)
    assert DatasetMeta(7, loaded_at="not a time").older_than(in_use)  # not written by a loader


def test_a_missing_marker_is_refused_with_its_cause_and_the_fix() -> None:
    for in_use in (meta(5, T), DatasetMeta()):  # while running, and at the first look
        cause = refusal("roster", KEY, DatasetMeta(), 0, in_use)
        assert "generation marker qg:roster:meta is missing" in cause
        assert "`qunguard roster load FILE.csv`" in cause
    assert "missing" in refusal(
        "ledger", "qg:ledger:meta", DatasetMeta(), 12, meta(2, T)
    )  # data without meta


def test_an_older_load_than_the_one_in_use_is_refused() -> None:
    cause = refusal("roster", KEY, meta(3, T - timedelta(hours=1)), 3, meta(5, T))
    assert "generation 3 loaded at 2026-11-23T00:00:00.000+00:00" in cause
    assert "older than generation 5" in cause
    assert (
        refusal("roster", KEY, meta(3, T - timedelta(hours=1)), 3, DatasetMeta()) == ""
    )  # nothing to compare


def test_records_lost_after_the_load_are_refused() -> None:
    cause = refusal("roster", KEY, meta(6, T), 2, meta(5, T))
    assert "Redis holds 2 records, generation 6 loaded 3" in cause


def test_a_complete_current_or_newer_load_is_used() -> None:
    in_use = meta(5, T)
    assert refusal("roster", KEY, in_use, 3, in_use) == ""
    assert refusal("roster", KEY, meta(6, T + timedelta(seconds=1)), 3, in_use) == ""
    assert refusal("roster", KEY, meta(1, T + timedelta(hours=1)), 3, in_use) == ""  # reloaded after a flush
    assert refusal("ledger", "qg:ledger:meta", meta(6, T, records=0), 0, in_use) == ""  # an empty ledger
