"""The notifier in `qunguard dev`: a `qunguard notify` process with a dev config (digests every
3 s, the log sink writing to a file in the dev workdir), whose messages dev prints after the
violations, once the notifier has read every violation and sent every pending digest."""

from __future__ import annotations

import re
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import orjson

from agents.connect.offsets import caught_up, end_offsets
from agents.connect.settings import Settings
from agents.dev.embedded import Service, free_port, notifier
from agents.notify.run import NotifySettings
from streams.notify.config import DEFAULT_NOTIFY_CONFIG
from topics.catalog import VIOLATIONS

BLOCK_START = "──── 通知 → "
# Signs the demo's review links. Only `qunguard dev` has a default: a real notifier makes no links
# until QUNGUARD_REVIEW_SECRET is set (docs/notify.md, "Review links").
DEV_REVIEW_SECRET = "qunguard-dev-review-links-not-a-secret"


class DevNotifier:
    def __init__(self, workdir: Path, settings: Settings) -> None:
        self.output = workdir / "notifications.txt"
        self.output.write_text("", encoding="utf-8")
        self.port = free_port()
        self.notify = NotifySettings(
            config_path=str(self._config(workdir)),
            app_id="qunguard-notifier",
            review_secret=DEV_REVIEW_SECRET,
        )
        env = {**replace(settings, web_port=self.port).env(), **self.notify.env()}
        self.proc: Service = notifier(workdir, env)
        self._read = 0

    def _config(self, workdir: Path) -> Path:
        text = DEFAULT_NOTIFY_CONFIG.read_text(encoding="utf-8")
        for key, value in (("interval_seconds", "3"), ("check_seconds", "1")):
            text = re.sub(rf"(?m)^{key} = \S+", f"{key} = {value}", text)
        text = re.sub(r'(?m)^path = "-"', f"path = {orjson.dumps(str(self.output)).decode()}", text)
        path = workdir / "notify.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def start(self) -> str:
        self.proc.start()
        return (
            f"notify  started (pid {self.proc.proc.pid}), consumer group {self.notify.app_id!r},"
            f" log sink → {self.output.name}"
        )

    def new_text(self) -> str:
        """The complete lines the log sink has written since the last call (a line still being
        written, possibly cut inside a character, waits for the next call)."""
        data = self.output.read_bytes()
        end = data.rfind(b"\n", self._read) + 1
        if end <= self._read:
            return ""
        text = data[self._read : end].decode("utf-8", "replace")
        self._read = end
        return text

    def settle(self, bootstrap: str, timeout: float) -> bool:
        """Wait until the notifier has read every violation so far, forwarded every message and
        sent every pending digest; False if it did not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        for topics in ([VIOLATIONS.name], [f"{self.notify.app_id}-recipient"]):
            ends = end_offsets(bootstrap, topics)
            while not caught_up(bootstrap, self.notify.app_id, ends):
                if not self.proc.running or time.monotonic() > deadline:
                    return False
                time.sleep(0.3)
        while self._pending() != 0:
            if not self.proc.running or time.monotonic() > deadline:
                return False
            time.sleep(0.3)
        return True

    def _pending(self) -> int | None:
        url = f"http://127.0.0.1:{self.port}/notify/pending"
        try:
            return int(orjson.loads(urllib.request.urlopen(url, timeout=2).read())["items"])
        except (OSError, ValueError, KeyError):
            return None

    def stop(self) -> None:
        self.proc.stop(timeout=20)
