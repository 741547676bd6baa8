"""One policy per consumer group: the worker publishes the policy version it runs and refuses to
join a group whose live workers run another one (two policies in one group judge the same stream
two ways: the `policy_version` of the output flips with the partition).

Layout (docs/redis.md; the key name is agents.stores.keys.RedisKeys.policy_versions):
`<prefix>:policy:<app id>` HASH, one field per worker process (`host:pid`), value JSON
`{"version", "seen"}`, `seen` being the Redis server time of its last heartbeat (one clock for all
hosts). An entry is live while `seen` is within LIVE_SECONDS.

- At start (`join`, one WATCH/MULTI transaction): a live entry of another version stops the worker
  with PolicyConflictError (`qunguard worker` exits 2 with the message); otherwise its entry is
  written. Redis unreachable at start: logged, and the heartbeat checks instead.
- Every HEARTBEAT_SECONDS (`beat`): the entry is refreshed, the key's TTL renewed, entries that are
  no longer live dropped; a live entry of another version (a worker that could not reach Redis at
  start, or one that started while this one was silent for over LIVE_SECONDS) sets
  `qunguard_policy_mismatch` to 1 and logs an error on every beat until it is gone.
- A clean stop removes the entry; a crashed worker's entry stops counting after LIVE_SECONDS.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import faust
import orjson
import redis
import redis.asyncio
from prometheus_client import Gauge

from agents.connect.redis import async_redis_client, redis_client
from agents.connect.settings import Settings
from agents.stores.keys import RedisKeys
from streams.core.policy import PolicyError

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
LIVE_SECONDS = 45.0  # a worker silent this long has stopped (or lost Redis): its version no longer counts
KEY_TTL_SECONDS = 3600  # the whole key goes this long after the group's last heartbeat

POLICY_MISMATCH = Gauge(
    "qunguard_policy_mismatch",
    "1 while another live worker of this consumer group runs a different policy version",
)
POLICY_INFO = Gauge("qunguard_policy_info", "The policy version this worker runs (value 1)", ["version"])


class PolicyConflictError(PolicyError):
    """The consumer group already runs another policy version."""


@dataclass(frozen=True, slots=True)
class Running:
    """One worker's entry: the policy version it runs and its last heartbeat (Redis time)."""

    instance: str
    version: str
    seen: float

    @classmethod
    def decode(cls, instance: bytes | str, raw: bytes) -> Running | None:
        """None for an entry this code cannot read (it is dropped like a stopped worker's)."""
        try:
            doc = orjson.loads(raw)
            return cls(_text(instance), str(doc["version"]), float(doc["seen"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def encode(self) -> bytes:
        return orjson.dumps({"version": self.version, "seen": self.seen})

    def live(self, now: float) -> bool:
        return now - self.seen <= LIVE_SECONDS


def other_versions(entries: Iterable[Running], me: Running) -> list[Running]:
    """The live entries of other workers that run another version than `me`. An entry under my own
    name is an earlier process with my host name and pid (a restarted container): not a rival."""
    return [e for e in entries if e.instance != me.instance and e.version != me.version and e.live(me.seen)]


def describe(others: Iterable[Running], now: float) -> str:
    return ", ".join(f"{o.version} on {o.instance} (heartbeat {now - o.seen:.0f} s ago)" for o in others)


class PolicyGuard:
    """The entry of one worker process in its consumer group's policy hash."""

    def __init__(self, key: str, app_id: str, version: str, instance: str | None = None) -> None:
        self.key = key
        self.app_id = app_id
        self.version = version
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def from_settings(cls, settings: Settings, version: str) -> PolicyGuard:
        key = RedisKeys(settings.redis_prefix).policy_versions(settings.app_id)
        return cls(key, settings.app_id, version)

    def join(self, client: redis.Redis) -> None:
        """Write this worker's entry, or raise PolicyConflictError when a live entry runs another
        version. Check and write are one transaction: of two workers starting at once, one wins."""
        with client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(self.key)
                    now = _seconds(pipe.time())
                    others = other_versions(_entries(pipe.hgetall(self.key)), self.entry(now))
                    if others:
                        pipe.unwatch()
                        raise PolicyConflictError(self.refusal(others, now))
                    pipe.multi()
                    self._write(pipe, now)
                    pipe.execute()
                    return
                except redis.exceptions.WatchError:
                    continue  # another worker wrote in between: look again

    def refusal(self, others: list[Running], now: float) -> str:
        return (
            f"policy version {self.version} refused: consumer group {self.app_id!r} already runs "
            f"{describe(others, now)}. One group judges with one policy: stop every worker of the "
            f"group and start them with the same policy file (a stopped worker's entry stops counting "
            f"{LIVE_SECONDS:.0f} s after its last heartbeat; Redis key {self.key})"
        )

    async def beat(self, client: redis.asyncio.Redis) -> list[Running]:
        """Refresh this worker's entry; return (and alert on) live entries of another version."""
        now = _seconds(await client.time())
        entries = _entries(await client.hgetall(self.key))
        gone = [e.instance for e in entries if not e.live(now) and e.instance != self.instance]
        async with client.pipeline(transaction=True) as pipe:
            self._write(pipe, now)
            if gone:
                pipe.hdel(self.key, *gone)
            await pipe.execute()
        others = other_versions(entries, self.entry(now))
        POLICY_MISMATCH.set(1 if others else 0)
        if others:
            log.error(
                "policy mismatch in consumer group %r: this worker runs %s, %s; violations of this "
                "group now depend on which worker owns a partition: run one policy file everywhere",
                self.app_id,
                self.version,
                describe(others, now),
            )
        return others

    async def leave(self, client: redis.asyncio.Redis) -> None:
        await client.hdel(self.key, self.instance)

    def entry(self, now: float) -> Running:
        return Running(self.instance, self.version, now)

    def _write(self, pipe: redis.client.Pipeline | redis.asyncio.client.Pipeline, now: float) -> None:
        pipe.hset(self.key, self.instance, self.entry(now).encode())
        pipe.expire(self.key, KEY_TTL_SECONDS)


def guard_policy_version(app: faust.App, settings: Settings, version: str) -> PolicyGuard:
    """Join the group's policy hash now (PolicyConflictError stops the start), then keep the entry
    fresh on a timer and remove it on a clean stop."""
    guard = PolicyGuard.from_settings(settings, version)
    POLICY_INFO.labels(version).set(1)
    client = redis_client(settings)
    try:
        guard.join(client)
    except PolicyConflictError as exc:
        log.error("%s", exc)
        raise
    except redis.exceptions.RedisError as exc:
        log.warning(
            "could not check the consumer group's policy versions at start (%s); the heartbeat will", exc
        )
    finally:
        client.close()
    beats = async_redis_client(settings)

    @app.timer(HEARTBEAT_SECONDS, name="qunguard.policy_heartbeat")
    async def heartbeat() -> None:
        try:
            await guard.beat(beats)
        except redis.exceptions.RedisError as exc:
            log.warning("policy heartbeat failed (%s); retrying in %.0f s", exc, HEARTBEAT_SECONDS)

    @app.on_before_shutdown.connect
    async def leave(app: faust.App, **_: object) -> None:
        try:
            await guard.leave(beats)
        except redis.exceptions.RedisError as exc:
            log.warning("could not remove this worker's policy entry (%s); it expires on its own", exc)

    return guard


def _entries(raw: Mapping[bytes, bytes]) -> list[Running]:
    found = (Running.decode(instance, value) for instance, value in raw.items())
    return [e for e in found if e is not None]


def _seconds(server_time: tuple[int, int]) -> float:
    """Redis TIME (seconds, microseconds) as epoch seconds."""
    seconds, micros = server_time
    return seconds + micros / 1e6


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
