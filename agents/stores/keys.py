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

    # The notifier's review links (agents.stores.review): the violations they show, the links used
    def review_violation(self, violation_id: str) -> str:
        return f"{self.prefix}:review:violation:{violation_id}"

    def review_used(self, link_id: str) -> str:
        return f"{self.prefix}:review:used:{link_id}"

    # Reviewers' feedback (agents.stores.violations, .allow, .feedback; docs/review.md): the violations
    # a verdict may name, the allow entries, applied feedback ids, judgements, labelled examples
    def violation(self, violation_id: str) -> str:
        return f"{self.prefix}:violation:{violation_id}"

    @property
    def violations_recent(self) -> str:
        return f"{self.prefix}:violations:recent"

    @property
    def allow_entries(self) -> str:
        return f"{self.prefix}:allow:entries"

    @property
    def allow_version(self) -> str:
        return f"{self.prefix}:allow:version"

    def feedback_applied(self, feedback_id: str) -> str:
        return f"{self.prefix}:feedback:applied:{feedback_id}"

    def feedback_judged(self, violation_id: str) -> str:
        return f"{self.prefix}:feedback:judged:{violation_id}"

    @property
    def feedback_counts(self) -> str:
        return f"{self.prefix}:feedback:counts"

    @property
    def labelled_examples(self) -> str:
        return f"{self.prefix}:feedback:examples"

    @property
    def labelled_order(self) -> str:
        return f"{self.prefix}:feedback:examples:order"

    # The policy version each live worker of a consumer group runs (agents.worker.policy_guard)
    def policy_versions(self, app_id: str) -> str:
        return f"{self.prefix}:policy:{app_id}"
