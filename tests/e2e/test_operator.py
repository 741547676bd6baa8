"""What an operator meets first, over the real broker: the web servers listen on loopback unless
QUNGUARD_WEB_HOST says otherwise (the worker's Faust web, the lag exporter), and `topics create`
against a broker that is not there is one error line after a bounded wait."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from agents.connect.admin import create_topics
from agents.dev.embedded import free_port, worker
from tests.support import e2e_settings


def listening(port: int) -> set[str]:
    """The IPv4 addresses a socket listens on at `port` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        host, hex_port = fields[1].split(":")
        if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(host)[::-1]))
    return found


def wait_listening(port: int, alive: Callable[[], bool], timeout: float = 60.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        if found := listening(port):
            return found
        time.sleep(0.3)
    return set()


def test_worker_web_listens_on_loopback_by_default(bootstrap: str, redis_url: str, unique: str, tmp_path):
    port = free_port()
    settings = e2e_settings(bootstrap, redis_url, f"qg-web-{unique}", web_port=port)
    create_topics(bootstrap)
    proc = worker(tmp_path, settings.env()).start()
    try:
        assert wait_listening(port, lambda: proc.running) == {"127.0.0.1"}, proc.log_path.read_text()[-3000:]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
    finally:
        proc.stop()


def test_lag_exporter_listens_where_qunguard_web_host_says(bootstrap: str, unique: str) -> None:
    port = free_port()
    env = {**os.environ, "QUNGUARD_WEB_HOST": "0.0.0.0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "lag", "--serve", str(port), "--interval", "0.5",
         "--bootstrap", bootstrap, "--group", f"qg-web-{unique}"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert (
            proc.stderr.readline().strip() == f"qunguard lag: serving /metrics and /healthz on 0.0.0.0:{port}"
        )
        assert wait_listening(port, lambda: proc.poll() is None) == {"0.0.0.0"}
    finally:
        proc.terminate()
        proc.wait(20)


def test_topics_create_without_a_broker_is_one_line(tmp_path: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", "topics", "create", "--bootstrap", dead],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"qunguard topics create: no Kafka broker answered at {dead} within 10s")
