"""`qunguard dev` (what `make demo` runs) on its own embedded broker and Redis: shows violations
from the sample stream, the poison record in the dead-letter topic, exits 0 and leaves nothing running."""

from __future__ import annotations

import os
import re

import pytest

from agents.dev import run_dev

pytestmark = pytest.mark.e2e


def test_dev_runs_the_sample_and_exits(tmp_path, capsys) -> None:
    code = run_dev(workdir=tmp_path / "dev")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "content.gambling" in out and "DEAD LETTER" in out
    assert "done:" in out and "stopped worker, broker and redis" in out
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", out)]
    assert len(pids) == 3  # broker, redis, worker
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
