"""What every detector shares: the detector contract and its declared capabilities, the rule
engine with its one routing plan, policy, state maps, routing keys, reference-data views, and
admission (what an event must satisfy before any detector judges it)."""

from streams.core.admission import AdmissionLimits, Refusal, check_event, check_line, record_size
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
    "AdmissionLimits",
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
    "Refusal",
    "Reloadable",
    "RosterView",
    "RuleEngine",
    "Selective",
    "StateMap",
    "StateSource",
    "Sweeper",
    "check_event",
    "check_line",
    "load_policy",
    "record_size",
    "routing_key_of",
    "state_key",
]
