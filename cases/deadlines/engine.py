"""Statutory response deadlines for FOIA, EIR and subject access requests.

Pure functions of a `RequestClock` and a `UKWorkingCalendar`: no I/O, no clock reads. Every
`Deadline` carries the day-by-day count that produced it, the days left out and why, the readings
of the law it relied on (`notes`), and the calendar version, so it can be shown, audited and
recalculated when the calendar changes.

Readings (the spec is the statutory rules note, foi-rules.md). Each reading that is guidance
rather than statute says so in the deadline's `notes`:

* FOIA s.10(1) / EIR reg 5(2): the 20th working day after receipt; day 1 is the first working
  day after the day of receipt, which may be any calendar day (ICO Line to Take 47).
* Clarification (FOIA s.1(3), EIR reg 9(4)): the count starts afresh from the day the
  clarification is received.
* Fees (FOIA s.10(2); EIR reg 8 advance payment, read the same way): working days from the
  fees-notice day to the payment day, both inclusive, are disregarded, so each such day inside
  the count moves the deadline one working day later.
* Extensions: FOIA public interest +20 working days (ICO guidance; the Act says "reasonable");
  EIR reg 7(1) 40 working days.
* SAR: see `cases.deadlines.sar`.
"""

from __future__ import annotations

import datetime as dt

from cases.deadlines.calendar import (
    CalendarRangeError,
    NonWorkingReason,
    UKWorkingCalendar,
    add_calendar_months,
)
from cases.deadlines.records import (
    ClockStop,
    ClockStoppedError,
    ClockStopReason,
    CountStep,
    Deadline,
    DeadlineInputError,
    ExcludedDay,
    Regime,
    RequestClock,
    long_date,
)
from cases.deadlines.sar import sar_deadline

__all__ = [
    "ClockStop",
    "ClockStopReason",
    "ClockStoppedError",
    "CountStep",
    "Deadline",
    "DeadlineInputError",
    "ExcludedDay",
    "Regime",
    "RequestClock",
    "compute_deadline",
    "long_date",
]

STANDARD_WORKING_DAYS = 20
EXTENDED_WORKING_DAYS = 40

FEE_WINDOW_REASON = NonWorkingReason("between fees notice and payment", ())

_ONE_DAY = dt.timedelta(days=1)
_CLARIFICATION_SOURCE = {Regime.FOIA: "FOIA s.1(3)", Regime.EIR: "EIR reg 9(4)"}


def compute_deadline(clock: RequestClock, calendar: UKWorkingCalendar) -> Deadline:
    """The date by which the response to `clock`'s request is due.

    Raises `ClockStoppedError` while a fee or SAR clock stop awaits a reply (there is no
    deadline until it arrives) and `DeadlineInputError` when a date, or the deadline itself,
    lies outside the years the calendar covers.
    """
    _check_within_calendar(clock, calendar)
    try:
        if clock.regime is Regime.SAR:
            return sar_deadline(clock, calendar)
        return _working_day_deadline(clock, calendar)
    except CalendarRangeError as exc:
        raise DeadlineInputError(str(exc)) from exc


def _check_within_calendar(clock: RequestClock, calendar: UKWorkingCalendar) -> None:
    dates = [clock.received, clock.clarified, clock.fee_notice, clock.fee_paid]
    for stop in clock.clock_stops:
        dates += [stop.stopped, stop.resumed]
    for day in dates:
        if day is not None and not calendar.first_year <= day.year <= calendar.last_year:
            raise DeadlineInputError(
                f"{day.isoformat()} is outside the years the calendar covers "
                f"({calendar.first_year}-{calendar.last_year})"
            )


