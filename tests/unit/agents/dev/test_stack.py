"""`qunguard dev`'s policy: the shipped one with the demo's changes, each said with its reason."""

from __future__ import annotations

from pathlib import Path

from agents.dev.stack import DEV_POLICY, dev_policy
from streams.core.policy import DEFAULT_POLICY, load_policy


def test_dev_policy_lists_what_differs_from_the_shipped_policy(tmp_path: Path) -> None:
    path, changes = dev_policy(tmp_path)
    assert {c.key: (c.shipped, c.dev) for c in changes} == {
        "out_of_order_seconds": ("60", "86400"),
        "sweep_interval_seconds": ("86400", "5"),
    }
    assert len(changes) == len(DEV_POLICY)
    assert str(changes[0]).startswith("sweep_interval_seconds = 5 (shipped: 86400): membership is swept")
    written = path.read_text(encoding="utf-8").splitlines()
    shipped = DEFAULT_POLICY.read_text(encoding="utf-8").splitlines()
    assert len(written) == len(shipped)
    assert {line for line in written if line not in shipped} == {
        "out_of_order_seconds = 86400",
        "sweep_interval_seconds = 5",
    }
    load_policy(str(path))  # still a valid policy
