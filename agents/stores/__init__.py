"""Redis stores: every key name in one registry (`RedisKeys`), the reference data (roster and
ledger), the ladder's read model, the notifier's delivery marks and its review-link state."""

from agents.stores.cache import ReferenceCache
from agents.stores.dedupe import SentStore
from agents.stores.ladder import LadderReader, LadderStore
from agents.stores.reference import ConcurrentLoadError, DatasetMeta, ReferenceStore
from agents.stores.review import ReviewStore

__all__ = [
    "ConcurrentLoadError",
    "DatasetMeta",
    "LadderReader",
    "LadderStore",
    "ReferenceCache",
    "ReferenceStore",
    "ReviewStore",
    "SentStore",
]
