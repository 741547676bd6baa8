"""`qunguard notify`: settings from the environment (the worker's, plus the two below), the
notifier's topics created, then the Faust app (agents.notify.app) run until SIGTERM/SIGINT."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from agents.connect.settings import Settings
from streams.notify.config import DEFAULT_NOTIFY_CONFIG

# The notifier's own variables (besides KAFKA_BOOTSTRAP, REDIS_URL, QUNGUARD_WEB_PORT … of
# agents.connect.settings); tests check docker-compose.yml against both lists.
NOTIFY_ENV_VARS: dict[str, str] = {
    "QUNGUARD_NOTIFY_CONFIG": "config_path",
    "QUNGUARD_NOTIFY_APP_ID": "app_id",
}


@dataclass(frozen=True, slots=True)
class NotifySettings:
    config_path: str = str(DEFAULT_NOTIFY_CONFIG)
    # Its own consumer group: never the worker's QUNGUARD_APP_ID.
    app_id: str = "qunguard-notifier"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotifySettings:
        environ = os.environ if environ is None else environ
        values = {name: environ[var] for var, name in NOTIFY_ENV_VARS.items() if environ.get(var)}
        return cls(**values)

    def env(self) -> dict[str, str]:
        return {var: str(getattr(self, name)) for var, name in NOTIFY_ENV_VARS.items()}


def run_notifier(settings: Settings, notify: NotifySettings) -> int:
    from agents.notify.app import create_notify_app, notifier_settings
    from agents.runtime.process import run_app
    from streams.notify.config import NotifyConfigError, load_notify_config

    try:
        config = load_notify_config(notify.config_path)
    except NotifyConfigError as exc:
        print(f"qunguard notify: {notify.config_path}: {exc}", file=sys.stderr)
        return 2
    return run_app(
        settings,
        lambda: create_notify_app(notifier_settings(settings, notify.app_id), config),
        lambda app: app.notify_topology.topics(),
    )
