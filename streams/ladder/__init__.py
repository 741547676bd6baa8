"""The escalation ladder (`discipline.*`): counting violations per employee, retracting the ones judged
false positives, and an employee's record as of a time."""

from streams.ladder.record import employee_record
from streams.ladder.retraction import Cause, retract_violation
from streams.ladder.steps import LADDER_MAP, Ladder, LadderPolicy

__all__ = ["LADDER_MAP", "Cause", "Ladder", "LadderPolicy", "employee_record", "retract_violation"]
