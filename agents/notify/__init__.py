"""The notifier (`qunguard notify`): its Faust app, the route → recipient → delivery flow, the
senders (log, webhook) and metrics."""

from agents.notify.run import NotifySettings, run_notifier

__all__ = ["NotifySettings", "run_notifier"]
