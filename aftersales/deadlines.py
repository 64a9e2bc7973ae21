"""ADR reporting deadlines from a versioned rule table (R-ADR-1; sop-checklists B.6).

Pure judgement code: no database writes, shared by the service (which stores the result on the
case with the rule-set version used) and the tests. Days are calendar days counted from day 0 in
the site's time zone: day 0 + 15 days is due at the end of that local day; "immediately" is due
on day 0 itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class Rule:
    applies_to: str
    report_within_days: int
    investigation_within_days: int | None = None
    report_confidence: str = "V"
    investigation_confidence: str = ""
    citation: str = ""


@dataclass
class DueDates:
    report_due: date
    report_immediately: bool
    investigation_due: date | None
    applied: list[Rule] = field(default_factory=list)


def applicable_kinds(*, death: bool, group_event: bool, serious: bool, new: bool) -> list[str]:
    """Which rows of the table a case falls under. "other" only when nothing else applies."""
    kinds = []
    if death:
        kinds.append("death")
    if group_event:
        kinds.append("group")
    if serious or new or death:
        kinds.append("new_or_serious")
    return kinds or ["other"]


def due_dates(
    *, day0: date, rules: dict[str, Rule], death: bool, group_event: bool, serious: bool, new: bool
) -> DueDates:
    """The earliest report and investigation-report dates of every rule that applies."""
    applied = [
        rules[k] for k in applicable_kinds(death=death, group_event=group_event, serious=serious, new=new) if k in rules
    ]
    if not applied:
        raise ValueError("The ADR rule set has no rule for this case.")
    report_days = min(r.report_within_days for r in applied)
    investigation = [r.investigation_within_days for r in applied if r.investigation_within_days is not None]
    return DueDates(
        report_due=day0 + timedelta(days=report_days),
        report_immediately=report_days == 0,
        investigation_due=day0 + timedelta(days=min(investigation)) if investigation else None,
        applied=applied,
    )
