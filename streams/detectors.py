"""The detector set the live agents and `qunguard replay` both run, built from one policy.

Stateful detectors take their maps from `state` (streams.core.state): dicts in replay, Faust tables
live. Add a detector here and both paths run it. `allow` is where the content detector reads
reviewers' allow entries (streams.core.allow): the worker's Redis-backed cache, replay's memory.
"""

from __future__ import annotations

from streams.behaviour.detectors import behaviour_detectors
from streams.content.detector import ContentDetector
from streams.core.allow import AllowEntries
from streams.core.detector import Detector
from streams.core.policy import Policy
from streams.core.state import MemoryState, StateSource
from streams.membership.detector import MembershipDetector
from streams.membership.member_index import MemberIndexDetector


def build_detectors(
    policy: Policy, state: StateSource | None = None, allow: AllowEntries | None = None
) -> list[Detector]:
    state = state if state is not None else MemoryState()
    membership = MembershipDetector(policy, state)  # the one membership model; behaviour rules read it
    return [
        ContentDetector(policy, allow),
        membership,
        MemberIndexDetector(policy, state),
        *behaviour_detectors(policy, state, membership),
    ]
