"""Where a notifier message goes: the log sink (stdout or a file) and the HTTP webhook sink
(aiohttp; WeCom robot text/markdown or generic JSON, streams.notify.payloads). A sink answers
with an Outcome and never raises for a failed delivery."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

import aiohttp

from streams.notify.backoff import DELIVERED, Outcome, http_outcome
from streams.notify.config import SinkSpec
from streams.notify.model import Notice
from streams.notify.payloads import webhook_body


class Sink(Protocol):
    name: str

    async def send(self, notice: Notice) -> Outcome: ...

    async def close(self) -> None: ...


def log_block(notice: Notice) -> str:
    """A message as people read it in a terminal."""
    who = notice.recipient.label
    head = f"──── 通知 → {who} [{notice.message_id}] ────"
    return f"{head}\n{notice.text}\n"


class LogSink:
    def __init__(self, name: str, path: str = "-") -> None:
        self.name = name
        self.path = path

    async def send(self, notice: Notice) -> Outcome:
        block = log_block(notice)
        try:
            if self.path == "-":
                sys.stdout.write(block)
                sys.stdout.flush()
            else:
                with Path(self.path).open("a", encoding="utf-8") as out:
                    out.write(block)
        except OSError as exc:
            return Outcome(False, True, f"write failed: {exc}")
        return DELIVERED

    async def close(self) -> None:
        pass


class WebhookSink:
    def __init__(self, name: str, url: str, fmt: str, timeout: float) -> None:
        self.name = name
        self.url = url
        self.format = fmt
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, notice: Notice) -> Outcome:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(self.url, json=webhook_body(self.format, notice)) as response:
                errcode, errmsg = None, ""
                if response.status < 300 and response.content_type == "application/json":
                    answer = await response.json()
                    if isinstance(answer, dict):
                        errcode, errmsg = answer.get("errcode"), str(answer.get("errmsg") or "")
                return http_outcome(response.status, errcode, errmsg)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            return Outcome(False, True, f"{type(exc).__name__}: {exc}".rstrip(": "))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def build_sink(spec: SinkSpec, timeout: float) -> Sink:
    if spec.type == "log":
        return LogSink(spec.name, spec.path)
    return WebhookSink(spec.name, spec.url, spec.format, timeout)
