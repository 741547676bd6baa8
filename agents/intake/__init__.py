"""Getting data in: the roster and ledger loaders (`qunguard roster|ledger load`) and `qunguard feed`."""

from agents.intake.feed import feed_file
from agents.intake.loaders import PublishError, load_ledger, load_roster

__all__ = ["PublishError", "feed_file", "load_ledger", "load_roster"]
