"""agents.connect.security: Settings mapped onto librdkafka keys, Faust credentials and redis-py arguments;
password files; bad values rejected naming the variable, and a process stopped by `checked_settings`."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from faust.types.auth import AuthProtocol, SASLMechanism

from agents.connect.kafka import producer_config, reader_config
from agents.connect.security import (
    SecuritySettingsError,
    checked_settings,
    faust_broker_options,
    kafka_client_config,
    redacted_url,
    redis_options,
)
from agents.connect.settings import ENV_VARS, Settings
from agents.runtime.app import app_options
from tests.support import self_signed_certificate


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A self-signed certificate and its key (used as CA, client certificate and key alike)."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("pem"))
    return {"cert": cert, "key": key}


def test_plaintext_maps_to_nothing() -> None:
    settings = Settings()
    assert kafka_client_config(settings) == {}
    assert faust_broker_options(settings) == {}
    assert redis_options(settings) == {}
    assert "broker_credentials" not in app_options(settings)


def test_sasl_ssl_scram_for_confluent(pem: dict[str, str]) -> None:
    settings = Settings(
        kafka_security_protocol="sasl_ssl", kafka_sasl_mechanism="SCRAM-SHA-512", kafka_username="qunguard",
        kafka_password="s3cret", kafka_ca_file=pem["cert"],
    )  # fmt: skip
    assert kafka_client_config(settings) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "qunguard",
        "sasl.password": "s3cret",
        "ssl.ca.location": pem["cert"],
        "ssl.endpoint.identification.algorithm": "https",
    }


def test_mutual_tls_without_hostname_check_for_confluent(pem: dict[str, str]) -> None:
    settings = Settings(
        kafka_security_protocol="SSL", kafka_cert_file=pem["cert"], kafka_key_file=pem["key"],
        kafka_check_hostname=0,
    )  # fmt: skip
    assert kafka_client_config(settings) == {
        "security.protocol": "SSL",
        "ssl.ca.location": "probe",  # no CA file: the system's trusted CAs
        "ssl.certificate.location": pem["cert"],
        "ssl.key.location": pem["key"],
        "ssl.endpoint.identification.algorithm": "none",
    }


def test_every_confluent_config_carries_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUNGUARD_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("QUNGUARD_KAFKA_USERNAME", "u")
    monkeypatch.setenv("QUNGUARD_KAFKA_PASSWORD", "p")
    for config in (producer_config("k:9092", "x"), reader_config("k:9092", "x")):
        assert config["security.protocol"] == "SASL_PLAINTEXT"
        assert (config["sasl.mechanism"], config["sasl.username"], config["sasl.password"]) == (
            "PLAIN",
            "u",
            "p",
        )


def test_faust_sasl_ssl_credentials(pem: dict[str, str]) -> None:
    settings = Settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="scram-sha-256", kafka_username="qunguard",
        kafka_password="s3cret", kafka_ca_file=pem["cert"], kafka_check_hostname=0,
    )  # fmt: skip
    credentials = app_options(settings)["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol is AuthProtocol.SASL_SSL
    assert credentials.mechanism is SASLMechanism.SCRAM_SHA_256
    assert (credentials.username, credentials.password) == ("qunguard", "s3cret")
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    assert credentials.ssl_context.check_hostname is False
    assert credentials.ssl_context.verify_mode == ssl.CERT_REQUIRED


def test_faust_sasl_plaintext_and_ssl_credentials(pem: dict[str, str]) -> None:
    sasl = faust_broker_options(
        Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="u", kafka_password="p")
    )["broker_credentials"]
    assert sasl.protocol is AuthProtocol.SASL_PLAINTEXT and sasl.ssl_context is None
    assert sasl.mechanism is SASLMechanism.PLAIN
    tls = faust_broker_options(
        Settings(kafka_security_protocol="SSL", kafka_cert_file=pem["cert"], kafka_key_file=pem["key"])
    )["broker_credentials"]
    assert isinstance(tls, faust.SSLCredentials) and tls.protocol is AuthProtocol.SSL
    assert tls.context.check_hostname is True


def test_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("from-file\n")  # as `echo` writes it
    settings = Settings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_username="u", kafka_password_file=str(secret),
        redis_password_file=str(secret),
    )  # fmt: skip
    assert kafka_client_config(settings)["sasl.password"] == "from-file"
    assert redis_options(settings) == {"password": "from-file"}


def test_settings_from_env_reads_the_variables(tmp_path: Path) -> None:
    secret = tmp_path / "redis-password"
    secret.write_text("pw")
    settings = Settings.from_env(
        {"REDIS_URL": "rediss://redis.internal:6380/0", "QUNGUARD_REDIS_USERNAME": "qunguard",
         "QUNGUARD_REDIS_PASSWORD_FILE": str(secret), "QUNGUARD_REDIS_CHECK_HOSTNAME": "0"}
    )  # fmt: skip
    assert redis_options(settings) == {"username": "qunguard", "password": "pw", "ssl_check_hostname": False}
    assert "pw" not in repr(settings)
    assert {v for v in ENV_VARS if "KAFKA_" in v and v.startswith("QUNGUARD_")} >= {
        "QUNGUARD_KAFKA_SECURITY_PROTOCOL", "QUNGUARD_KAFKA_PASSWORD_FILE", "QUNGUARD_KAFKA_CHECK_HOSTNAME"
    }  # fmt: skip


def test_redis_tls_and_acl(pem: dict[str, str]) -> None:
    settings = Settings(
        redis_url="rediss://redis.internal:6380/0", redis_username="qunguard", redis_password="pw",
        redis_ca_file=pem["cert"], redis_cert_file=pem["cert"], redis_key_file=pem["key"],
    )  # fmt: skip
    assert redis_options(settings) == {
        "username": "qunguard",
        "password": "pw",
        "ssl_ca_certs": pem["cert"],
        "ssl_certfile": pem["cert"],
        "ssl_keyfile": pem["key"],
        "ssl_check_hostname": True,
    }


def test_credentials_in_the_redis_url_alone() -> None:
    assert redis_options(Settings(redis_url="redis://qunguard:pw@redis:6379/0")) == {}
    assert redacted_url("rediss://qunguard:pw@redis:6380/0") == "rediss://qunguard:***@redis:6380/0"
    assert redacted_url("redis://:pw@redis/0") == "redis://:***@redis/0"
    assert redacted_url("redis://redis:6379/0") == "redis://redis:6379/0"


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"kafka_security_protocol": "TLS"}, "QUNGUARD_KAFKA_SECURITY_PROTOCOL='TLS': expected one of"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "QUNGUARD_KAFKA_SASL_MECHANISM='GSSAPI'"),
        ({"kafka_security_protocol": "SASL_SSL"}, "SASL_SSL needs QUNGUARD_KAFKA_USERNAME"),
        ({"kafka_username": "u", "kafka_password": "p"}, "PLAINTEXT sends no credentials"),
        ({"kafka_ca_file": "/etc/hostname"}, "QUNGUARD_KAFKA_CA_FILE is set but"),
        ({"kafka_security_protocol": "SSL", "kafka_ca_file": "/nonexistent.pem"}, "QUNGUARD_KAFKA_CA_FILE="),
        ({"kafka_security_protocol": "SSL", "kafka_check_hostname": 2}, "QUNGUARD_KAFKA_CHECK_HOSTNAME=2"),
        ({"kafka_password": "p", "kafka_password_file": "/etc/hostname"}, "QUNGUARD_KAFKA_PASSWORD and"),
        ({"redis_url": "http://redis:6379"}, "REDIS_URL='http://redis:6379'"),
        ({"redis_url": "redis://:pw@redis/0", "redis_password": "pw"}, "REDIS_URL carries a password"),
        ({"redis_ca_file": "/etc/hostname"}, "QUNGUARD_REDIS_CA_FILE is set but REDIS_URL is not rediss"),
        ({"redis_password_file": "/nonexistent"}, "QUNGUARD_REDIS_PASSWORD_FILE='/nonexistent': cannot read"),
    ],
)
def test_bad_values_name_the_variable(values: dict, variable: str) -> None:
    settings = Settings(**values)
    with pytest.raises(SecuritySettingsError, match=variable.replace("(", r"\(")):
        kafka_client_config(settings)
        redis_options(settings)


def test_checked_settings_stop_on_a_bad_value(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    bad = {"QUNGUARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "QUNGUARD_KAFKA_USERNAME": "u",
           "QUNGUARD_KAFKA_PASSWORD_FILE": str(empty)}  # fmt: skip
    assert Settings.from_env(bad).kafka_password_file == str(empty)  # reading checks nothing
    with pytest.raises(SystemExit, match=r"QUNGUARD_KAFKA_PASSWORD_FILE=.*: the file is empty"):
        checked_settings(bad)
    with pytest.raises(SystemExit, match="QUNGUARD_KAFKA_CERT_FILE and QUNGUARD_KAFKA_KEY_FILE go together"):
        checked_settings(
            {"QUNGUARD_KAFKA_SECURITY_PROTOCOL": "SSL", "QUNGUARD_KAFKA_CERT_FILE": "/etc/hostname"}
        )
    with pytest.raises(SystemExit, match="QUNGUARD_KAFKA_CA_FILE='/etc/hostname': not a PEM"):
        checked_settings(
            {"QUNGUARD_KAFKA_SECURITY_PROTOCOL": "SSL", "QUNGUARD_KAFKA_CA_FILE": "/etc/hostname"}
        )
    with pytest.raises(SystemExit, match="REDIS_URL='http://redis:6379'"):
        checked_settings({"REDIS_URL": "http://redis:6379"})


def test_every_confluent_config_stops_on_a_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUNGUARD_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(SystemExit, match="SASL_SSL needs QUNGUARD_KAFKA_USERNAME"):
        producer_config("k:9092", "x")
