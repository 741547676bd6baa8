"""agents.worker.policy_guard without Redis: entries, who counts as a rival, the refusal text.
The Redis transactions are tested in tests/integration/test_policy_guard.py, the worker in
tests/e2e/test_policy_guard.py."""

from __future__ import annotations

from agents.connect.settings import Settings
from agents.worker.policy_guard import LIVE_SECONDS, PolicyConflictError, PolicyGuard, Running, other_versions
from streams.core.policy import PolicyError


def test_an_entry_round_trips_and_garbage_is_ignored() -> None:
    entry = Running("host:1", "2026-11-23+abcd1234", 1000.5)
    assert Running.decode(b"host:1", entry.encode()) == entry
    assert Running.decode(b"host:2", b"not json") is None
    assert Running.decode(b"host:3", b'{"version": "v"}') is None


def test_only_live_workers_of_another_version_are_rivals() -> None:
    me = Running("me:1", "v1", 10_000.0)
    same = Running("b:2", "v1", 9_999.0)
    other = Running("c:3", "v2", 9_990.0)
    dead = Running("d:4", "v2", 10_000.0 - LIVE_SECONDS - 1)
    earlier_me = Running("me:1", "v0", 9_999.0)  # a restarted container with my host name and pid
    assert other_versions([me, same, other, dead, earlier_me], me) == [other]


def test_the_key_and_the_refusal_name_the_group() -> None:
    guard = PolicyGuard.from_settings(Settings(app_id="qg-prod", redis_prefix="acme"), "v1")
    assert guard.key == "acme:policy:qg-prod"
    text = guard.refusal([Running("host:7", "v2", 100.0)], 103.0)
    assert "v1 refused" in text and "'qg-prod'" in text and "v2 on host:7 (heartbeat 3 s ago)" in text
    assert issubclass(PolicyConflictError, PolicyError)  # `qunguard worker` exits 2 with the message
