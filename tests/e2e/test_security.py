"""Redis with authentication and TLS, end to end: a redis-server started with --requirepass (and
one serving TLS to an ACL user); `qunguard roster load`, the worker's ReferenceCache and a worker
process work with the credentials and stop with a message naming the variables without them.

Kafka TLS/SASL is covered by the mapping tests only (tests/unit/agents/connect/test_security.py): the embedded Tansu
0.6 broker has SCRAM users, but `tansu user create` must reach a broker that does not yet ask for
authentication, and its memory storage loses the users on restart (see the README)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import redis as redis_py
from confluent_kafka import Producer

from agents.connect.kafka import producer_config
from agents.connect.settings import Settings
from agents.dev.embedded import Service, redis, worker
from agents.intake.loaders import load_roster
from agents.stores.cache import ReferenceCache
from config import SAMPLE_DIR
from tests.support import e2e_settings, load_sample, message, self_signed_certificate, violations_for
from topics.catalog import MESSAGES

PASSWORD = "correct horse battery staple"
ACL_PASSWORD = "qunguard-acl-password"  # an ACL rule takes no spaces


@pytest.fixture
def locked_redis(tmp_path: Path):
    service = redis(tmp_path, password=PASSWORD).start()
    yield service
    service.stop()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cached_employee(settings: Settings, employee_id: str):
    cache = ReferenceCache.from_settings(settings)

    async def read():
        try:
            await cache.refresh()
            return cache.employee(employee_id)
        finally:
            await cache.client.aclose()

    return asyncio.run(read())


def test_roster_load_and_cache_with_a_password(locked_redis: Service, tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{locked_redis.port}/0"
    roster = str(SAMPLE_DIR / "roster.csv")
    refused = _cli("roster", "load", "--no-publish", roster, env={"REDIS_URL": url})
    assert refused.returncode == 1
    assert "Redis refused the login" in refused.stderr
    assert "QUNGUARD_REDIS_PASSWORD" in refused.stderr and "nothing was written" in refused.stderr
    wrong = _cli(
        "roster", "load", "--no-publish", roster, env={"REDIS_URL": url, "QUNGUARD_REDIS_PASSWORD": "x"}
    )
    assert wrong.returncode == 1 and "Redis refused the login" in wrong.stderr

    secret = tmp_path / "redis-password"
    secret.write_text(PASSWORD + "\n")
    loaded = _cli(
        "roster",
        "load",
        "--no-publish",
        roster,
        env={"REDIS_URL": url, "QUNGUARD_REDIS_PASSWORD_FILE": str(secret)},
    )
    assert loaded.returncode == 0, loaded.stderr
    settings = Settings(redis_url=url, redis_password_file=str(secret))
    assert _cached_employee(settings, "E0006").name
    in_url = Settings(redis_url=f"redis://:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{locked_redis.port}/0")
    assert _cached_employee(in_url, "E0006").name
    with pytest.raises(redis_py.exceptions.AuthenticationError):
        _cached_employee(Settings(redis_url=url), "E0006")


def test_worker_with_a_password(bootstrap: str, locked_redis: Service, unique: str, tmp_path: Path) -> None:
    settings = e2e_settings(bootstrap, f"redis://127.0.0.1:{locked_redis.port}/0", f"qg-auth-{unique}")
    refused = worker(tmp_path, settings.env(), name="refused").start()
    assert refused.proc.wait(timeout=120) == 1
    log = refused.log_path.read_text()
    assert "refused the login" in log and "QUNGUARD_REDIS_PASSWORD" in log and PASSWORD not in log

    settings = replace(settings, redis_password=PASSWORD)
    load_sample(settings)
    proc = worker(tmp_path, settings.env()).start()
    try:
        event = f"{unique}-gambling"
        producer = Producer(producer_config(bootstrap, "e2e-auth"))
        text = "今晚一起买六合彩,赌球稳赚"
        producer.produce(MESSAGES.name, key=b"g-sales", value=message(event, "g-sales", "wx_wanglei", text))
        assert producer.flush(10) == 0
        found = violations_for(bootstrap, {event})
        assert proc.running, proc.log_path.read_text()[-3000:]
        # The employee id comes from the roster the worker read through its authenticated cache.
        assert [(v["rule"], v["employee_id"]) for v in found] == [("content.gambling", "E0006")]
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_redis_tls_and_an_acl_user(certificate: tuple[str, str], tmp_path: Path) -> None:
    cert, key = certificate
    service = redis(tmp_path, tls=certificate)
    # One ACL rule per argument: the default user off, user qunguard with all commands and keys.
    service.argv += [
        "--user",
        "default",
        "off",
        "--user",
        "qunguard",
        "on",
        f">{ACL_PASSWORD}",
        "~*",
        "&*",
        "+@all",
    ]
    service.start()
    try:
        url = f"rediss://127.0.0.1:{service.port}/0"
        settings = Settings(
            redis_url=url, redis_username="qunguard", redis_password=ACL_PASSWORD, redis_ca_file=cert
        )
        load_roster(SAMPLE_DIR / "roster.csv", settings, publish=False)
        assert _cached_employee(settings, "E0006").name
        # Mutual TLS: the same certificate as the client's.
        mutual = replace(settings, redis_cert_file=cert, redis_key_file=key)
        assert _cached_employee(mutual, "E0006").name
        # No CA file: the self-signed server certificate is not trusted.
        with pytest.raises(redis_py.exceptions.ConnectionError, match="certificate verify failed"):
            _cached_employee(replace(settings, redis_ca_file=""), "E0006")
        with pytest.raises(redis_py.exceptions.AuthenticationError):
            _cached_employee(replace(settings, redis_username=""), "E0006")
    finally:
        service.stop()
