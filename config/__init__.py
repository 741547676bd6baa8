"""Policy as data: defaults, dictionaries, sample roster, ledger and events."""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = CONFIG_DIR / "sample"
