"""`qunguard discipline show` after a retraction: the withdrawn steps, apart, with why."""

from __future__ import annotations

import io

import orjson

from agents.cli.discipline import Source, _show
from streams.core.policy import load_policy
from streams.core.state import MemoryState
from streams.ladder.record import employee_record
from streams.ladder.retraction import Cause, retract_violation
from streams.ladder.steps import Ladder
from tests.support import LADDER_START
from tests.support import ladder_violation as violation


def shown(as_json: bool) -> str:
    ladder = Ladder(load_policy(), MemoryState())
    warnings = [violation("content.porn", days=d) for d in range(3)]
    for v in warnings:
        ladder.process(v)
    retract_violation(
        ladder, "E1", warnings[0].violation_id, Cause("f-1", "E0004", "2026-03-10T09:30:00+08:00")
    )
    states = {"E1": ladder.state["E1"]}
    now = LADDER_START.replace(month=4)
    source = Source(lambda: states, states.get, {"E1": "张三"}, ladder.rules, now)
    out = io.StringIO()
    _show(employee_record("E1", states["E1"], now, ladder.rules), source, as_json, out)
    return out.getvalue()


def test_the_table_shows_withdrawn_steps_and_why() -> None:
    text = shown(as_json=False)
    assert "warnings pending 2 of 3" in text and "demerits 0" in text
    standing, withdrawn = text.split("withdrawn:")
    assert standing.count("discipline.warning") == 2 and "discipline.demerit" not in standing
    lines = [line for line in withdrawn.splitlines() if line.startswith("2026-03-10 09:30")]
    assert [line.split()[2] for line in lines] == ["discipline.warning", "discipline.demerit"]
    assert ["false_positive" in lines[0], "conversion" in lines[1]] == [True, True]
    assert all(line.rstrip().endswith("E0004") for line in lines)


def test_json_carries_the_withdrawn_steps() -> None:
    doc = orjson.loads(shown(as_json=True))
    assert [(w["step"], w["reason"], w["feedback_id"]) for w in doc["withdrawn"]] == [
        ("discipline.warning", "false_positive", "f-1"),
        ("discipline.demerit", "conversion", "f-1"),
    ]
    assert (doc["warnings"], doc["demerits"], doc["violations"]) == (2, 0, 2)
