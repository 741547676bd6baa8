"""TLS and authentication for Kafka and Redis: the one place that maps `Settings` onto each client
library's options — librdkafka config keys (every confluent-kafka client), Faust broker
credentials (the worker's and the notifier's aiokafka clients) and redis-py keyword arguments.

PLAINTEXT Kafka and a redis:// URL without credentials (the local stack) map to nothing, so those
clients are configured exactly as without this module. The entry points read their settings with
`checked_settings` (the confluent configs of agents.connect.kafka too): a setting that cannot work
stops the process with a message that names the variable, instead of a client failing later with
a handshake error. The clients themselves are built by agents.connect.kafka and agents.connect.redis.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agents.connect.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_LOGIN_HINT = "check REDIS_URL, QUNGUARD_REDIS_USERNAME and QUNGUARD_REDIS_PASSWORD(_FILE)"


class SecuritySettingsError(ValueError):
    """A TLS or authentication setting that cannot work; the message names the variable."""


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """The Kafka settings, checked, with the password read from its file where one is given."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "PLAIN"
    username: str = ""
    password: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    check_hostname: bool = True

    @property
    def sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")


def kafka_security(settings: Settings) -> KafkaSecurity:
    var = "QUNGUARD_KAFKA_SECURITY_PROTOCOL"
    protocol = _choice(settings.kafka_security_protocol, PROTOCOLS, var)
    found = KafkaSecurity(
        protocol=protocol,
        mechanism=_choice(settings.kafka_sasl_mechanism, MECHANISMS, "QUNGUARD_KAFKA_SASL_MECHANISM"),
        username=settings.kafka_username,
        password=_password(settings.kafka_password, settings.kafka_password_file, "QUNGUARD_KAFKA_PASSWORD"),
        ca_file=_pem(settings.kafka_ca_file, "QUNGUARD_KAFKA_CA_FILE"),
        cert_file=_pem(settings.kafka_cert_file, "QUNGUARD_KAFKA_CERT_FILE"),
        key_file=_pem(settings.kafka_key_file, "QUNGUARD_KAFKA_KEY_FILE"),
        check_hostname=_flag(settings.kafka_check_hostname, "QUNGUARD_KAFKA_CHECK_HOSTNAME"),
    )
    if found.sasl and not (found.username and found.password):
        raise SecuritySettingsError(
            f"{var}={protocol} needs QUNGUARD_KAFKA_USERNAME and QUNGUARD_KAFKA_PASSWORD"
            " (or QUNGUARD_KAFKA_PASSWORD_FILE)"
        )
    if not found.sasl and (found.username or found.password):
        raise SecuritySettingsError(
            f"QUNGUARD_KAFKA_USERNAME/PASSWORD are set but {var}={protocol} sends no credentials"
            " (SASL_PLAINTEXT or SASL_SSL do)"
        )
    tls_files = {"CA": found.ca_file, "CERT": found.cert_file, "KEY": found.key_file}
    for name, value in tls_files.items():
        if value and not found.tls:
            raise SecuritySettingsError(
                f"QUNGUARD_KAFKA_{name}_FILE is set but {var}={protocol} does not use TLS (SSL or SASL_SSL do)"
            )
    _pair(found.cert_file, found.key_file, "QUNGUARD_KAFKA")
    return found


def kafka_client_config(settings: Settings) -> dict[str, str]:
    """librdkafka config keys for every confluent-kafka client (agents.connect.kafka)."""
    found = kafka_security(settings)
    if found.protocol == "PLAINTEXT":
        return {}
    config = {"security.protocol": found.protocol}
    if found.sasl:
        config["sasl.mechanism"] = found.mechanism
        config["sasl.username"] = found.username
        config["sasl.password"] = found.password
    if found.tls:
        # Without a CA file, the system's trusted CAs ("probe" finds them for the bundled OpenSSL).
        config["ssl.ca.location"] = found.ca_file or "probe"
        if found.cert_file:
            config["ssl.certificate.location"] = found.cert_file
            config["ssl.key.location"] = found.key_file
        config["ssl.endpoint.identification.algorithm"] = "https" if found.check_hostname else "none"
    return config


def faust_broker_options(settings: Settings) -> dict[str, Any]:
    """Faust app options (`broker_credentials`) for the same cluster settings."""
    found = kafka_security(settings)
    if found.protocol == "PLAINTEXT":
        return {}
    import faust  # not at module level: `qunguard replay` must not load Faust

    context = kafka_ssl_context(found) if found.tls else None
    if found.sasl:
        credentials: Any = faust.SASLCredentials(
            username=found.username, password=found.password, mechanism=found.mechanism, ssl_context=context
        )
    else:
        credentials = faust.SSLCredentials(context)
    return {"broker_credentials": credentials}


def kafka_ssl_context(found: KafkaSecurity) -> ssl.SSLContext:
    return _ssl_context(
        found.ca_file, found.cert_file, found.key_file, found.check_hostname, "QUNGUARD_KAFKA"
    )


