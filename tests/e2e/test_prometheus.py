"""The Grafana dashboard against a real Prometheus (Debian's `prometheus`, started here on a
loopback port): it scrapes a running worker, notifier and lag exporter every second, with the job
names and paths of ops/prometheus/prometheus.yml, while messages flow through the pipeline
(violations and the ladder's steps, a poison record, an unreadable violation record, notices to a
webhook that fails at first, digest items, a reviewer's verdict); then every PromQL query of
ops/grafana/dashboards/qunguard.json must return data from it: a sample a panel draws (not NaN),
and for a counter's rate or increase a value above 0, the traffic shown (a series that appears with
its first occurrence hides that occurrence from rate(): those are exported at 0 from the start)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import yaml
from aiohttp import web

from agents.dev.embedded import Service, free_port, notifier, tansu, worker
from agents.dev.webhook import LocalWebhook
from agents.notify.run import NotifySettings
from config import SAMPLE_DIR
from tests.conftest import ROOT
from tests.support import Reader, Scene, distinct
from topics.catalog import FEEDBACK, MESSAGES, VIOLATIONS
from topics.feedback import CONFIRMED, Verdict

DASHBOARD = ROOT / "ops/grafana/dashboards/qunguard.json"
COMPOSE_PROMETHEUS = ROOT / "ops/prometheus/prometheus.yml"
GAMBLING = "兄弟们今晚一起买六合彩吗,赌球也行"
POISON = b'{"kind": "message", "event_id": '  # a message record cut short
BAD_VIOLATION = b'{"violation_id": "v-bad", "rule": '
# Counters this test drives no traffic for: their queries must return a series, at 0.
UNDRIVEN = {"qunguard_retries_total": "a Redis outage"}
# Grafana's template variables, as Grafana would fill them in for a 1 s scrape interval.
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "1s", "__range": "5m", "job": ".+"}


@pytest.fixture(scope="module")
def prom_bootstrap(tmp_path_factory: pytest.TempPathFactory):
    """A broker of its own: the notifier reads moderation.violations from the start, and the lag
    exporter and Prometheus see only this test's traffic."""
    service = tansu(tmp_path_factory.mktemp("prometheus-broker")).start()
    yield f"127.0.0.1:{service.port}"
    service.stop()


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of the dashboard, Grafana's variables filled in."""

    def panels(node: dict):
        for panel in node.get("panels", []):
            yield panel
            yield from panels(panel)

    def fill(expr: str) -> str:
        def value(match: re.Match) -> str:
            name = match.group(1) or match.group(2)
            assert name in GRAFANA_VARIABLES, f"dashboard variable ${name}: give it a value in this test"
            return GRAFANA_VARIABLES[name]

        return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)

    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = [
        (p["title"], fill(t["expr"]))
        for p in panels(dashboard)
        for t in p.get("targets", ())
        if t.get("expr")
    ]
    assert found, "the dashboard has no PromQL targets"
    return found


def prometheus_config(path: Path, ports: dict[str, int]) -> Path:
    """ops/prometheus/prometheus.yml's jobs (names, paths) with loopback targets and a 1 s scrape."""
    compose = yaml.safe_load(COMPOSE_PROMETHEUS.read_text(encoding="utf-8"))
    jobs = []
    for job in compose["scrape_configs"]:
        name = job["job_name"]
        assert name in ports, f"{COMPOSE_PROMETHEUS.name} scrapes {name}, which this test does not start"
        job = {k: v for k, v in job.items() if not k.endswith("_sd_configs") and k != "static_configs"}
        jobs.append({**job, "static_configs": [{"targets": [f"127.0.0.1:{ports[name]}"]}]})
    assert {j["job_name"] for j in jobs} == set(ports), f"{COMPOSE_PROMETHEUS.name} misses a job"
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": jobs,
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def notify_config(path: Path, url: str) -> Path:
    """The shipped notify.toml with every role's messages POSTed to `url`, retried quickly."""
    text = (SAMPLE_DIR.parent / "notify.toml").read_text(encoding="utf-8")
    edits = (
        ('[sinks.terminal]\ntype = "log"\npath = "-"', f'[sinks.hook]\ntype = "webhook"\nurl = "{url}"\nformat = "generic"'),
        ('sinks = ["terminal"]', 'sinks = ["hook"]'),
        ("backoff_base_seconds = 0.5", "backoff_base_seconds = 0.1"),
        ("backoff_max_seconds = 30.0", "backoff_max_seconds = 0.5"),
    )  # fmt: skip
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


class Hook(LocalWebhook):
    """Answers HTTP 500 to its first `fail_first` requests (failed and retried deliveries), then 200."""

    def __init__(self, fail_first: int = 2) -> None:
        super().__init__("/hook")
        self.fail_first = fail_first

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.json_response({"ok": False}, status=500)
        return web.json_response({"ok": True})


def query(port: int, expr: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = orjson.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=10) as response:
            return response.status == 200
    except OSError:  # HTTP 503 while it starts
        return False


