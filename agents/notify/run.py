"""`qunguard notify`: settings from the environment (the worker's, plus the ones below), the
notifier's topics created, then the Faust app (agents.notify.app) run until SIGTERM/SIGINT."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from agents.connect.settings import Settings
from streams.notify.config import DEFAULT_NOTIFY_CONFIG, NotifyConfig
from streams.review.links import LinkSigner, ReviewLinks

# The notifier's own variables (besides KAFKA_BOOTSTRAP, REDIS_URL, QUNGUARD_WEB_PORT … of
# agents.connect.settings); tests check docker-compose.yml against both lists.
NOTIFY_ENV_VARS: dict[str, str] = {
    "QUNGUARD_NOTIFY_CONFIG": "config_path",
    "QUNGUARD_NOTIFY_APP_ID": "app_id",
    # Review links (docs/notify.md, "Review links"): on when the secret is set
    "QUNGUARD_REVIEW_SECRET": "review_secret",
    "QUNGUARD_REVIEW_BASE_URL": "review_base_url",
}


@dataclass(frozen=True, slots=True)
class NotifySettings:
    config_path: str = str(DEFAULT_NOTIFY_CONFIG)
    # Its own consumer group: never the worker's QUNGUARD_APP_ID.
    app_id: str = "qunguard-notifier"
    # Signs the review links (HMAC-SHA256); empty: messages carry no links. At least 16 bytes;
    # changing it invalidates every link already sent.
    review_secret: str = field(default="", repr=False)
    # Where reviewers reach this notifier's web server; empty: http://<web host>:<web port>.
    review_base_url: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotifySettings:
        environ = os.environ if environ is None else environ
        values = {name: environ[var] for var, name in NOTIFY_ENV_VARS.items() if environ.get(var)}
        return cls(**values)

    def env(self) -> dict[str, str]:
        return {var: str(getattr(self, name)) for var, name in NOTIFY_ENV_VARS.items()}


def review_links(notify: NotifySettings, settings: Settings, config: NotifyConfig) -> ReviewLinks | None:
    """The review links this notifier puts in its messages, or None (no secret, or no address
    reviewers could reach); ValueError for a secret too short."""
    if not notify.review_secret:
        return None
    signer = LinkSigner(notify.review_secret)
    base = notify.review_base_url
    if not base and settings.web_port and settings.web_host not in ("0.0.0.0", "::", ""):
        base = f"http://{settings.web_host}:{settings.web_port}"
    return ReviewLinks(signer, base, config.review) if base else None


def run_notifier(settings: Settings, notify: NotifySettings) -> int:
    from agents.notify.app import create_notify_app, notifier_settings
    from agents.runtime.process import run_app
    from streams.notify.config import NotifyConfigError, load_notify_config

    try:
        config = load_notify_config(notify.config_path)
    except NotifyConfigError as exc:
        print(f"qunguard notify: {notify.config_path}: {exc}", file=sys.stderr)
        return 2
    try:
        links = review_links(notify, settings, config)
    except ValueError as exc:
        print(f"qunguard notify: QUNGUARD_REVIEW_SECRET: {exc}", file=sys.stderr)
        return 2
    if notify.review_secret and links is None:
        print(
            "qunguard notify: review links off: set QUNGUARD_REVIEW_BASE_URL (or QUNGUARD_WEB_PORT"
            " with a QUNGUARD_WEB_HOST reviewers can reach)",
            file=sys.stderr,
        )
    return run_app(
        settings,
        lambda: create_notify_app(notifier_settings(settings, notify.app_id), config, links=links),
        lambda app: app.notify_topology.topics(),
    )
