"""`qunguard lag --serve PORT`: a Prometheus exporter of consumer-group lag, as its own process.

Series follow kafka-lag-exporter's names, so its dashboards and alerts apply:
kafka_consumergroup_lag / _lag_seconds {group,topic,partition}, kafka_consumergroup_group_max_lag,
_group_sum_lag, _group_max_lag_seconds {group}, plus kafka_consumergroup_status{group,status}
(1 for the current Burrow-like status, 0 for the others; a group with no committed offsets is
NOTFOUND and has no lag series). Lag seconds are NaN while unknown.
Every scrape serves the last round's figures; partitions that disappear stop being exported.
`/healthz` answers 200 while the last round read every group, 503 after a failed round.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agents.lag.monitor import GroupLag, LagMonitor
from agents.lag.status import Status

NAN = math.nan


class LagCollector(Collector):
    def __init__(self) -> None:
        self.reports: Sequence[GroupLag] = ()
        self.rounds = 0
        self.failed_rounds = 0
        self.last_success = 0.0

    def update(self, reports: Sequence[GroupLag]) -> None:
        self.reports = tuple(reports)
        self.rounds += 1
        if any(r.error for r in reports):
            self.failed_rounds += 1
        else:
            self.last_success = time.time()

    @property
    def healthy(self) -> bool:
        return not any(r.error for r in self.reports)

    def collect(self) -> Iterator[Metric]:
        reports = self.reports
        part_labels = ["group", "topic", "partition"]
        lag = GaugeMetricFamily("kafka_consumergroup_lag", "Offset lag of a partition", labels=part_labels)
        lag_s = GaugeMetricFamily(
            "kafka_consumergroup_lag_seconds",
            "Seconds since the oldest unconsumed record was written (interpolated; NaN when unknown)",
            labels=part_labels,
        )
        committed = GaugeMetricFamily(
            "kafka_consumergroup_group_offset", "Committed offset of a partition", labels=part_labels
        )
        latest = GaugeMetricFamily(
            "kafka_partition_latest_offset", "Log-end offset of a partition", labels=["topic", "partition"]
        )
        max_lag = GaugeMetricFamily(
            "kafka_consumergroup_group_max_lag", "Largest partition lag", labels=["group"]
        )
        sum_lag = GaugeMetricFamily("kafka_consumergroup_group_sum_lag", "Total lag", labels=["group"])
        max_lag_s = GaugeMetricFamily(
            "kafka_consumergroup_group_max_lag_seconds", "Largest partition lag in seconds", labels=["group"]
        )
        members = GaugeMetricFamily("kafka_consumergroup_members", "Members of the group", labels=["group"])
        status = GaugeMetricFamily(
            "kafka_consumergroup_status",
            "1 for the group's current status (Burrow-like)",
            labels=["group", "status"],
        )
        ends: dict[tuple[str, int], int] = {}
        for report in reports:
            for p in report.partitions:
                labels = [report.group, p.topic, str(p.partition)]
                lag.add_metric(labels, p.lag)
                lag_s.add_metric(labels, NAN if p.lag_seconds is None else p.lag_seconds)
                committed.add_metric(labels, p.committed)
                ends[(p.topic, p.partition)] = p.end
            if report.found:
                max_lag.add_metric([report.group], report.max_lag)
                sum_lag.add_metric([report.group], report.sum_lag)
                seconds = report.max_lag_seconds
                max_lag_s.add_metric([report.group], NAN if seconds is None else seconds)
            if report.members is not None:
                members.add_metric([report.group], report.members)
            for each in Status:
                status.add_metric([report.group, str(each)], 1.0 if each is report.status else 0.0)
        for (topic, partition), end in sorted(ends.items()):
            latest.add_metric([topic, str(partition)], end)
        yield from (lag, lag_s, committed, latest, max_lag, sum_lag, max_lag_s, members, status)
        rounds = CounterMetricFamily("qunguard_lag_rounds", "Sampling rounds", labels=["outcome"])
        rounds.add_metric(["ok"], self.rounds - self.failed_rounds)
        rounds.add_metric(["error"], self.failed_rounds)
        yield rounds
        last = GaugeMetricFamily("qunguard_lag_last_success_timestamp_seconds", "End of the last full round")
        last.add_metric([], self.last_success)
        yield last


def _handler(registry: CollectorRegistry, collector: LagCollector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                body = {
                    "ok": collector.healthy,
                    "rounds": collector.rounds,
                    "last_success": collector.last_success or None,
                    "errors": {r.group: r.error for r in collector.reports if r.error},
                }
                self._send(200 if collector.healthy else 503, orjson.dumps(body), "application/json")
            else:
                self._send(404, b"not found: try /metrics or /healthz\n", "text/plain")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # scrapes are not worth a log line
            pass

    return Handler


class LagExporter:
    """Serve /metrics and /healthz on `port` while sampling `monitor` every `interval` seconds."""

    def __init__(
        self, monitor: LagMonitor, port: int, host: str = "127.0.0.1", interval: float = 5.0
    ) -> None:
        self.monitor = monitor
        self.interval = interval
        self.collector = LagCollector()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self.server = ThreadingHTTPServer((host, port), _handler(self.registry, self.collector))
        self.server.daemon_threads = True
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def run(self) -> None:
        """Serve until `stop()`, SIGTERM or KeyboardInterrupt, sampling every `interval` seconds."""
        if threading.current_thread() is threading.main_thread():
            # As PID 1 in a container, SIGTERM is ignored unless handled.
            signal.signal(signal.SIGTERM, lambda *_: self.stop())
        thread = threading.Thread(target=self.server.serve_forever, name="lag-exporter-http", daemon=True)
        thread.start()
        try:
            while True:
                self.collector.update(self.monitor.sample())
                if self._stopped.wait(self.interval):
                    break
        finally:
            self.server.shutdown()
            self.server.server_close()

    def stop(self) -> None:
        self._stopped.set()
