"""Subject access request deadlines: one calendar month, two more if extended, plus clock stops.

Readings (the earlier date wins wherever the law is open):

* UK GDPR Art. 12(3), ICO method: the day of receipt is day one, so the response is due on the
  corresponding date in the next month; if that date does not exist, the last day of that month;
  if it is not a working day, the next working day.
* Extension: two further calendar months counted on from the *unadjusted* one-month date and
  clamped again at month ends. Received 18 December 2025: 18 January, then 18 March 2026.
  Received 31 January 2025: 28 February, then 28 April (not 30 April).
* Clock stops (Art. 12A, Data (Use and Access) Act 2025: identity verification, clarification,
  fee). A stop from day S to reply day R adds R - S calendar days: the clock runs on the day the
  controller asks and again on the day the reply arrives. Overlapping stops count once; a stop
  that begins after the running (unadjusted) deadline cannot pause it and is ignored. The days
  are added to the unadjusted due date; where month lengths make that differ from starting the
  month the same number of days later, the earlier of the two dates is used. Consequences: a stop
  never makes a deadline earlier, and the answer is never later than reading Art. 12A as
  starting the month when the identity evidence or fee arrives, or as leaving out both the
  request day and the reply day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cases.deadlines.calendar import UKWorkingCalendar, add_calendar_months
from cases.deadlines.records import (
    ClockStoppedError,
    ClockStopReason,
    CountStep,
    Deadline,
    ExcludedDay,
    RequestClock,
    long_date,
)

EXTENSION_MONTHS = 2

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class _Pause:
    """Merged clock stops: the clock is stopped from `start` up to, not including, `end`."""

    start: dt.date
    end: dt.date
    reasons: tuple[ClockStopReason, ...]

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def describe(self) -> str:
        return " and ".join(reason.value for reason in self.reasons)


@dataclass(frozen=True)
class _Period:
    unadjusted: dt.date
    end: dt.date
    counted: tuple[_Pause, ...]
    ignored: tuple[_Pause, ...]

    @property
    def stopped_days(self) -> int:
        return sum(pause.days for pause in self.counted)


def sar_deadline(clock: RequestClock, calendar: UKWorkingCalendar) -> Deadline:
    """The SAR due date for `clock` (see the module docstring for the readings used).

    Raises `ClockStoppedError` while any clock stop still awaits its reply.
    """
    waiting = [stop for stop in clock.clock_stops if stop.resumed is None]
    if waiting:
        first = min(waiting, key=lambda stop: stop.stopped)
        raise ClockStoppedError(first.reason.value, first.stopped)
    pauses = _merge(
        _Pause(stop.stopped, stop.resumed, (stop.reason,))
        for stop in clock.clock_stops
        if stop.resumed is not None
    )
    first_month = _period(clock.received, 0, pauses)
    period = _period(clock.received, EXTENSION_MONTHS, pauses) if clock.extended else first_month

    steps = [CountStep(clock.received, None, "request received: day one of the calendar month")]
    for pause in period.counted:
        steps.append(
            CountStep(
                pause.start,
                None,
                f"clock stopped for {pause.describe()} until {pause.end.isoformat()}: "
                f"{pause.days} calendar day(s) stopped",
            )
        )
    for pause in period.ignored:
        steps.append(
            CountStep(
                pause.start,
                None,
                f"clock stop for {pause.describe()} began after the running deadline: ignored",
            )
        )
    steps.append(
        CountStep(
            first_month.unadjusted,
            None,
            "one calendar month after receipt"
            + _clamp_note(clock.received, first_month.unadjusted),
        )
    )
    if clock.extended:
        steps.append(
            CountStep(
                period.unadjusted,
                None,
                "extension: two further calendar months after "
                + f"{first_month.unadjusted.day} {first_month.unadjusted:%B}",
            )
        )
    if period.stopped_days:
        steps.append(CountStep(period.end, None, _stops_note(clock.received, period)))

    excluded: list[ExcludedDay] = []
    due = period.end
    while reasons := tuple(calendar.reason(due)):
        steps.append(CountStep(due, None, "not a working day: the due date moves on", reasons))
        excluded.append(ExcludedDay(due, reasons))
        due += _ONE_DAY
    steps.append(CountStep(due, None, "due"))
    steps.sort(key=lambda step: step.date)

    return Deadline(
        regime=clock.regime,
        received=clock.received,
        extended=clock.extended,
        start=clock.received,
        due=due,
        working_days=None,
        excluded_days=tuple(excluded),
        steps=tuple(steps),
        notes=_notes(clock, period, calendar.first_working_day_on_or_after(first_month.end)),
        calendar_version=calendar.version,
    )


def _merge(stops: Iterable[_Pause]) -> tuple[_Pause, ...]:
    merged: list[_Pause] = []
    for stop in sorted(stops, key=lambda stop: stop.start):
        if not stop.days:
            continue
        last = merged[-1] if merged else None
        if last is not None and stop.start <= last.end:
            reasons = last.reasons + tuple(r for r in stop.reasons if r not in last.reasons)
            merged[-1] = _Pause(last.start, max(last.end, stop.end), reasons)
        else:
            merged.append(stop)
    return tuple(merged)


def _unadjusted_end(received: dt.date, extra_months: int) -> dt.date:
    return add_calendar_months(add_calendar_months(received, 1), extra_months)


def _period(received: dt.date, extra_months: int, pauses: tuple[_Pause, ...]) -> _Period:
    unadjusted = _unadjusted_end(received, extra_months)
    running = unadjusted
    counted: list[_Pause] = []
    ignored: list[_Pause] = []
    for pause in pauses:
        if pause.start <= running:
            running += dt.timedelta(days=pause.days)
            counted.append(pause)
        else:
            ignored.append(pause)
    stopped = dt.timedelta(days=sum(pause.days for pause in counted))
    shifted = _unadjusted_end(received + stopped, extra_months)
    return _Period(unadjusted, min(running, shifted), tuple(counted), tuple(ignored))


def _stops_note(received: dt.date, period: _Period) -> str:
    stopped = period.stopped_days
    if (period.end - period.unadjusted).days == stopped:
        return f"{stopped} calendar day(s) added for clock stops"
    later_start = received + dt.timedelta(days=stopped)
    return (
        f"clock stops: the month counted from {later_start.isoformat()} ({stopped} day(s) "
        "later) ends here, earlier than adding the days at the end"
    )


def _clamp_note(received: dt.date, unadjusted: dt.date) -> str:
    if unadjusted.day == received.day:
        return ""
    return f" (no {received.day} {unadjusted:%B}: last day of the month)"


def _notes(clock: RequestClock, period: _Period, first_month_due: dt.date) -> tuple[str, ...]:
    notes = [
        "UK GDPR Art. 12(3): one calendar month with the day of receipt as day one (ICO): due "
        "on the corresponding date next month, or that month's last day if there is none, "
        "moved to the next working day if it is not one.",
    ]
    if clock.extended:
        notes.append(
            "Extended by two further calendar months, counted on from the unadjusted one-month "
            "date and clamped again at month ends (the earlier reading). The requester must be "
            f"told, with reasons, by {long_date(first_month_due)}."
        )
    if period.counted:
        notes.append(
            "Clock stops (UK GDPR Art. 12A): each adds the calendar days from the stop date up "
            "to the reply date (the reply day counts again); overlapping stops count once; where "
            "month lengths make adding the days at the end differ from starting the month that "
            "many days later, the earlier date is used. A stop never makes the deadline earlier."
        )
    if period.ignored:
        notes.append("A clock stop that began after the running deadline was ignored.")
    return tuple(notes)
