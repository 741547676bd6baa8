"""How the layers' hits combine (streams.content.combine): the context the model's veto of
ambiguous dictionary terms needs is counted besides every occurrence of the terms."""

from __future__ import annotations

from streams.content.combine import VETO_CONTEXT, _context


def test_context_leaves_out_every_occurrence_of_the_terms() -> None:
    assert _context("赌博" * 100, ("赌博",)) == 0
    assert _context("严打网络赌博保护群众财产", ("赌博",)) == 10
    assert _context("听说食堂要涨价是真的吗", ("听说", "是真的吗")) == 5


def test_a_message_made_of_the_terms_is_below_the_veto_context() -> None:
    assert _context("来赌博啊赌博赌博", ("赌博",)) < VETO_CONTEXT
