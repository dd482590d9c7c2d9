"""What the case pages and the cases API show of cases themselves (lists, clocks, links), of
the extra non-working days and of the facts the statistics count, in a few queries. A case's
searches, documents and bundles are in case_evidence_facts.py.

Reads only: every decision about a case goes through `cases.service`, `cases.collection` and
`cases.export`. Clocks are recomputed here from the same engine the services use
(`cases.service.case_clock`), so the page shows how a due date was reached, never only the
stored date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.deadlines.calendar import UKWorkingCalendar
from cases.service import OPEN_STATUSES, CaseClock, case_clock, working_calendar
from cases.statistics import CaseFacts
from foi_core.models import (
    Case,
    CaseLink,
    CaseStatus,
    NonWorkingDay,
    User,
)
from search_app.permissions import ASSIGNABLE_ROLE

CASES_PER_PAGE = 50
# "Due this week": at most this many working days left.
DUE_SOON_WORKING_DAYS = 5


@dataclass(frozen=True)
class CaseRow:
    """A case as the lists show it, with its clock as of `today`."""

    id: int
    reference: str
    regime: str
    title: str
    status: str
    assigned_to: str
    received: dt.date
    due: dt.date | None
    responded: dt.date | None
    internal_target: dt.date | None
    days_left: int | None
    awaiting: str
    stopped_since: dt.date | None
    overdue: bool
    due_soon: bool
    past_target: bool

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def urgency(self) -> str:
        """The row's colour: overdue (red), due this week (amber), or none."""
        if not self.open:
            return ""
        return "overdue" if self.overdue else "due-soon" if self.due_soon else ""


@dataclass(frozen=True)
class CasePage:
    rows: tuple[CaseRow, ...]
    page: int
    pages: int
    total: int


def _row(case: Case, calendar: UKWorkingCalendar, today: dt.date, target_days: int) -> CaseRow:
    clock = (
        case_clock(case, calendar, target_days) if case.status in OPEN_STATUSES else CaseClock(None)
    )
    due = clock.deadline.due if clock.deadline else (None if clock.awaiting else case.due)
    days_left = calendar.working_days_between(today, due) if due else None
    running = case.status in OPEN_STATUSES and due is not None
    overdue = running and due is not None and due < today
    target = clock.internal_target
    return CaseRow(
        id=case.id,
        reference=case.reference,
        regime=case.regime,
        title=case.title,
        status=case.status,
        assigned_to=case.assigned_to,
        received=case.received,
        due=due,
        responded=case.responded,
        internal_target=target,
        days_left=days_left,
        awaiting=clock.awaiting,
        stopped_since=clock.stopped_since,
        overdue=overdue,
        due_soon=running
        and not overdue
        and days_left is not None
        and days_left <= DUE_SOON_WORKING_DAYS,
        past_target=running and not overdue and target is not None and target < today,
    )


def case_rows(
    session: Session, cases: Iterable[Case], today: dt.date, target_days: int
) -> list[CaseRow]:
    calendar = working_calendar(session)
    return [_row(case, calendar, today, target_days) for case in cases]


def _by_days_left(row: CaseRow) -> tuple[bool, int, str]:
    # Stopped clocks (no due date) after every running one; then soonest first.
    return row.days_left is None, row.days_left or 0, row.reference


def open_cases(session: Session, today: dt.date, target_days: int) -> list[CaseRow]:
    """Every case whose clock runs or is stopped, the least time left first."""
    found = session.execute(select(Case).where(Case.status.in_(OPEN_STATUSES))).scalars()
    return sorted(case_rows(session, found, today, target_days), key=_by_days_left)


def other_cases(session: Session, page: int, today: dt.date, target_days: int) -> CasePage:
    """One page of the answered, reviewed and closed cases, the most recently received first."""
    return listed_cases(session, page, today, target_days, Case.status.not_in(OPEN_STATUSES))


def listed_cases(
    session: Session, page: int, today: dt.date, target_days: int, *where: Any
) -> CasePage:
    """One page of the cases meeting `where`, the most recently received first."""
    total = session.execute(select(func.count()).select_from(Case).where(*where)).scalar_one()
    pages = max(1, -(-total // CASES_PER_PAGE))
    page = min(max(page, 1), pages)
    found = session.execute(
        select(Case)
        .where(*where)
        .order_by(Case.received.desc(), Case.id.desc())
        .offset((page - 1) * CASES_PER_PAGE)
        .limit(CASES_PER_PAGE)
    ).scalars()
    return CasePage(tuple(case_rows(session, found, today, target_days)), page, pages, total)


def choosable_cases(
    session: Session, username: str, today: dt.date, target_days: int
) -> list[CaseRow]:
    """Cases records may still be collected into (every one not closed), the user's first."""
    found = session.execute(
        select(Case).where(Case.status != CaseStatus.CLOSED).order_by(Case.id.desc())
    ).scalars()
    rows = case_rows(session, found, today, target_days)
    return sorted(rows, key=lambda r: (r.assigned_to != username, r.reference))


def case_by_reference(session: Session, reference: str) -> Case | None:
    return session.execute(select(Case).where(Case.reference == reference)).scalar_one_or_none()


def officers(session: Session) -> list[str]:
    """Who a case can be assigned to: active FOI officers."""
    return list(
        session.execute(
            select(User.username)
            .where(User.role == ASSIGNABLE_ROLE, User.active.is_(True))
            .order_by(User.username)
        ).scalars()
    )


@dataclass(frozen=True)
class LinkRow:
    reference: str
    title: str
    status: str
    why: str
    added_by: str
    added_at: dt.datetime


def case_links(session: Session, case_id: int) -> list[LinkRow]:
    rows = session.execute(
        select(CaseLink, Case)
        .join(Case, Case.id == CaseLink.other_id)
        .where(CaseLink.case_id == case_id)
        .order_by(CaseLink.id)
    ).all()
    return [
        LinkRow(other.reference, other.title, other.status, link.why, link.added_by, link.added_at)
        for link, other in rows
    ]


@dataclass(frozen=True)
class DayVersion:
    """One version of an extra non-working day; `current` marks the one in force for its date."""

    id: int
    day: dt.date
    name: str
    nations: tuple[str, ...]
    active: bool
    changed_by: str
    changed_at: dt.datetime
    current: bool


def non_working_days(session: Session) -> list[DayVersion]:
    rows = list(
        session.execute(
            select(NonWorkingDay).order_by(NonWorkingDay.day.desc(), NonWorkingDay.id.desc())
        ).scalars()
    )
    newest: dict[dt.date, int] = {}
    for row in rows:
        newest.setdefault(row.day, row.id)
    return [
        DayVersion(
            row.id,
            row.day,
            row.name,
            tuple(row.nations),
            row.active,
            row.changed_by,
            row.changed_at,
            newest[row.day] == row.id,
        )
        for row in rows
    ]


def statistics_facts(session: Session) -> list[CaseFacts]:
    rows = session.execute(
        select(Case.id, Case.reference, Case.regime, Case.received, Case.due, Case.responded)
    ).all()
    return [CaseFacts(*row) for row in rows]


def cases_by_id(
    session: Session, ids: Sequence[int], today: dt.date, target_days: int
) -> list[CaseRow]:
    found = session.execute(
        select(Case).where(Case.id.in_(list(ids))).order_by(Case.received, Case.id)
    ).scalars()
    return case_rows(session, found, today, target_days)
