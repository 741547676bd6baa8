"""Delivery retries: capped exponential backoff, and which failures are worth another try."""

from __future__ import annotations

from dataclasses import dataclass

from streams.notify.config import DeliveryPolicy

# Retried: the server may answer differently later. Any other 4xx means the request itself is
# wrong (bad URL, bad key): it goes to the dead-letter topic at once.
RETRYABLE_STATUS = frozenset((408, 425, 429, 500, 502, 503, 504))


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    retryable: bool
    reason: str = ""


DELIVERED = Outcome(ok=True, retryable=False)


def backoff_delays(policy: DeliveryPolicy) -> list[float]:
    """The waits between `policy.attempts` tries: base, 2×base, 4×base, … capped at max."""
    delays, delay = [], policy.backoff_base_seconds
    for _ in range(policy.attempts - 1):
        delays.append(min(delay, policy.backoff_max_seconds))
        delay *= 2
    return delays


def http_outcome(status: int, errcode: object = None, errmsg: str = "") -> Outcome:
    """Judge a webhook answer. A WeCom robot answers 200 with {"errcode": N}: non-zero is a failure
    (45009, over the rate limit, and -1, busy, are retried)."""
    if 200 <= status < 300:
        if errcode in (None, 0):
            return DELIVERED
        return Outcome(False, errcode in (45009, -1), f"errcode {errcode}: {errmsg}".strip())
    return Outcome(False, status in RETRYABLE_STATUS, f"HTTP {status}")