def redis_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for redis-py's `from_url(settings.redis_url, ...)`, sync and asyncio alike."""
    url = urlsplit(settings.redis_url)
    if url.scheme not in REDIS_SCHEMES:
        raise SecuritySettingsError(
            f"REDIS_URL={redacted_url(settings.redis_url)!r}: expected redis://, rediss:// or unix://"
        )
    password = _password(settings.redis_password, settings.redis_password_file, "QUNGUARD_REDIS_PASSWORD")
    if url.password and password:
        raise SecuritySettingsError(
            "REDIS_URL carries a password and QUNGUARD_REDIS_PASSWORD(_FILE) is set too: give one"
        )
    if url.username and settings.redis_username:
        raise SecuritySettingsError(
            "REDIS_URL carries a user name and QUNGUARD_REDIS_USERNAME is set too: give one"
        )
    options: dict[str, Any] = {}
    if settings.redis_username:
        options["username"] = settings.redis_username
    if password:
        options["password"] = password
    ca_file = _pem(settings.redis_ca_file, "QUNGUARD_REDIS_CA_FILE")
    cert_file = _pem(settings.redis_cert_file, "QUNGUARD_REDIS_CERT_FILE")
    key_file = _pem(settings.redis_key_file, "QUNGUARD_REDIS_KEY_FILE")
    check_hostname = _flag(settings.redis_check_hostname, "QUNGUARD_REDIS_CHECK_HOSTNAME")
    _pair(cert_file, key_file, "QUNGUARD_REDIS")
    if url.scheme != "rediss":
        for name, value in (("CA", ca_file), ("CERT", cert_file), ("KEY", key_file)):
            if value:
                raise SecuritySettingsError(
                    f"QUNGUARD_REDIS_{name}_FILE is set but REDIS_URL is not rediss://"
                )
        return options
    if ca_file:
        options["ssl_ca_certs"] = ca_file
    if cert_file:
        options["ssl_certfile"] = cert_file
        options["ssl_keyfile"] = key_file
    options["ssl_check_hostname"] = check_hostname
    return options


def check_security(settings: Settings) -> None:
    """Check every TLS/SASL setting once (files exist and load, values are known); SystemExit if not."""
    try:
        found = kafka_security(settings)
        if found.tls:
            kafka_ssl_context(found)
        redis_options(settings)
    except SecuritySettingsError as exc:
        raise SystemExit(str(exc)) from None


def checked_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """This process's settings (Settings.from_env), checked: a bad TLS/SASL setting stops it here."""
    settings = Settings.from_env(environ)
    check_security(settings)
    return settings


def redacted_url(url: str) -> str:
    """`url` with its password replaced by ***, for logs and error messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}***@{host}"))


def _choice(value: str, allowed: tuple[str, ...], var: str) -> str:
    normal = value.strip().upper()
    if normal not in allowed:
        raise SecuritySettingsError(f"{var}={value!r}: expected one of {', '.join(allowed)}")
    return normal


def _flag(value: int, var: str) -> bool:
    if value not in (0, 1):
        raise SecuritySettingsError(f"{var}={value!r}: expected 1 (check) or 0 (do not check)")
    return bool(value)


def _password(value: str, path: str, var: str) -> str:
    """The password given directly or read from a file (a Docker or Kubernetes secret)."""
    if value and path:
        raise SecuritySettingsError(f"{var} and {var}_FILE are both set: give one")
    if not path:
        return value
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecuritySettingsError(f"{var}_FILE={path!r}: cannot read it ({exc})") from None
    password = text.rstrip("\r\n")  # secrets written with echo end in a newline that is not part of it
    if not password:
        raise SecuritySettingsError(f"{var}_FILE={path!r}: the file is empty")
    return password


def _pem(path: str, var: str) -> str:
    if path and not Path(path).is_file():
        raise SecuritySettingsError(f"{var}={path!r}: no such file")
    return path


def _pair(cert_file: str, key_file: str, prefix: str) -> None:
    if bool(cert_file) != bool(key_file):
        raise SecuritySettingsError(
            f"{prefix}_CERT_FILE and {prefix}_KEY_FILE go together: set both or neither"
        )


def _ssl_context(
    ca_file: str, cert_file: str, key_file: str, check_hostname: bool, prefix: str
) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (ssl.SSLError, OSError) as exc:
        raise SecuritySettingsError(
            f"{prefix}_CA_FILE={ca_file!r}: not a PEM CA certificate ({exc})"
        ) from None
    if cert_file:
        try:
            context.load_cert_chain(cert_file, key_file)
        except (ssl.SSLError, OSError) as exc:
            raise SecuritySettingsError(
                f"{prefix}_CERT_FILE={cert_file!r} / {prefix}_KEY_FILE={key_file!r}: cannot load ({exc})"
            ) from None
    context.check_hostname = check_hostname
    return context
