"""Runtime settings, read from the environment only (the same variables in dev, tests and compose).

Plain data: agents.connect.security checks the TLS/SASL values and maps them onto the clients
(entry points read their settings with `security.checked_settings`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from streams.core.policy import DEFAULT_POLICY
from streams.notify.config import DEFAULT_NOTIFY_CONFIG

# Every variable the app reads; tests check docker-compose.yml against this list.
ENV_VARS: dict[str, str] = {
    "KAFKA_BOOTSTRAP": "kafka_bootstrap",
    "REDIS_URL": "redis_url",
    "QUNGUARD_POLICY": "policy_path",
    "QUNGUARD_APP_ID": "app_id",
    "QUNGUARD_REDIS_PREFIX": "redis_prefix",
    "QUNGUARD_WEB_PORT": "web_port",
    "QUNGUARD_WEB_HOST": "web_host",
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
    "QUNGUARD_REBALANCE_LIMIT": "rebalance_limit",
    "QUNGUARD_REFERENCE_CHECK_INTERVAL": "reference_check_interval",
    # The notifier's configuration; the worker reads who is HR and the security office there
    # (streams.feedback.judges.load_judges), the notifier everything (agents.notify.run)
    "QUNGUARD_NOTIFY_CONFIG": "notify_config",
    # TLS and authentication (agents.connect.security; README "Security: TLS and authentication")
    "QUNGUARD_KAFKA_SECURITY_PROTOCOL": "kafka_security_protocol",
    "QUNGUARD_KAFKA_SASL_MECHANISM": "kafka_sasl_mechanism",
    "QUNGUARD_KAFKA_USERNAME": "kafka_username",
    "QUNGUARD_KAFKA_PASSWORD": "kafka_password",
    "QUNGUARD_KAFKA_PASSWORD_FILE": "kafka_password_file",
    "QUNGUARD_KAFKA_CA_FILE": "kafka_ca_file",
    "QUNGUARD_KAFKA_CERT_FILE": "kafka_cert_file",
    "QUNGUARD_KAFKA_KEY_FILE": "kafka_key_file",
    "QUNGUARD_KAFKA_CHECK_HOSTNAME": "kafka_check_hostname",
    "QUNGUARD_REDIS_USERNAME": "redis_username",
    "QUNGUARD_REDIS_PASSWORD": "redis_password",
    "QUNGUARD_REDIS_PASSWORD_FILE": "redis_password_file",
    "QUNGUARD_REDIS_CA_FILE": "redis_ca_file",
    "QUNGUARD_REDIS_CERT_FILE": "redis_cert_file",
    "QUNGUARD_REDIS_KEY_FILE": "redis_key_file",
    "QUNGUARD_REDIS_CHECK_HOSTNAME": "redis_check_hostname",
}


@dataclass(frozen=True, slots=True)
class Settings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    policy_path: str = str(DEFAULT_POLICY)
    app_id: str = "qunguard"
    redis_prefix: str = "qg"
    web_port: int = 0  # 0: Faust's web server (and /metrics) off
    # Address the web servers (the worker's and notifier's, the lag exporter's) listen on; loopback
    # unless asked: a container sets 0.0.0.0 so Prometheus and healthchecks reach it.
    web_host: str = "127.0.0.1"
    session_timeout: float = 30.0
    max_poll_interval: float = 300.0
    commit_interval: float = 2.8
    log_level: str = "info"
    replication_factor: int = 1  # of the worker's internal topics (changelogs); 3 on a real cluster
    data_dir: str = ""  # Faust's local state; empty: "<app id>-data" in the working directory
    tick_interval: float = 30.0  # seconds between sweeps of due deadlines and idle state
    log_format: str = "json"  # json: one object per line (agents.runtime.logs); text: for people
    log_message_text: int = 0  # 1: a log call's `text` extra (chat text) is written; off by default
    faust_sensor: int = 0  # 1: Faust's Prometheus monitor on /metrics (~18 µs per message, hence off)
    stall_after: float = (
        20.0  # seconds a partition may sit behind its end unchanged (agents.runtime.stall_guard)
    )
    rebalance_limit: float = (
        300.0  # seconds out of the group before the process exits (agents.runtime.watchdog)
    )
    # seconds between looks at what Redis holds of roster and ledger (agents.stores.cache): how
    # soon a flushed Redis or a new load is noticed, and how often a held record asks again
    reference_check_interval: float = 5.0
    notify_config: str = str(DEFAULT_NOTIFY_CONFIG)  # `[roles.*] employees`: who judges as HR, security
    # Kafka TLS/SASL and Redis TLS/ACL, mapped onto each client library by agents.connect.security.
    kafka_security_protocol: str = "PLAINTEXT"  # SSL, SASL_PLAINTEXT or SASL_SSL
    kafka_sasl_mechanism: str = "PLAIN"  # SCRAM-SHA-256 or SCRAM-SHA-512
    kafka_username: str = ""
    kafka_password: str = field(default="", repr=False)
    kafka_password_file: str = ""  # a mounted secret; its content is the password
    kafka_ca_file: str = ""  # PEM; empty: the system's trusted CAs
    kafka_cert_file: str = ""  # PEM client certificate (mutual TLS), with kafka_key_file
    kafka_key_file: str = ""
    kafka_check_hostname: int = 1  # 0: accept a broker certificate issued for another name
    redis_username: str = ""  # an ACL user; REDIS_URL may carry user and password instead
    redis_password: str = field(default="", repr=False)
    redis_password_file: str = ""
    redis_ca_file: str = ""  # TLS settings apply to a rediss:// REDIS_URL
    redis_cert_file: str = ""
    redis_key_file: str = ""
    redis_check_hostname: int = 1

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
