"""Request cases: creation, references, the status workflow and its statutory clock.

Invariants:
- a case's due date is always recomputed by the deadline engine (cases.deadlines.engine) from the
  clock facts the workflow records (received, clarification, fees notice and payment,
  extension, SAR clock stops) and the calendar in force, never typed in; while a clock is
  stopped the case has no due date and says what it awaits;
- every change of status is one of the allowed transitions and is audited with its dates;
- changing the extra non-working days recalculates every open case, audited.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from cases.deadlines.calendar import ExtraNonWorkingDay, UKWorkingCalendar
from cases.deadlines.engine import compute_deadline
from cases.deadlines.records import (
    ClockStop,
    ClockStoppedError,
    ClockStopReason,
    Deadline,
    DeadlineInputError,
    Regime,
    RequestClock,
)
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import Case, CaseLink, CaseStatus, NonWorkingDay

S = CaseStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.CLARIFICATION, S.FEE_NOTICE, S.IN_PROGRESS, S.RESPONDED, S.CLOSED}),
    S.CLARIFICATION: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.FEE_NOTICE: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.CLARIFICATION, S.FEE_NOTICE, S.PI_EXTENSION, S.RESPONDED}),
    S.PI_EXTENSION: frozenset({S.RESPONDED}),
    S.RESPONDED: frozenset({S.INTERNAL_REVIEW, S.CLOSED}),
    S.INTERNAL_REVIEW: frozenset({S.RESPONDED, S.ICO_COMPLAINT, S.CLOSED}),
    S.ICO_COMPLAINT: frozenset({S.RESPONDED, S.CLOSED}),
    S.CLOSED: frozenset({S.INTERNAL_REVIEW}),
}
OPEN_STATUSES = (S.RECEIVED, S.CLARIFICATION, S.FEE_NOTICE, S.IN_PROGRESS, S.PI_EXTENSION)
OUTCOMES = ("full", "part", "refused", "not_held")
# FOIA sections and EIR regulations a response may rely on.
EXEMPTIONS = (
    "s.12", "s.14", "s.21", "s.22", "s.23", "s.24", "s.26", "s.27", "s.28", "s.29", "s.30",
    "s.31", "s.32", "s.33", "s.35", "s.36", "s.37", "s.38", "s.40", "s.41", "s.42", "s.43",
    "s.44", "reg 12(4)(a)", "reg 12(4)(b)", "reg 12(4)(c)", "reg 12(4)(d)", "reg 12(4)(e)",
    "reg 12(5)(a)", "reg 12(5)(b)", "reg 12(5)(c)", "reg 12(5)(d)", "reg 12(5)(e)",
    "reg 12(5)(f)", "reg 12(5)(g)", "reg 13", "Art. 15(4)", "DPA 2018 Sch. 2",
)  # fmt: skip
MAX_TEXT_CHARS = 20_000


class CaseError(ValueError):
    """The case action cannot be done as asked; the message says why, for the user."""


@dataclass(frozen=True)
class CaseClock:
    """A case's deadline now: the engine's `Deadline`, or what a stopped clock awaits."""

    deadline: Deadline | None
    awaiting: str = ""
    stopped_since: dt.date | None = None
    internal_target: dt.date | None = None


def prefixes(spec: str) -> dict[str, str]:
    """ "FOIA=FOI,EIR=EIR,SAR=SAR" as a mapping; every regime must have a prefix."""
    found: dict[str, str] = {}
    for part in spec.split(","):
        regime, _, prefix = part.partition("=")
        if regime.strip() and re.fullmatch(r"[A-Za-z0-9]{1,12}", prefix.strip()):
            found[regime.strip().upper()] = prefix.strip()
    missing = [r.value for r in Regime if r.value not in found]
    if missing:
        raise CaseError(f"FOI_CASE_PREFIXES gives no prefix for {', '.join(missing)}")
    return found


def working_calendar(session: Session) -> UKWorkingCalendar:
    """The calendar with the extra non-working days in force (newest row per date wins)."""
    rows = session.execute(select(NonWorkingDay).order_by(NonWorkingDay.id)).scalars()
    latest: dict[dt.date, NonWorkingDay] = {row.day: row for row in rows}
    return UKWorkingCalendar(
        ExtraNonWorkingDay(row.day, row.name, tuple(row.nations))  # type: ignore[arg-type]
        for row in latest.values()
        if row.active
    )


def request_clock(case: Case) -> RequestClock:
    regime = Regime(case.regime)
    stops = tuple(
        ClockStop(
            ClockStopReason(stop["reason"]),
            dt.date.fromisoformat(stop["stopped"]),
            dt.date.fromisoformat(stop["resumed"]) if stop.get("resumed") else None,
        )
        for stop in case.clock_stops or ()
    )
    if regime is Regime.SAR:
        return RequestClock(regime, case.received, extended=case.extended, clock_stops=stops)
    clarified = case.clarified
    if case.clarification_requested and not case.clarified:
        # Waiting for clarification: nothing counts until it arrives (s.1(3)).
        raise ClockStoppedError("clarification", case.clarification_requested)
    return RequestClock(
        regime,
        case.received,
        clarified=clarified,
        fee_notice=case.fee_notice,
        fee_paid=case.fee_paid,
        extended=case.extended,
    )


def case_clock(case: Case, calendar: UKWorkingCalendar, target_days: int) -> CaseClock:
    try:
        deadline = compute_deadline(request_clock(case), calendar)
    except ClockStoppedError as stopped:
        return CaseClock(None, stopped.awaiting, stopped.since)
    return CaseClock(deadline, internal_target=_internal_target(deadline, calendar, target_days))


def _internal_target(
    deadline: Deadline, calendar: UKWorkingCalendar, target_days: int
) -> dt.date | None:
    for step in deadline.steps:
        if step.day_number == target_days:
            return step.date
    if deadline.working_days is not None:
        return None if target_days >= deadline.working_days else deadline.due
    # A SAR is counted in months: the target is as many working days before the due date as
    # the FOIA target is before the 20th working day.
    day, left = deadline.due, max(0, 20 - target_days)
    while left:
        day -= dt.timedelta(days=1)
        left -= calendar.is_working_day(day)
    return day


def recompute_due(session: Session, case: Case, target_days: int) -> None:
    clock = case_clock(case, working_calendar(session), target_days)
    case.due = clock.deadline.due if clock.deadline else None


def _clean(value: str, what: str, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CaseError(f"{what} is required")
    if len(value) > limit:
        raise CaseError(f"{what} is longer than {limit} characters")
    return value


def next_reference(session: Session, prefix: str, year: int) -> str:
    stem = f"{prefix}-{year}-"
    taken = session.execute(select(Case.reference).where(Case.reference.like(f"{stem}%")))
    numbers = [int(ref[len(stem) :]) for ref in taken.scalars() if ref[len(stem) :].isdigit()]
    return f"{stem}{max(numbers, default=0) + 1:04d}"


def create_case(
    sessions: sessionmaker[Session],
    *,
    regime: str,
    received: dt.date,
    title: str,
    request_text: str,
    requester_name: str,
    requester_contact: str = "",
    assigned_to: str = "",
    actor: str,
    prefix_spec: str,
    target_days: int,
    ip: str = "",
) -> Case:
    try:
        regime = Regime(regime.upper()).value
    except ValueError:
        raise CaseError(f"unknown regime {regime!r}; use FOIA, EIR or SAR") from None
    if received > dt.date.today():
        raise CaseError("the received date is in the future")
    title = _clean(title, "A short title", 300)
    request_text = _clean(request_text, "The request text", MAX_TEXT_CHARS)
    requester_name = _clean(requester_name, "The requester's name", 300)
    requester_contact = _clean(requester_contact, "Contact details", 2000, required=False)
    with transaction(sessions) as session:
        case = Case(
            reference=next_reference(session, prefixes(prefix_spec)[regime], received.year),
            regime=regime,
            title=title,
            request_text=request_text,
            received=received,
            requester_name=requester_name,
            requester_contact=requester_contact,
            assigned_to=assigned_to.strip() or actor,
            created_by=actor,
            status=CaseStatus.RECEIVED,
            extended=False,
            clock_stops=[],
            exemptions=[],
            logged_minutes=0,
        )
        try:
            recompute_due(session, case, target_days)
        except DeadlineInputError as exc:
            raise CaseError(str(exc)) from None
        session.add(case)
        session.flush()
        linked = _link_same_requester(session, case, actor)
        audit.record(
            session,
            actor=actor,
            action="case_create",
            target=f"case:{case.reference}",
            ip=ip,
            details={"regime": regime, "received": received.isoformat(), "linked": linked},
        )
        session.expunge(case)
        return case


def _link_same_requester(session: Session, case: Case, actor: str) -> list[str]:
    """Earlier cases from the same requester (name or contact): s.14 history and s.12
    aggregation candidates."""
    same = [func.lower(Case.requester_name) == case.requester_name.lower()]
    if case.requester_contact:
        same.append(func.lower(Case.requester_contact) == case.requester_contact.lower())
    others = session.execute(select(Case).where(Case.id != case.id, or_(*same))).scalars().all()
    for other in others:
        session.add(
            CaseLink(case_id=case.id, other_id=other.id, why="same_requester", added_by=actor)
        )
        session.add(
            CaseLink(case_id=other.id, other_id=case.id, why="same_requester", added_by=actor)
        )
    return [o.reference for o in others]


def load_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseError(f"there is no case {case_id}")
    return case


def transition(
    sessions: sessionmaker[Session],
    case_id: int,
    to: str,
    *,
    on: dt.date,
    actor: str,
    target_days: int,
    outcome: str = "",
    exemptions: Sequence[str] = (),
    stop_reason: str = "",
    ip: str = "",
) -> Case:
    """Move a case to status `to` on date `on`, recording the clock facts that change."""
    if on > dt.date.today():
        raise CaseError("the date is in the future")
    with transaction(sessions) as session:
        case = load_case(session, case_id)
        if to not in TRANSITIONS.get(case.status, frozenset()):
            raise CaseError(f"a case that is {_label(case.status)} cannot become {_label(to)}")
        if on < case.received:
            raise CaseError("the date is before the request was received")
        previous = case.status
        _apply(case, to, on, outcome, exemptions, stop_reason)
        try:
            recompute_due(session, case, target_days)
        except DeadlineInputError as exc:
            raise CaseError(str(exc)) from None
        case.status = to
        audit.record(
            session,
            actor=actor,
            action="case_transition",
            target=f"case:{case.reference}",
            ip=ip,
            details={
                "from": previous,
                "to": to,
                "on": on.isoformat(),
                "outcome": case.outcome,
                "exemptions": list(case.exemptions),
                "due": case.due.isoformat() if case.due else None,
            },
        )
        session.flush()
        session.expunge(case)
        return case


def _apply(
    case: Case, to: str, on: dt.date, outcome: str, exemptions: Sequence[str], stop_reason: str
) -> None:
    sar = case.regime == Regime.SAR
    stops = [dict(s) for s in case.clock_stops or ()]
    if to in (S.CLARIFICATION, S.FEE_NOTICE) and sar:
        reason = stop_reason or (
            ClockStopReason.CLARIFICATION if to == S.CLARIFICATION else ClockStopReason.FEE
        )
        try:
            ClockStopReason(reason)
        except ValueError:
            raise CaseError(f"unknown clock stop reason {reason!r}") from None
        stops.append({"reason": reason, "stopped": on.isoformat(), "resumed": None})
    elif to == S.CLARIFICATION:
        case.clarification_requested, case.clarified = on, None
    elif to == S.FEE_NOTICE:
        case.fee_notice, case.fee_paid = on, None
    elif to == S.IN_PROGRESS and case.status in (S.CLARIFICATION, S.FEE_NOTICE):
        if sar:
            for stop in stops:
                if stop["resumed"] is None:
                    stop["resumed"] = on.isoformat()
        elif case.status == S.CLARIFICATION:
            case.clarified = on
        else:
            case.fee_paid = on
    elif to == S.PI_EXTENSION:
        case.extended = True
    elif to == S.RESPONDED:
        if outcome not in OUTCOMES:
            raise CaseError(f"choose the outcome: {', '.join(OUTCOMES)}")
        unknown = [e for e in exemptions if e not in EXEMPTIONS]
        if unknown:
            raise CaseError(f"unknown exemption(s): {', '.join(unknown)}")
        if outcome in ("part", "refused") and not exemptions:
            raise CaseError("a part or full refusal must name the exemptions relied on")
        if case.responded is None:
            case.responded = on
        case.outcome, case.exemptions = outcome, list(dict.fromkeys(exemptions))
    elif to == S.CLOSED:
        case.closed_at = dt.datetime.now(dt.UTC)
    case.clock_stops = stops


def _label(status: str) -> str:
    return status.replace("_", " ")


def log_time(
    sessions: sessionmaker[Session], case_id: int, minutes: int, *, actor: str, ip: str = ""
) -> None:
    if not 0 < minutes <= 24 * 60:
        raise CaseError("log between 1 minute and 24 hours at a time")
    with transaction(sessions) as session:
        case = load_case(session, case_id)
        case.logged_minutes += minutes
        audit.record(
            session,
            actor=actor,
            action="case_time",
            target=f"case:{case.reference}",
            ip=ip,
            details={"minutes": minutes, "total": case.logged_minutes},
        )
