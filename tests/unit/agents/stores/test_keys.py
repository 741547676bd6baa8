"""agents.stores.keys: the key strings are an interface (docs/redis.md); they stay byte-identical."""

from __future__ import annotations

from agents.stores.keys import RedisKeys


def test_every_key_family_under_the_prefix() -> None:
    keys = RedisKeys("acme")
    assert [keys.employees, keys.accounts, keys.roster_meta, keys.roster_outbox] == [
        "acme:roster:employees", "acme:roster:accounts", "acme:roster:meta", "acme:roster:outbox",
    ]  # fmt: skip
    assert [keys.groups, keys.ledger_meta] == ["acme:ledger:groups", "acme:ledger:meta"]
    assert keys.staging(keys.groups, "t0") == "acme:ledger:groups:staging:t0"
    assert keys.ladder_employee("E7") == "acme:discipline:employee:E7"
    assert keys.ladder_employees == "acme:discipline:employees"
    assert keys.notify_sent("m-1", "people") == "acme:notify:sent:m-1:people"
    assert keys.policy_versions("qunguard") == "acme:policy:qunguard"
    assert RedisKeys().employees == "qg:roster:employees"
