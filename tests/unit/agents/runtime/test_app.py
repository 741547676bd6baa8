"""agents.runtime.app: the Faust web servers listen where QUNGUARD_WEB_HOST says, loopback by default."""

from __future__ import annotations

from agents.connect.settings import Settings
from agents.runtime.app import app_options


def test_web_host_defaults_to_loopback() -> None:
    assert Settings().web_host == "127.0.0.1"
    options = app_options(Settings(web_port=6066))
    assert (options["web_bind"], options["web_host"]) == ("127.0.0.1", "127.0.0.1")


def test_web_host_from_the_environment() -> None:
    settings = Settings.from_env({"QUNGUARD_WEB_HOST": "0.0.0.0", "QUNGUARD_WEB_PORT": "6066"})
    assert app_options(settings)["web_bind"] == "0.0.0.0"  # what Faust's web server listens on
    assert settings.env()["QUNGUARD_WEB_HOST"] == "0.0.0.0"  # passed on to child processes
