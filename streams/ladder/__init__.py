"""The escalation ladder (`discipline.*`): counting violations per employee, and an employee's
record as of a time."""

from streams.ladder.record import employee_record
from streams.ladder.steps import LADDER_MAP, Ladder, LadderPolicy

__all__ = ["LADDER_MAP", "Ladder", "LadderPolicy", "employee_record"]
