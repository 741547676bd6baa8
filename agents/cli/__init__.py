"""The `qunguard` command: `agents.cli.parser` builds it, one module per subcommand runs it."""

from agents.cli.parser import main

__all__ = ["main"]
