"""Reviewers' allow entries: what a reviewer judged a false positive of one content rule, in one group
or company-wide, so that the same false alarm does not fire again (issue 15; built by
streams.feedback.effects, stored by the worker, read by the content detector).

An entry matches a finding in one of two ways, fixed when it is made:

- by terms (`terms` non-empty): a finding of the same rule whose terms are all among the entry's.
  The terms are the ones in the judged violation's `evidence.terms` (dictionary terms, or structural
  labels that carry their value, `ip_host:10.0.0.8`); judged innocent once, in this scope, they stay
  innocent there;
- by text (`terms` empty): a finding of the same rule whose masked excerpt equals the entry's. For
  content.confidential (an innocent ID number must not allow every ID number) and for findings the
  model made alone (no terms), only the same text is allowed.

How the content detector consults it: it takes an `AllowEntries` (the worker's Redis-backed cache
live, `streams.feedback.stores.MemoryAllowEntries` in replay and tests) and, for each finding it is
about to report for a message of group G, after the evidence is built (rule, terms, excerpt), calls
`allowing(allow.for_group(G), rule, terms, excerpt)`; a finding it returns an entry for is dropped
(`qunguard scan` traces the entry id). Findings are rare, so this costs nothing on clean messages.
An entry matches on the excerpt as the detector writes it, so changing `[content] excerpt_chars`
retires the by-text entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

COMPANY = "company"  # the scope of an entry without a group


@dataclass(frozen=True, slots=True)
class AllowEntry:
    entry_id: str  # allow_entry_id(rule, group_id, terms, excerpt): one entry per false alarm and scope
    rule: str
    group_id: str | None  # None: company-wide
    terms: tuple[str, ...]  # match by terms; empty: match by excerpt
    excerpt: str  # the judged violation's excerpt, masked
    violation_id: str  # the violation judged a false positive
    feedback_id: str
    reviewer_id: str
    ts: str  # the verdict's time, RFC 3339
    note: str = ""  # the reviewer's note, masked

    @property
    def scope(self) -> str:
        return self.group_id or COMPANY

    def covers(self, rule: str, terms: Sequence[str], excerpt: str) -> bool:
        if rule != self.rule:
            return False
        if self.terms:
            return bool(terms) and set(terms) <= set(self.terms)
        return excerpt == self.excerpt

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "terms": list(self.terms)}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AllowEntry:
        return cls(**{**data, "terms": tuple(data["terms"])})


def allow_entry_id(rule: str, group_id: str | None, terms: Iterable[str], excerpt: str) -> str:
    """Deterministic: the same false alarm judged again in the same scope is the same entry."""
    match = sorted(terms) or [excerpt]
    material = "\x1f".join([rule, group_id or COMPANY, *match])
    return "a-" + hashlib.blake2b(material.encode("utf-8"), digest_size=10).hexdigest()


class AllowEntries(Protocol):
    """What the content detector reads: the entries that apply to a group (its own and company-wide)."""

    def for_group(self, group_id: str) -> Sequence[AllowEntry]: ...


def allowing(
    entries: Iterable[AllowEntry], rule: str, terms: Sequence[str], excerpt: str
) -> AllowEntry | None:
    """The first entry that covers a finding (rule, its evidence terms and excerpt), or None."""
    return next((e for e in entries if e.covers(rule, terms, excerpt)), None)


__all__ = ["COMPANY", "AllowEntries", "AllowEntry", "allow_entry_id", "allowing"]
