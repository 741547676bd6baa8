"""The feedback keys of agents.stores.keys (docs/redis.md): an interface, byte-identical."""

from __future__ import annotations

from agents.stores.keys import RedisKeys


def test_feedback_key_family_under_the_prefix() -> None:
    keys = RedisKeys("acme")
    assert [keys.violation("v-1"), keys.violations_recent] == ["acme:violation:v-1", "acme:violations:recent"]
    assert [keys.allow_entries, keys.allow_version] == ["acme:allow:entries", "acme:allow:version"]
    assert keys.feedback_applied("f-1") == "acme:feedback:applied:f-1"
    assert keys.feedback_judged("v-1") == "acme:feedback:judged:v-1"
    assert [keys.feedback_counts, keys.labelled_examples, keys.labelled_order] == [
        "acme:feedback:counts", "acme:feedback:examples", "acme:feedback:examples:order",
    ]  # fmt: skip
