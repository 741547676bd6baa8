"""The reference check of /readyz (agents.runtime.health): ready while the reference data may be
judged by; not ready, with every cause, while a dataset is refused."""

from __future__ import annotations

from agents.runtime.health import reference_check
from tests.reference_doubles import CAUSE, GatedReference


def test_the_reference_check_names_each_refused_dataset() -> None:
    reference = GatedReference()
    assert reference_check(reference) == {"ok": False, "reason": CAUSE, "refused": {"roster": CAUSE}}
    reference.reload()
    assert reference_check(reference) == {"ok": True}
