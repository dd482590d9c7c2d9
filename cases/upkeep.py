"""Upkeep across open cases: the extra non-working days that move every deadline, and the
facts deadline reminders are built from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.deadlines.calendar import ExtraNonWorkingDay
from cases.reminders import ReminderCase
from cases.service import (
    OPEN_STATUSES,
    CaseError,
    case_clock,
    recompute_due,
    working_calendar,
)
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import Case, NonWorkingDay, User


def set_non_working_day(
    sessions: sessionmaker[Session],
    day: dt.date,
    name: str,
    nations: Sequence[str],
    *,
    active: bool,
    actor: str,
    target_days: int,
    ip: str = "",
) -> int:
    """Add (or withdraw) an extra non-working day and recalculate every open case; returns how
    many due dates changed."""
    try:
        ExtraNonWorkingDay(day, name, tuple(nations))  # type: ignore[arg-type]
    except ValueError as exc:
        raise CaseError(str(exc)) from None
    with transaction(sessions) as session:
        session.add(
            NonWorkingDay(
                day=day, name=name.strip(), nations=list(nations), active=active, changed_by=actor
            )
        )
        session.flush()
        changed = []
        for case in session.execute(select(Case).where(Case.status.in_(OPEN_STATUSES))).scalars():
            before = case.due
            recompute_due(session, case, target_days)
            if case.due != before:
                changed.append({"case": case.reference, "from": str(before), "to": str(case.due)})
        audit.record(
            session,
            actor=actor,
            action="non_working_day_change",
            target=day.isoformat(),
            ip=ip,
            details={
                "name": name,
                "nations": list(nations),
                "active": active,
                "recalculated": changed,
            },
        )
        return len(changed)


def reminder_cases(session: Session, target_days: int) -> list[ReminderCase]:
    """Every open case with its officer's e-mail address, due date and internal target."""
    calendar = working_calendar(session)
    emails = dict(session.execute(select(User.username, User.email)).all())
    found = []
    for case in session.execute(select(Case).where(Case.status.in_(OPEN_STATUSES))).scalars():
        clock = case_clock(case, calendar, target_days)
        found.append(
            ReminderCase(
                reference=case.reference,
                title=case.title,
                regime=case.regime,
                assigned_email=emails.get(case.assigned_to, "") or "",
                due=clock.deadline.due if clock.deadline else case.due,
                internal_target=clock.internal_target,
                awaiting=clock.awaiting,
            )
        )
    return found
