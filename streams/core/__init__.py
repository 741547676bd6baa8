"""What every detector shares: the detector contract and its declared capabilities, the rule
engine with its one routing plan, policy, state maps, routing keys and reference-data views."""

from streams.core.detector import (
    Calendared,
    Context,
    Detector,
    FansOut,
    Finding,
    Phase,
    Reloadable,
    Selective,
    Sweeper,
)
from streams.core.directory import LedgerView, MemoryLedger, MemoryRoster, RosterView
from streams.core.engine import RuleEngine
from streams.core.policy import DEFAULT_POLICY, SEVERITIES, Policy, PolicyError, load_policy
from streams.core.state import (
    PARTITIONS,
    MemoryState,
    Partition,
    StateMap,
    StateSource,
    routing_key_of,
    state_key,
)

__all__ = [
    "DEFAULT_POLICY",
    "PARTITIONS",
    "SEVERITIES",
    "Calendared",
    "Context",
    "Detector",
    "FansOut",
    "Finding",
    "LedgerView",
    "MemoryLedger",
    "MemoryRoster",
    "MemoryState",
    "Partition",
    "Phase",
    "Policy",
    "PolicyError",
    "Reloadable",
    "RosterView",
    "RuleEngine",
    "Selective",
    "StateMap",
    "StateSource",
    "Sweeper",
    "load_policy",
    "routing_key_of",
    "state_key",
]
