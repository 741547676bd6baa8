"""Every Redis key name qunguard uses, under one prefix (QUNGUARD_REDIS_PREFIX, `qg` by default).

The key strings are an interface (docs/redis.md lists them; operators inspect them with
redis-cli): a change here is a change of the stored layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RedisKeys:
    prefix: str = "qg"

    # Reference data (agents.stores.reference)
    @property
    def employees(self) -> str:
        return f"{self.prefix}:roster:employees"

    @property
    def accounts(self) -> str:
        return f"{self.prefix}:roster:accounts"

    @property
    def roster_meta(self) -> str:
        return f"{self.prefix}:roster:meta"

    @property
    def roster_outbox(self) -> str:
        return f"{self.prefix}:roster:outbox"

    @property
    def groups(self) -> str:
        return f"{self.prefix}:ledger:groups"

    @property
    def ledger_meta(self) -> str:
        return f"{self.prefix}:ledger:meta"

    @staticmethod
    def staging(key: str, token: str) -> str:
        """The next version of data key `key` while load `token` writes it."""
        return f"{key}:staging:{token}"

    # The ladder's read model (agents.stores.ladder); "discipline" in the key names predates the code's names
    def ladder_employee(self, employee_id: str) -> str:
        return f"{self.prefix}:discipline:employee:{employee_id}"

    @property
    def ladder_employees(self) -> str:
        return f"{self.prefix}:discipline:employees"

    # The notifier's delivery marks (agents.stores.dedupe)
    def notify_sent(self, message_id: str, sink: str) -> str:
        return f"{self.prefix}:notify:sent:{message_id}:{sink}"

    # The policy version each live worker of a consumer group runs (agents.worker.policy_guard)
    def policy_versions(self, app_id: str) -> str:
        return f"{self.prefix}:policy:{app_id}"
