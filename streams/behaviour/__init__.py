"""The behaviour rules (flood, private chat, large files, working hours, acknowledgements) over
event-time windows, and the group membership they read."""

from streams.behaviour.detectors import behaviour_detectors
from streams.behaviour.eventtime import tolerance_seconds, utc_seconds

__all__ = ["behaviour_detectors", "tolerance_seconds", "utc_seconds"]
