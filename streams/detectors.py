"""The detector set the live agents and `qunguard replay` both run, built from one policy.

Stateful detectors take their maps from `state` (streams.state): dicts in replay, Faust tables
live. Add a detector here and both paths run it.
"""

from __future__ import annotations

from streams.behaviour import behaviour_detectors
from streams.content import ContentDetector
from streams.engine import Detector
from streams.member_index import MemberIndexDetector
from streams.membership import MembershipDetector
from streams.policy import Policy
from streams.state import MemoryState, StateSource


def build_detectors(policy: Policy, state: StateSource | None = None) -> list[Detector]:
    state = state if state is not None else MemoryState()
    return [
        ContentDetector(policy),
        MembershipDetector(policy, state),
        MemberIndexDetector(policy, state),
        *behaviour_detectors(policy, state),
    ]
