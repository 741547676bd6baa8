"""Webhook bodies: WeCom group robot text and markdown (企业微信群机器人), and a generic format that
carries the message's fields as JSON."""

from __future__ import annotations

from typing import Any

from streams.notify.model import Notice

# The robot's limits (bytes of UTF-8): text 2048, markdown 4096.
WECOM_TEXT_LIMIT = 2048
WECOM_MARKDOWN_LIMIT = 4096


def webhook_body(fmt: str, notice: Notice) -> dict[str, Any]:
    if fmt == "wecom_text":
        return {"msgtype": "text", "text": {"content": truncate_utf8(notice.text, WECOM_TEXT_LIMIT)}}
    if fmt == "wecom_markdown":
        content = truncate_utf8(notice.markdown, WECOM_MARKDOWN_LIMIT)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    if fmt == "generic":
        return generic_body(notice)
    raise ValueError(f"unknown webhook format {fmt!r}")


def generic_body(notice: Notice) -> dict[str, Any]:
    body = notice.to_dict()
    del body["markdown"], body["line"], body["digestible"]
    if notice.kind == "notice":
        del body["items"]
    return body


def truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = data[: limit - len("…".encode())].decode("utf-8", "ignore")
    return cut + "…"