def _working_day_deadline(clock: RequestClock, calendar: UKWorkingCalendar) -> Deadline:
    if clock.fee_notice is not None and clock.fee_paid is None:
        raise ClockStoppedError("fee", clock.fee_notice)
    target = EXTENDED_WORKING_DAYS if clock.extended else STANDARD_WORKING_DAYS
    start = clock.clarified or clock.received

    steps = [CountStep(clock.received, None, "request received")]
    if clock.clarified is not None:
        source = _CLARIFICATION_SOURCE[clock.regime]
        steps.append(
            CountStep(
                clock.clarified, None, f"clarification received: count starts afresh ({source})"
            )
        )
    excluded: list[ExcludedDay] = []
    disregarded = 0
    count = 0
    day = start
    while count < target:
        day += _ONE_DAY
        reasons = tuple(calendar.reason(day))
        if reasons:
            steps.append(CountStep(day, None, "not a working day", reasons))
            excluded.append(ExcludedDay(day, reasons))
        elif _in_fee_window(clock, day):
            disregarded += 1
            steps.append(CountStep(day, None, "disregarded", (FEE_WINDOW_REASON,)))
            excluded.append(ExcludedDay(day, (FEE_WINDOW_REASON,)))
        else:
            count += 1
            steps.append(CountStep(day, count, _count_note(clock, count, target)))

    day_twenty = next(step.date for step in steps if step.day_number == STANDARD_WORKING_DAYS)
    return Deadline(
        regime=clock.regime,
        received=clock.received,
        extended=clock.extended,
        start=start,
        due=day,
        working_days=target,
        excluded_days=tuple(excluded),
        steps=tuple(steps),
        notes=_working_day_notes(clock, disregarded, day_twenty),
        calendar_version=calendar.version,
    )


def _in_fee_window(clock: RequestClock, day: dt.date) -> bool:
    if clock.fee_notice is None or clock.fee_paid is None:
        return False
    return clock.fee_notice <= day <= clock.fee_paid


def _count_note(clock: RequestClock, count: int, target: int) -> str:
    if count == target:
        return "due"
    if count == STANDARD_WORKING_DAYS and clock.regime is Regime.FOIA:
        return "20th working day: any refusal notice (s.17) is due by now"
    if count == STANDARD_WORKING_DAYS:
        return "20th working day: the requester must have been told of the extension"
    return ""


def _working_day_notes(
    clock: RequestClock, disregarded: int, day_twenty: dt.date
) -> tuple[str, ...]:
    regime = clock.regime
    statute = "FOIA s.10(1)" if regime is Regime.FOIA else "EIR reg 5(2)"
    notes = [
        f"{statute}: 20 working days; day 1 is the first working day after receipt "
        "(ICO Line to Take 47). Bank holidays in any UK nation are not working days.",
    ]
    if clock.clarified is not None:
        notes.append(
            f"Clarification received {long_date(clock.clarified)}: the working days are counted "
            f"afresh from that day ({_CLARIFICATION_SOURCE[regime]})."
        )
    if clock.fee_notice is not None and clock.fee_paid is not None:
        source = (
            "FOIA s.10(2)"
            if regime is Regime.FOIA
            else "EIR reg 8 advance payment, read like FOIA s.10(2)"
        )
        notes.append(
            f"Fees notice {long_date(clock.fee_notice)} to payment "
            f"{long_date(clock.fee_paid)}, both inclusive: {disregarded} working day(s) "
            f"inside the count disregarded, moving the deadline {disregarded} working day(s) "
            f"later ({source})."
        )
        if regime is Regime.FOIA and clock.fee_paid > add_calendar_months(clock.fee_notice, 3):
            notes.append(
                "The fee arrived more than three months after the fees notice, so the authority "
                "need not comply (FOIA s.9(2))."
            )
    if clock.extended and regime is Regime.FOIA:
        notes.append(
            "Public interest extension of 20 working days is ICO guidance, not statute: "
            "s.10(3) allows 'such time as is reasonable'. A refusal notice naming the exemption "
            f"is still due by {long_date(day_twenty)} (s.17)."
        )
    elif clock.extended:
        notes.append(
            "Extended to 40 working days for a complex and voluminous request (EIR reg 7(1)); "
            f"the requester must be told by {long_date(day_twenty)} (reg 7(3))."
        )
    return tuple(notes)
