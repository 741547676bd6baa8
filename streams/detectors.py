"""The detector set the live agents and `qunguard replay` both run, built from one policy."""

from __future__ import annotations

from streams.content import ContentDetector
from streams.engine import Detector
from streams.policy import Policy


def build_detectors(policy: Policy) -> list[Detector]:
    return [ContentDetector(policy)]
