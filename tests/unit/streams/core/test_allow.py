"""Reviewers' allow entries (streams.core.allow): matching by terms or by text, ids, round trips."""

from __future__ import annotations

from streams.core.allow import AllowEntry, allow_entry_id, allowing


def entry(
    terms: tuple[str, ...] = ("废物",), excerpt: str = "固体废物处理", group: str | None = "g-a"
) -> AllowEntry:
    return AllowEntry(allow_entry_id("content.insult", group, terms, excerpt), "content.insult", group, terms,
                      excerpt, "v-1", "f-1", "E0004", "2026-11-23T11:00:00+08:00")  # fmt: skip


def test_by_terms_a_finding_whose_terms_are_all_allowed() -> None:
    allowed = entry(("废物", "垃圾"))
    assert allowed.covers("content.insult", ["废物"], "anything")
    assert allowed.covers("content.insult", ["废物", "垃圾"], "anything")
    assert not allowed.covers("content.insult", ["废物", "傻逼"], "anything")  # one more term still fires
    assert not allowed.covers("content.insult", [], "anything")
    assert not allowed.covers("content.defamation", ["废物"], "anything")  # another rule


def test_by_text_the_same_excerpt_only() -> None:
    allowed = entry((), "固体废物处理")
    assert allowed.covers("content.insult", ["废物"], "固体废物处理")
    assert not allowed.covers("content.insult", ["废物"], "你这个废物")


def test_ids_are_deterministic_per_false_alarm_and_scope() -> None:
    assert entry().entry_id == entry().entry_id
    assert entry(group=None).entry_id != entry().entry_id
    assert entry(("废物",), "其他摘录").entry_id == entry().entry_id  # by terms: the excerpt does not matter
    assert entry((), "a").entry_id != entry((), "b").entry_id


def test_round_trip_and_scope() -> None:
    allowed = entry()
    assert AllowEntry.from_mapping(allowed.to_dict()) == allowed
    assert (allowed.scope, entry(group=None).scope) == ("g-a", "company")


def test_allowing_returns_the_first_covering_entry() -> None:
    entries = [entry(("垃圾",)), entry()]
    assert allowing(entries, "content.insult", ["废物"], "") == entries[1]
    assert allowing(entries, "content.insult", ["傻逼"], "") is None
