"""Topic administration: create the catalog topics (SPEC §1) idempotently and wait until they are usable.

Checked against Tansu 0.6 and written for Apache Kafka: both accept the catalog's topic configs
(`retention.ms`, `cleanup.policy`) and `replication_factor=-1` (the broker's
`default.replication.factor`, KIP-464), so no broker-specific fallback is needed.

A broker that does not answer is one error after `CONNECT_TIMEOUT` seconds, not a 30 s wait for
every request; librdkafka's lines about each failed attempt go to Python logging at info
(agents.connect.kafka.LibrdkafkaLog), so a command line shows only the error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from agents.connect.kafka import connection
from topics.catalog import CATALOG, TopicSpec

log = logging.getLogger(__name__)

CREATED = "created"
EXISTS = "exists"
CONNECT_TIMEOUT = 10.0  # seconds for a first answer from the cluster


class TopicAdminError(RuntimeError):
    """A topic could not be created or did not become ready; the message names the topic."""


def admin_client(bootstrap: str) -> AdminClient:
    return AdminClient(connection(bootstrap, "qunguard-admin"))


def create_topics(
    bootstrap: str,
    catalog: Iterable[TopicSpec] = CATALOG,
    timeout: float = 30.0,
    partitions_override: int | Mapping[str, int] | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> dict[str, str]:
    """Create every catalog topic with its partitions and configs; return {topic: outcome}.

    The outcome is "created", or "exists" when the topic was already there. An existing topic whose
    partition count differs from the catalog's is still "exists", with the difference noted (Kafka
    cannot shrink partitions, and growing them would move keys: that is an operator's decision).
    Any other broker error raises TopicAdminError naming the topic; no answer from the cluster within
    `connect_timeout` seconds raises it naming the bootstrap servers.
    """
    specs = list(catalog)
    admin = admin_client(bootstrap)
    check_reachable(admin, bootstrap, connect_timeout)
    wanted = {spec.name: _partitions(spec, partitions_override) for spec in specs}
    new_topics = [
        NewTopic(spec.name, num_partitions=wanted[spec.name], replication_factor=-1, config=dict(spec.config))
        for spec in specs
    ]
    futures = admin.create_topics(new_topics, request_timeout=timeout, operation_timeout=timeout)
    outcomes: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=timeout + 5)  # let the broker's own timeout error arrive first
            admin.poll(0)  # hand librdkafka's log lines to Python logging
            outcomes[name] = CREATED
        except KafkaException as exc:
            error = exc.args[0]
            if not isinstance(error, KafkaError) or error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise TopicAdminError(f"topic {name}: cannot create: {error}") from None
            outcomes[name] = EXISTS
        except Exception as exc:  # e.g. the future itself timing out
            raise TopicAdminError(f"topic {name}: cannot create: {str(exc) or type(exc).__name__}") from None

    ready_counts = dict(wanted)
    existing = [name for name, outcome in outcomes.items() if outcome == EXISTS]
    if existing:
        actual = _partition_counts(admin, existing, timeout)
        for name in existing:
            if actual.get(name) not in (None, wanted[name]):
                ready_counts[name] = actual[name]
                outcomes[name] = f"{EXISTS} ({actual[name]} partitions; the catalog says {wanted[name]})"
                log.warning("topic %s: %s", name, outcomes[name])
    wait_for_topics(bootstrap, ready_counts, timeout=timeout, admin=admin)
    return {spec.name: outcomes[spec.name] for spec in specs}


def wait_for_topics(
    bootstrap: str,
    topics: Mapping[str, int] | Iterable[str],
    timeout: float = 30.0,
    admin: AdminClient | None = None,
) -> None:
    """Block until every topic is in the cluster metadata with all its partitions led.

    `topics` maps names to minimum partition counts, or is just names (any count). Topic creation
    is asynchronous on a real cluster: producing right after CreateTopics can hit
    UNKNOWN_TOPIC_OR_PART until the metadata has propagated.
    """
    wanted = dict(topics) if isinstance(topics, Mapping) else dict.fromkeys(topics, 1)
    admin = admin or admin_client(bootstrap)
    deadline = time.monotonic() + timeout
    missing = sorted(wanted)
    while True:
        metadata = admin.list_topics(timeout=max(1.0, min(10.0, deadline - time.monotonic())))
        admin.poll(0)
        missing = []
        for name, count in sorted(wanted.items()):
            topic = metadata.topics.get(name)
            ready = (
                topic is not None
                and topic.error is None
                and len(topic.partitions) >= count
                and all(p.leader >= 0 for p in topic.partitions.values())
            )
            if not ready:
                missing.append(name)
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise TopicAdminError(f"topics not ready after {timeout:g}s: {', '.join(missing)}")
        time.sleep(0.2)


def check_reachable(admin: AdminClient, bootstrap: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise TopicAdminError unless the cluster answers a metadata request within `timeout` seconds."""
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0]
        detail = error.str() if isinstance(error, KafkaError) else str(exc)
        raise TopicAdminError(
            f"no Kafka broker answered at {bootstrap} within {timeout:g}s ({detail})"
        ) from None
    finally:
        admin.poll(0)


def _partitions(spec: TopicSpec, override: int | Mapping[str, int] | None) -> int:
    if override is None:
        return spec.partitions
    if isinstance(override, int):
        return override
    return override.get(spec.name, spec.partitions)


def _partition_counts(admin: AdminClient, names: list[str], timeout: float) -> dict[str, int]:
    metadata = admin.list_topics(timeout=timeout)
    return {
        name: len(metadata.topics[name].partitions)
        for name in names
        if name in metadata.topics and metadata.topics[name].error is None
    }
