"""A one-shot `qunguard lag`: a status from two samples, a group that does not exist is not OK."""

from __future__ import annotations

import io

from agents.lag.exporter import LagCollector, LagExporter
from agents.lag.monitor import LagMonitor, one_shot, run_lag
from agents.lag.status import Status
from tests.support import ScriptedOffsets

TP = ("chat.messages", 0)


class CountingOffsets(ScriptedOffsets):
    """Counts the rounds read; each round may move the committed offsets by `step`."""

    def __init__(self, step: int = 0) -> None:
        super().__init__()
        self.rounds = 0
        self.step = step

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        found = super().committed(group)
        if found:
            self.rounds += 1
            self.committed_offsets[group] = {tp: offset + self.step for tp, offset in found.items()}
        return found


def shot(source: ScriptedOffsets, groups: list[str], span: float = 0.01, as_json: bool = False):
    out = io.StringIO()
    return one_shot(source, groups, as_json, span, 10, out), out.getvalue()


def test_a_stuck_empty_group_is_stop_at_once() -> None:
    source = CountingOffsets()
    source.committed_offsets["workers"] = {TP: 100}
    source.ends[TP] = 150
    code, out = shot(source, ["workers"])
    assert code == 0 and source.rounds == 2
    assert "status over 2 samples 0.01 s apart" in out
    assert "workers: STOP, empty with 0 members" in out


def test_a_moving_group_that_keeps_up_is_ok() -> None:
    source = CountingOffsets(step=10)  # consumes 10 records a round, nothing new is written
    source.member_count["workers"] = 1
    source.committed_offsets["workers"] = {TP: 100}
    source.ends[TP] = 150
    code, out = shot(source, ["workers"])
    assert code == 0 and "workers: OK, stable with 1 members" in out


def test_a_caught_up_group_needs_one_sample() -> None:
    source = CountingOffsets()
    source.committed_offsets["workers"] = {TP: 150}
    source.ends[TP] = 150
    code, out = shot(source, ["workers"], span=60.0)  # would sleep a minute if it sampled twice
    assert code == 0 and source.rounds == 1 and "workers: OK" in out and "samples" not in out


def test_span_zero_is_one_sample_and_unknown() -> None:
    source = CountingOffsets()
    source.committed_offsets["workers"] = {TP: 100}
    source.ends[TP] = 150
    code, out = shot(source, ["workers"], span=0)
    assert code == 0 and source.rounds == 1 and "workers: UNKNOWN" in out


def test_a_group_without_committed_offsets_is_notfound_and_exits_1() -> None:
    source = CountingOffsets()
    source.committed_offsets["workers"] = {TP: 150}
    source.ends[TP] = 150
    code, out = shot(source, ["workers", "nosuchgroup"])
    assert code == 1
    assert "nosuchgroup: NOTFOUND, no committed offsets: no such group, or it has not committed yet" in out
    code, out = shot(source, ["nosuchgroup"], as_json=True)
    assert code == 1 and '"status":"NOTFOUND"' in out
    assert run_lag(source, ["nosuchgroup"], span=0, out=io.StringIO()) == 1


def test_the_exporter_shows_notfound_without_lag_series() -> None:
    source = CountingOffsets()
    collector = LagCollector()
    collector.update(LagMonitor(source, ["nosuchgroup"]).sample())
    families = {f.name: f for f in collector.collect()}
    assert collector.healthy  # the round read fine: a missing group is a status, not a failure
    assert not families["kafka_consumergroup_group_sum_lag"].samples
    status = {s.labels["status"]: s.value for s in families["kafka_consumergroup_status"].samples}
    assert status[str(Status.NOTFOUND)] == 1.0 and sum(status.values()) == 1.0


def test_the_exporter_listens_on_loopback_unless_told() -> None:
    exporter = LagExporter(LagMonitor(CountingOffsets(), ["g"]), 0)
    try:
        assert exporter.server.server_address[0] == "127.0.0.1"
    finally:
        exporter.server.server_close()
