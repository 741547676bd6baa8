"""Runtime settings, read from the environment only (the same variables in dev, tests and compose)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from streams.policy import DEFAULT_POLICY

# Every variable the app reads; tests check docker-compose.yml against this list.
ENV_VARS: dict[str, str] = {
    "KAFKA_BOOTSTRAP": "kafka_bootstrap",
    "REDIS_URL": "redis_url",
    "QUNGUARD_POLICY": "policy_path",
    "QUNGUARD_APP_ID": "app_id",
    "QUNGUARD_REDIS_PREFIX": "redis_prefix",
    "QUNGUARD_WEB_PORT": "web_port",
    "QUNGUARD_SESSION_TIMEOUT": "session_timeout",
    "QUNGUARD_MAX_POLL_INTERVAL": "max_poll_interval",
    "QUNGUARD_COMMIT_INTERVAL": "commit_interval",
    "QUNGUARD_LOG_LEVEL": "log_level",
    "QUNGUARD_REPLICATION_FACTOR": "replication_factor",
    "QUNGUARD_DATA_DIR": "data_dir",
    "QUNGUARD_TICK_INTERVAL": "tick_interval",
    "QUNGUARD_LOG_FORMAT": "log_format",
    "QUNGUARD_LOG_MESSAGE_TEXT": "log_message_text",
    "QUNGUARD_FAUST_SENSOR": "faust_sensor",
    "QUNGUARD_STALL_AFTER": "stall_after",
}


@dataclass(frozen=True, slots=True)
class Settings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    policy_path: str = str(DEFAULT_POLICY)
    app_id: str = "qunguard"
    redis_prefix: str = "qg"
    web_port: int = 0  # 0: Faust's web server (and /metrics) off
    session_timeout: float = 30.0
    max_poll_interval: float = 300.0
    commit_interval: float = 2.8
    log_level: str = "info"
    replication_factor: int = 1  # of the worker's internal topics (changelogs); 3 on a real cluster
    data_dir: str = ""  # Faust's local state; empty: "<app id>-data" in the working directory
    tick_interval: float = 30.0  # seconds between sweeps of due deadlines and idle state
    log_format: str = "json"  # json: one object per line (agents.logs); text: for people
    log_message_text: int = 0  # 1: a log call's `text` extra (chat text) is written; off by default
    faust_sensor: int = 0  # 1: Faust's Prometheus monitor on /metrics (~18 µs per message, hence off)
    stall_after: float = 20.0  # seconds a partition may sit behind its end unchanged (agents.stall_guard)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        types = {f.name: f.type for f in fields(cls)}
        values = {}
        for var, name in ENV_VARS.items():
            raw = environ.get(var)
            if raw is None or raw == "":
                continue
            kind = types[name]
            try:
                values[name] = int(raw) if kind == "int" else float(raw) if kind == "float" else raw
            except ValueError:
                raise SystemExit(f"{var}={raw!r}: expected a {kind}") from None
        return cls(**values)

    def env(self) -> dict[str, str]:
        """These settings as environment variables, for child processes."""
        return {var: str(getattr(self, name)) for var, name in ENV_VARS.items()}

    @property
    def kafka_url(self) -> str:
        return ";".join(f"kafka://{host}" for host in self.kafka_bootstrap.split(","))
