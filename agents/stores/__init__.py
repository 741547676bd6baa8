"""Redis stores: every key name in one registry (`RedisKeys`), the reference data (roster and
ledger), the ladder's read model and the notifier's delivery marks."""

from agents.stores.cache import ReferenceCache
from agents.stores.dedupe import SentStore
from agents.stores.ladder import LadderReader, LadderStore
from agents.stores.reference import ConcurrentLoadError, DatasetMeta, ReferenceStore

__all__ = [
    "ConcurrentLoadError",
    "DatasetMeta",
    "LadderReader",
    "LadderStore",
    "ReferenceCache",
    "ReferenceStore",
    "SentStore",
]
