"""How the worker's agents are wired to topics, per partitioning of detector state.

- "group": the input topics keyed by group (chat.messages, chat.membership) plus the internal
  topic `<app id>-group`, which only carries tick records for sweeps (agents.runtime.ticks).
- "sender", "member": internal topics `<app id>-sender` / `<app id>-member`, to which the
  agent that first sees an event forwards it, keyed by the routing key (streams.core.routing), plus
  ticks. This is Faust's repartition pattern, with the routing decided in streams/.
- "employee": internal topic `<app id>-employee`, to which a violation the escalation ladder
  tracks is forwarded (encoded violation JSON) keyed by employee id; the `moderate.employee`
  agent runs the ladder there (agents.worker.ladder). No ticks.
- hr.roster (keyed by employee) has no state of its own: its agent refreshes the worker's cache
  and forwards the change to the "member" topic, keyed by each of the employee's accounts.

Internal topics are created by the worker at start (agents.connect.admin.create_topics, idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.runtime.internal import internal_topic
from streams.core.state import Partition
from topics.catalog import MEMBERSHIP, MESSAGES, TopicSpec


@dataclass(frozen=True, slots=True)
class Topology:
    app_id: str

    def internal(self, partition: Partition) -> TopicSpec:
        return internal_topic(self.app_id, partition, f"{partition} routing key")

    def sources(self, partition: Partition) -> tuple[str, ...]:
        """The topics the agent of `partition` consumes (all with the input topics' partition count,
        agents.runtime.internal.INTERNAL_PARTITIONS)."""
        inputs = (MESSAGES.name, MEMBERSHIP.name) if partition == "group" else ()
        return (*inputs, self.internal(partition).name)

    def internal_topics(self, partitions: tuple[Partition, ...]) -> tuple[TopicSpec, ...]:
        return tuple(self.internal(p) for p in partitions)