def shows(expr: str, result: list[dict]) -> bool:
    """Would a panel draw `result` (not NaN, which Grafana leaves out), and, for a rate or increase
    of a counter this test drives, show that traffic (above 0)?"""
    values = [float(sample["value"][1]) for sample in result]
    counted = re.search(r"\b(rate|increase)\(", expr) and not any(name in expr for name in UNDRIVEN)
    return any(math.isfinite(v) and (v > 0 or not counted) for v in values)


def test_every_dashboard_query_returns_data_from_a_real_prometheus(
    prom_bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail(
            "no `prometheus` on PATH: `make test` installs Debian's (.ci/system-deps, WITH_TEST_TOOLS=1)"
        )
    bootstrap, queries = prom_bootstrap, dashboard_queries()
    scene = Scene(unique, tmp_path)  # the lead (E…1) owns both groups; staff (E…2) is judged
    ports = {"qunguard-worker": free_port(), "qunguard-notifier": free_port(), "qunguard-lag": free_port()}
    settings = scene.settings(bootstrap, redis_url, web_port=ports["qunguard-worker"])
    scene.load_reference(settings)
    hook = Hook()
    hook.start()
    assert hook.ready.wait(10)
    notify = NotifySettings(str(notify_config(tmp_path / "notify.toml", f"{hook.base_url()}/hook")),
                            app_id=f"qg-notify-{unique}")  # fmt: skip
    notifier_env = {
        **dataclasses.replace(settings, web_port=ports["qunguard-notifier"]).env(),
        **notify.env(),
    }
    lag_argv = [sys.executable, "-m", "agents.cli", "lag", "--serve", str(ports["qunguard-lag"]),
                "--host", "127.0.0.1", "--interval", "0.5", "--bootstrap", bootstrap,
                "--group", settings.app_id, "--group", notify.app_id]  # fmt: skip
    prom_port = free_port()
    prom_argv = [binary, f"--config.file={prometheus_config(tmp_path / 'prometheus.yml', ports)}",
                 f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}",
                 "--log.level=warn"]  # fmt: skip
    services = [
        Service("prometheus", prom_argv, prom_port, tmp_path / "prometheus.log"),
        worker(tmp_path, settings.env()),
        notifier(tmp_path, notifier_env),
        Service("lag", lag_argv, None, tmp_path / "lag.log"),
    ]

    def logs() -> str:
        return "\n".join(f"--- {s.name} ---\n{s.log_excerpt(1500)}" for s in services)

    def poll(done, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            for service in services:
                assert service.running, f"{service.name} exited\n{logs()}"
            assert time.monotonic() < deadline, f"{what} within {timeout}s\n{logs()}"
            time.sleep(0.2)

    try:
        for service in services:
            service.start()
        poll(lambda: ready(prom_port), "Prometheus ready", 30)
        poll(lambda: {r["metric"]["job"] for r in query(prom_port, "up == 1")} == set(ports),
             "Prometheus scraping every target", 60)  # fmt: skip

        # Scraped once: every one-off below comes after its series' first sample. A poison record
        # (the worker's dead letter), a gambling message (violation, ladder step, notices to the
        # webhook, which fails twice: failed and retried deliveries), the lead's verdict on its
        # violation (feedback, reviewed precision), an unreadable violation record (the notifier's
        # dead letter); then a gambling message before every round of queries (rates, latencies,
        # lag, flood findings for the digests) until every query has data.
        started = time.monotonic()
        first = scene.message(scene.chat, scene.staff, 0, text=GAMBLING)
        scene.produce(bootstrap, [(MESSAGES.name, "poison", scene.chat, POISON), first])
        with Reader(bootstrap, (VIOLATIONS.name,)) as reader:
            msgs = reader.until(lambda msgs: distinct(msgs, {first[1]}, "content.gambling"), timeout=60)
        [gambling] = distinct(msgs, {first[1]}, "content.gambling")
        verdict = Verdict(f"{unique}-confirm", datetime.now(UTC), gambling["violation_id"], scene.chat,
                          CONFIRMED, f"E{unique}1")  # fmt: skip
        scene.produce(bootstrap, [(FEEDBACK.name, verdict.feedback_id, scene.chat, verdict.to_bytes()),
                                  (VIOLATIONS.name, "bad", "k", BAD_VIOLATION)])  # fmt: skip

        pending = {f"{title}: {expr}": expr for title, expr in queries}  # until it shows data
        last: dict[str, list] = {}

        def every_query_shows_data() -> bool:
            record = scene.message(scene.chat, scene.staff, time.monotonic() - started, text=GAMBLING)
            scene.produce(bootstrap, [record])
            for name, expr in list(pending.items()):
                last[name] = query(prom_port, expr)
                if shows(expr, last[name]):
                    del pending[name]
            time.sleep(0.3)
            return not pending

        try:
            poll(every_query_shows_data, "every dashboard query returning data", 60)
        except AssertionError as exc:
            lines = [f"  {name}\n    last result: {last.get(name)}" for name in pending]
            raise AssertionError(
                "dashboard queries without data:\n" + "\n".join(lines) + f"\n{exc}"
            ) from None
    finally:
        for service in reversed(services):
            service.stop(timeout=20)
        hook.stop()
