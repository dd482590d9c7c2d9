"""Records that cross the deadline engine's boundary: its input, its answer and its errors.

A `RequestClock` is validated when it is built, so an impossible sequence of dates (a fee paid
before the fees notice, a clarification before the request) can never reach the engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cases.deadlines.calendar import NonWorkingReason


class Regime(StrEnum):
    FOIA = "FOIA"
    EIR = "EIR"
    SAR = "SAR"


class ClockStopReason(StrEnum):
    """Why a subject access clock stopped (UK GDPR Art. 12A, Data (Use and Access) Act 2025)."""

    IDENTITY = "identity verification"
    CLARIFICATION = "clarification"
    FEE = "fee"


class DeadlineInputError(ValueError):
    """The request's dates are inconsistent or out of range; fix the record, then recompute."""


class ClockStoppedError(Exception):
    """The clock is stopped awaiting a reply, so there is no deadline yet: show what is awaited.

    `awaiting` names what the authority is waiting for; `since` is the day the clock stopped.
    """

    def __init__(self, awaiting: str, since: dt.date) -> None:
        super().__init__(f"clock stopped since {since.isoformat()} awaiting {awaiting}")
        self.awaiting = awaiting
        self.since = since


def long_date(day: dt.date) -> str:
    """'Wednesday 21 January 2026': how a deadline is written to people."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def _require_date(name: str, value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise DeadlineInputError(f"{name} must be a date, got {value!r}")


@dataclass(frozen=True)
class ClockStop:
    """A subject access clock stop: from the day the controller asked to the day it got a reply.

    `resumed` is None while the reply is awaited.
    """

    reason: ClockStopReason
    stopped: dt.date
    resumed: dt.date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.reason, ClockStopReason):
            raise DeadlineInputError(f"unknown clock stop reason {self.reason!r}")
        _require_date("clock stop date", self.stopped)
        if self.resumed is not None:
            _require_date("clock resume date", self.resumed)
            if self.resumed < self.stopped:
                raise DeadlineInputError(
                    f"{self.reason} clock stop resumes ({self.resumed}) before it stopped "
                    f"({self.stopped})"
                )


@dataclass(frozen=True)
class RequestClock:
    """Everything that decides when a request is due.

    FOIA and EIR use `clarified` and `fee_notice`/`fee_paid`; SAR uses `clock_stops` for its
    identity, clarification and fee waits. `extended` is the FOIA public interest extension, the
    EIR reg 7 extension or the SAR two-month extension.
    """

    regime: Regime
    received: dt.date
    clarified: dt.date | None = None
    fee_notice: dt.date | None = None
    fee_paid: dt.date | None = None
    extended: bool = False
    clock_stops: tuple[ClockStop, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.regime, Regime):
            raise DeadlineInputError(f"unknown regime {self.regime!r}; use FOIA, EIR or SAR")
        object.__setattr__(self, "clock_stops", tuple(self.clock_stops))
        if not isinstance(self.extended, bool):
            raise DeadlineInputError(f"extended must be True or False, got {self.extended!r}")
        _require_date("received", self.received)
        for name in ("clarified", "fee_notice", "fee_paid"):
            value = getattr(self, name)
            if value is not None:
                _require_date(name, value)
        if self.regime is Regime.SAR:
            self._check_sar()
        else:
            self._check_working_day_regime()

    def _check_sar(self) -> None:
        if (self.clarified, self.fee_notice, self.fee_paid) != (None, None, None):
            raise DeadlineInputError(
                "a subject access request records identity, clarification and fee waits as "
                "clock stops, not as clarified/fee_notice/fee_paid"
            )
        for stop in self.clock_stops:
            if not isinstance(stop, ClockStop):
                raise DeadlineInputError(f"clock stops must be ClockStop records, got {stop!r}")
            if stop.stopped < self.received:
                raise DeadlineInputError(
                    f"{stop.reason} clock stop ({stop.stopped}) is before the request was "
                    f"received ({self.received})"
                )

    def _check_working_day_regime(self) -> None:
        if self.clock_stops:
            raise DeadlineInputError(
                f"clock stops apply to subject access requests only; for {self.regime} give the "
                "clarification date or the fees notice and payment dates"
            )
        if self.clarified is not None and self.clarified < self.received:
            raise DeadlineInputError(
                f"clarification ({self.clarified}) is before the request was received "
                f"({self.received})"
            )
        if self.fee_paid is not None and self.fee_notice is None:
            raise DeadlineInputError("a fee payment date needs the fees notice date too")
        if self.fee_notice is not None and self.fee_notice < self.received:
            raise DeadlineInputError(
                f"fees notice ({self.fee_notice}) is before the request was received "
                f"({self.received})"
            )
        if (
            self.fee_notice is not None
            and self.fee_paid is not None
            and self.fee_paid < self.fee_notice
        ):
            raise DeadlineInputError(
                f"fee paid ({self.fee_paid}) before the fees notice was given ({self.fee_notice})"
            )


@dataclass(frozen=True)
class ExcludedDay:
    """A day the count passed over, with every reason it did not count."""

    date: dt.date
    reasons: tuple[NonWorkingReason, ...]


@dataclass(frozen=True)
class CountStep:
    """One line of the explanation.

    `day_number` is the working-day number for FOIA/EIR days that count and None otherwise
    (receipt, excluded days, and every SAR step, whose period is counted in months).
    """

    date: dt.date
    day_number: int | None
    note: str
    reasons: tuple[NonWorkingReason, ...] = ()


@dataclass(frozen=True)
class Deadline:
    """A computed deadline and how it was reached.

    `start` is the day the count runs from (day 1 is the first working day after it for FOIA
    and EIR). `working_days` is the working-day count used, None for SAR. `excluded_days` lists
    the days the count passed over (FOIA/EIR) or the non-working days a SAR due date was moved
    past. `calendar_version` is `UKWorkingCalendar.version` of the calendar used.
    """

    regime: Regime
    received: dt.date
    extended: bool
    start: dt.date
    due: dt.date
    working_days: int | None
    excluded_days: tuple[ExcludedDay, ...]
    steps: tuple[CountStep, ...]
    notes: tuple[str, ...]
    calendar_version: str

    def to_json_dict(self) -> dict[str, object]:
        """Plain JSON types only: ISO dates, lists, strings, ints and None."""
        return {
            "regime": self.regime.value,
            "received": self.received.isoformat(),
            "extended": self.extended,
            "start": self.start.isoformat(),
            "due": self.due.isoformat(),
            "working_days": self.working_days,
            "excluded_days": [
                {"date": day.date.isoformat(), "reasons": _reasons_json(day.reasons)}
                for day in self.excluded_days
            ],
            "steps": [
                {
                    "date": step.date.isoformat(),
                    "day_number": step.day_number,
                    "note": step.note,
                    "reasons": _reasons_json(step.reasons),
                }
                for step in self.steps
            ],
            "notes": list(self.notes),
            "calendar_version": self.calendar_version,
        }


def _reasons_json(reasons: tuple[NonWorkingReason, ...]) -> list[dict[str, object]]:
    return [
        {"name": reason.name, "nations": [nation.value for nation in reason.nations]}
        for reason in reasons
    ]
