"""The offline inputs of the CLI: an events file, the roster and ledger files, the policy.

`qunguard replay`, `report groups`, `discipline --events` and `scan --file` read them the same
way and report a file they cannot use as one `InputError` line (the command prints it after its
name and exits 2). Every event line passes the same admission check as a live record
(streams.core.admission: size, mentions, event-time bounds), keyed as `qunguard feed` keys it.
`replay` and `discipline --events` also read reviewers' feedback lines (`"kind": "verdict"` or
`"missed"`, topics.feedback), applied in file order as the worker applies them (docs/review.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import orjson

from streams.core.admission import AdmissionLimits, check_line
from streams.core.policy import Policy, PolicyError, load_policy
from topics.codec import DecodeError, decode_event
from topics.events import Event
from topics.feedback import KINDS, Feedback, decode_feedback
from topics.reference import Employee, Group, ReferenceFileError, read_ledger, read_roster


class InputError(Exception):
    """An input file that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class OfflineInputs:
    policy: Policy
    roster: list[Employee]
    ledger: list[Group]


def require_file(path: str | Path) -> Path:
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    return Path(path)


def load_reference(roster: str | None, ledger: str | None) -> tuple[list[Employee], list[Group]]:
    """The roster and ledger files (each optional: none is empty)."""
    try:
        return (read_roster(roster) if roster else [], read_ledger(ledger) if ledger else [])
    except ReferenceFileError as exc:
        raise InputError(str(exc)) from None


def load_inputs(policy: str | None, roster: str | None, ledger: str | None) -> OfflineInputs:
    """The policy (None: the default, streams.core.policy.load_policy), then the reference files."""
    try:
        loaded = load_policy(policy)
    except PolicyError as exc:
        raise InputError(str(exc)) from None
    return OfflineInputs(loaded, *load_reference(roster, ledger))


def read_events(
    path: str | Path,
    errors: IO[str],
    skipped: str = "; line skipped",
    limits: AdmissionLimits | None = None,
    now: datetime | None = None,
    feedback: bool = False,
) -> Iterator[tuple[int, Event | Feedback | None]]:
    """Yield (line number, event) per non-blank line; a line that does not decode or is not
    admitted (`limits`, default the shipped policy's, at wall clock `now`, default when reading
    starts) is reported on `errors` as FILE:LINE: field: reason, followed by `skipped`, and yields None.
    `feedback`: a feedback line is decoded too (not admission-checked: it is no event) and yielded."""
    limits = limits or AdmissionLimits()
    now = now or datetime.now(UTC)
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                record = _feedback(raw) if feedback else None
                if record is not None:
                    yield number, record
                    continue
                event = decode_event(raw)
            except DecodeError as exc:
                print(f"{path}:{number}: {exc}{skipped}", file=errors)
                yield number, None
                continue
            refusal = check_line(event, raw, limits, now)
            if refusal is not None:
                print(f"{path}:{number}: {refusal}{skipped}", file=errors)
            yield number, None if refusal else event


def _feedback(raw: bytes) -> Feedback | None:
    """The feedback record on a line, None when the line holds something else (an event)."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None  # decode_event says what is wrong
    return decode_feedback(obj) if isinstance(obj, dict) and obj.get("kind") in KINDS else None
