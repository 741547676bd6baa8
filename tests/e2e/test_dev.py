"""`qunguard dev` (what `make demo` runs) on its own embedded broker and Redis: shows violations
from the sample stream, the poison record in the dead-letter topic, exits 0 and leaves nothing running.
`dev --follow` and its Ctrl-C: tests/e2e/test_dev_follow.py."""

from __future__ import annotations

import collections
import io
import os
import re

import pytest

from agents.cli.inputs import read_events
from agents.dev.stack import run_dev
from config import SAMPLE_DIR
from streams.core.policy import load_policy
from streams.replay import replay
from topics.reference import read_ledger, read_roster
from topics.violation import Violation


def replay_sample() -> list[Violation]:
    found = replay(
        read_events(SAMPLE_DIR / "events.jsonl", io.StringIO()),
        load_policy(),
        read_roster(SAMPLE_DIR / "roster.csv"),
        read_ledger(SAMPLE_DIR / "ledger.csv"),
    )
    return [v for v in found if isinstance(v, Violation)]


def test_dev_runs_the_sample_and_exits(tmp_path, capsys) -> None:
    code = run_dev(workdir=tmp_path / "dev")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "content.gambling" in out and "DEAD LETTER" in out
    assert "done:" in out and "stopped worker, broker and redis" in out
    # It says which policy settings differ from the shipped policy, and why, before it starts.
    assert "out_of_order_seconds = 86400 (shipped: 60): " in out.split("worker  started", 1)[0]
    # The notifier's messages (log sink), digests flushed before the demo exits.
    notes = out.split("notifications (qunguard notify", 1)[1]
    assert "【群规违规】销售部工作群(g-sales):赌博信息" in notes and "《公司微信群管理制度》三、11" in notes
    assert "【违规处分】" in notes and "【保密/安全报告】" in notes and "【群规提醒汇总】" in notes
    assert re.search(r"notified: \d+ messages, [1-9]\d* of them digests", notes), notes[-500:]
    # The live pipeline finds what replay finds in the sample (every detector, both paths).
    shown = re.findall(r"(?m)^ +(\d+)  ([a-z_.]+)$", out.split("done:", 1)[1])
    replayed = collections.Counter(v.rule for v in replay_sample())
    assert {rule: int(n) for n, rule in shown} == dict(replayed), out
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", out)]
    assert len(pids) == 4  # broker, redis, worker, notifier
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
