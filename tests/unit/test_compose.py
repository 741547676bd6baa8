"""docker-compose.yml and the Dockerfile agree with the code (Docker itself is not needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.connect.settings import ENV_VARS, Settings
from agents.notify.run import NOTIFY_ENV_VARS, NotifySettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=value list form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def qunguard_services(services: dict[str, Any]) -> dict[str, Any]:
    return {
        name: svc
        for name, svc in services.items()
        if "build" in svc or str(svc.get("image", "")).startswith("qunguard")
    }


def test_expected_services(services: dict[str, Any]) -> None:
    assert {"kafka", "redis", "topics-init", "worker", "notifier"} <= services.keys()
    assert {"topics-init", "worker", "notifier"} <= qunguard_services(services).keys()


def test_qunguard_services_use_only_settings_env_vars(services: dict[str, Any]) -> None:
    for name, svc in qunguard_services(services).items():
        env = environment(svc)
        assert env, f"{name} sets no environment"
        unknown = set(env) - set(ENV_VARS) - set(NOTIFY_ENV_VARS)
        assert not unknown, (
            f"{name}: not in agents.connect.settings.ENV_VARS or NOTIFY_ENV_VARS: {sorted(unknown)}"
        )
        Settings.from_env(env)  # every value parses as its setting's type


def test_bootstrap_and_redis_point_at_compose_services(services: dict[str, Any]) -> None:
    kafka_listeners = environment(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    for name, svc in qunguard_services(services).items():
        settings = Settings.from_env(environment(svc))
        assert settings.kafka_bootstrap == "kafka:9092", name
        assert "PLAINTEXT://kafka:9092" in kafka_listeners.split(",")
        assert settings.redis_url.startswith("redis://redis:6379/"), name


def test_worker_builds_from_the_dockerfile(services: dict[str, Any]) -> None:
    build = services["worker"]["build"]
    context, dockerfile = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else (build["context"], build.get("dockerfile", "Dockerfile"))
    )
    assert (ROOT / context / dockerfile).resolve() == ROOT / "Dockerfile"
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in text
    assert 'ENTRYPOINT ["qunguard"]' in text
    assert 'CMD ["worker"]' in text
    assert "\nUSER " in text and "USER root" not in text


def test_startup_order_and_healthchecks(services: dict[str, Any]) -> None:
    for name in ("kafka", "redis", "worker"):
        assert "healthcheck" in services[name], name
    init = services["topics-init"]
    assert init["command"] == ["topics", "create"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    worker = services["worker"]["depends_on"]
    assert worker["kafka"]["condition"] == "service_healthy"
    assert worker["redis"]["condition"] == "service_healthy"
    assert worker["topics-init"]["condition"] == "service_completed_successfully"
    # The healthcheck reads the web port the worker is configured with.
    assert "QUNGUARD_WEB_PORT" in environment(services["worker"])


def test_kafka_runs_in_kraft_mode(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert str(kafka["image"]).startswith("apache/kafka:")
    env = environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert env.get("CLUSTER_ID")
    assert not any("zookeeper" in name.lower() for name in services)
    assert not any("ZOOKEEPER" in var for var in env)


def test_mounted_policy_exists(services: dict[str, Any]) -> None:
    for name, svc in qunguard_services(services).items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"


def test_two_workers_and_the_monitoring_services(services: dict[str, Any]) -> None:
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["lag-exporter"]["command"] == ["lag", "--serve", "9308"]
    assert {"prometheus", "grafana"} <= services.keys()
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"


def test_notifier_runs_in_its_own_group_with_its_config(services: dict[str, Any]) -> None:
    notifier = services["notifier"]
    assert notifier["command"] == ["notify"]
    env = environment(notifier)
    notify = NotifySettings.from_env(env)
    assert notify.app_id != Settings.from_env(env).app_id  # never the workers' consumer group
    mounts = dict(v.split(":")[:2] for v in notifier["volumes"])
    assert mounts["./config/notify.toml"] == notify.config_path
    assert "healthcheck" in notifier and "QUNGUARD_WEB_PORT" in env
    for name in ("kafka", "redis", "topics-init"):
        assert name in notifier["depends_on"]


def test_prometheus_scrapes_the_worker_and_the_exporter(services: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "ops/prometheus/prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    (worker_sd,) = jobs["qunguard-worker"]["dns_sd_configs"]
    assert worker_sd["names"] == ["worker"]
    assert str(worker_sd["port"]) == environment(services["worker"])["QUNGUARD_WEB_PORT"]
    assert jobs["qunguard-lag"]["static_configs"][0]["targets"] == ["lag-exporter:9308"]
    port = environment(services["notifier"])["QUNGUARD_WEB_PORT"]
    assert jobs["qunguard-notifier"]["static_configs"][0]["targets"] == [f"notifier:{port}"]


def test_dashboard_queries_name_metrics_the_code_exports() -> None:
    import json
    import re

    dashboard = json.loads((ROOT / "ops/grafana/dashboards/qunguard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    names = {m for e in exprs for m in re.findall(r"\b((?:kafka|qunguard)_[a-z_]+)", e)}
    source = "".join(
        (ROOT / "agents" / f).read_text(encoding="utf-8")
        for f in ("worker/metrics.py", "runtime/retry.py", "lag/exporter.py", "notify/metrics.py")
    )
    for name in names:
        base = re.sub(r"_(bucket|total)$", "", name)
        assert f'"{base}' in source, f"dashboard queries {name}, which nothing exports"


def test_web_servers_listen_on_every_interface_in_containers(services: dict[str, Any]) -> None:
    """Loopback is the default (QUNGUARD_WEB_HOST); Prometheus and healthchecks need 0.0.0.0 here."""
    for name in ("worker", "notifier", "lag-exporter"):
        assert Settings.from_env(environment(services[name])).web_host == "0.0.0.0", name
