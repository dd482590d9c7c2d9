"""Which cases each officer is reminded about, in what order and in what words."""

from __future__ import annotations

from datetime import date

import pytest

from cases.deadlines.calendar import UKWorkingCalendar
from cases.reminders import ReminderCase, due_reminders, working_days_until

CALENDAR = UKWorkingCalendar()
FRIDAY = date(2026, 1, 16)


def _case(
    reference: str,
    *,
    due: date | None = None,
    target: date | None = None,
    awaiting: str = "",
    email: str = "jo.smith@council.gov.uk",
    title: str = "Bus shelter contract",
    regime: str = "FOIA",
) -> ReminderCase:
    return ReminderCase(reference, title, regime, email, due, target, awaiting)


@pytest.mark.parametrize(
    ("today", "due", "expected"),
    [
        (FRIDAY, FRIDAY, 0),
        (FRIDAY, date(2026, 1, 19), 1),  # Monday: the weekend does not count
        (date(2026, 1, 19), FRIDAY, -1),  # the Monday after a Friday deadline
        (FRIDAY, date(2026, 1, 21), 3),
        # Early May bank holiday, Monday 4 May 2026, on top of the weekend.
        (date(2026, 5, 1), date(2026, 5, 5), 1),
        (date(2026, 5, 5), date(2026, 4, 30), -2),
        # Good Friday 3 April and Easter Monday 6 April 2026.
        (date(2026, 4, 2), date(2026, 4, 7), 1),
        # 2 January is a bank holiday in Scotland only, which still stops the count UK-wide.
        (date(2025, 12, 31), date(2026, 1, 5), 1),
    ],
)
def test_working_days_until_skips_weekends_and_bank_holidays(
    today: date, due: date, expected: int
) -> None:
    assert working_days_until(today, due, CALENDAR) == expected


def test_due_soon_line_names_the_date_and_working_days_left() -> None:
    (reminder,) = due_reminders([_case("FOI-2026-0042", due=date(2026, 1, 21))], FRIDAY, CALENDAR)

    assert reminder.to == "jo.smith@council.gov.uk"
    assert reminder.subject == "FOI deadlines: 1 due soon"
    assert (
        "FOI-2026-0042 \u2014 Bus shelter contract \u2014 due Wednesday 21 January 2026 "
        "(3 working days left)\n"
    ) in reminder.body
    assert reminder.references == ("FOI-2026-0042",)


def test_overdue_line_counts_working_days_late() -> None:
    (reminder,) = due_reminders([_case("FOI-2026-0040", due=date(2026, 1, 14))], FRIDAY, CALENDAR)

    assert (
        "FOI-2026-0040 \u2014 Bus shelter contract \u2014 OVERDUE by 2 working days "
        "(was due Wednesday 14 January 2026)\n"
    ) in reminder.body
    assert reminder.subject == "FOI deadlines: 1 overdue"


def test_due_today_and_one_day_late_read_naturally() -> None:
    (reminder,) = due_reminders(
        [_case("A", due=FRIDAY), _case("B", due=date(2026, 1, 15))], FRIDAY, CALENDAR
    )

    assert "A \u2014 Bus shelter contract \u2014 due today, Friday 16 January 2026\n" in (
        reminder.body
    )
    assert "OVERDUE by 1 working day (was due Thursday 15 January 2026)" in reminder.body


def test_a_deadline_on_a_non_working_day_just_passed_is_still_overdue() -> None:
    saturday, sunday = date(2026, 1, 17), date(2026, 1, 18)

    (reminder,) = due_reminders([_case("SAR-1", due=saturday, regime="SAR")], sunday, CALENDAR)

    assert "OVERDUE (was due Saturday 17 January 2026)" in reminder.body
    assert reminder.subject == "FOI deadlines: 1 overdue"


def test_cases_are_listed_most_urgent_first_and_counted_in_the_subject() -> None:
    cases = [
        _case("SOON-3", due=date(2026, 1, 21)),
        _case("STOPPED", due=date(2026, 1, 2), awaiting="clarification"),
        _case("LATE-2", due=date(2026, 1, 14)),
        _case("TARGET-ONLY", target=date(2026, 1, 12)),
        _case("SOON-1", due=date(2026, 1, 19)),
        _case("LATE-5", due=date(2026, 1, 9)),
        _case("LATER", due=date(2026, 2, 27), target=date(2026, 1, 15)),
    ]

    (reminder,) = due_reminders(cases, FRIDAY, CALENDAR)

    assert reminder.references == (
        "LATE-5",
        "LATE-2",
        "SOON-1",
        "SOON-3",
        "LATER",
        "TARGET-ONLY",
        "STOPPED",
    )
    assert reminder.subject == (
        "FOI deadlines: 2 overdue, 2 due soon, 2 past internal target, 1 clock stopped"
    )
    case_lines = [line for line in reminder.body.splitlines() if " \u2014 " in line]
    assert [line.split(" ")[0] for line in case_lines] == list(reminder.references)


def test_the_soon_window_is_counted_in_working_days_inclusive() -> None:
    # Friday 16 January: five working days on is Friday 23rd, six is Monday 26th.
    cases = [_case("IN", due=date(2026, 1, 23)), _case("OUT", due=date(2026, 1, 26))]

    assert [r.references for r in due_reminders(cases, FRIDAY, CALENDAR)] == [("IN",)]
    assert [r.references for r in due_reminders(cases, FRIDAY, CALENDAR, soon_days=6)] == [
        ("IN", "OUT")
    ]
    with pytest.raises(ValueError, match="soon_days"):
        due_reminders(cases, FRIDAY, CALENDAR, soon_days=-1)


def test_internal_target_counts_only_once_it_has_passed() -> None:
    far = date(2026, 3, 2)
    passed = _case("PASSED", due=far, target=date(2026, 1, 15))
    today = _case("TODAY", due=far, target=FRIDAY)

    (reminder,) = due_reminders([passed, today], FRIDAY, CALENDAR)

    assert reminder.references == ("PASSED",)
    assert (
        "due Monday 2 March 2026 (31 working days left); "
        "internal target Thursday 15 January 2026 passed"
    ) in reminder.body


def test_stopped_clock_is_shown_as_awaiting_not_overdue() -> None:
    stopped = _case("SAR-2026-0007", due=date(2026, 1, 2), awaiting="clarification")

    (reminder,) = due_reminders([stopped], FRIDAY, CALENDAR)

    assert (
        "SAR-2026-0007 \u2014 Bus shelter contract \u2014 clock stopped: awaiting clarification\n"
    ) in reminder.body
    assert "OVERDUE" not in reminder.body
    assert reminder.subject == "FOI deadlines: 1 clock stopped"


def test_stopped_clock_with_nothing_due_is_not_reported() -> None:
    no_deadline = _case("SAR-1", awaiting="identity verification")
    far_off = _case("SAR-2", due=date(2026, 3, 2), awaiting="fee")

    assert due_reminders([no_deadline, far_off], FRIDAY, CALENDAR) == []


def test_one_reminder_per_officer_ignoring_address_case() -> None:
    cases = [
        _case("A", due=FRIDAY, email="Jo.Smith@Council.gov.uk "),
        _case("B", due=FRIDAY, email="jo.smith@council.gov.uk"),
        _case("C", due=FRIDAY, email="al.jones@council.gov.uk"),
        _case("D", due=date(2026, 3, 2), email="bo.nothing@council.gov.uk"),
    ]

    reminders = due_reminders(cases, FRIDAY, CALENDAR)

    assert [(r.to, r.references) for r in reminders] == [
        ("al.jones@council.gov.uk", ("C",)),
        ("jo.smith@council.gov.uk", ("A", "B")),
    ]


def test_cases_without_an_address_are_not_sent_anywhere() -> None:
    cases = [_case("A", due=FRIDAY, email=""), _case("B", due=FRIDAY, email="   ")]

    assert due_reminders(cases, FRIDAY, CALENDAR) == []


def test_a_title_with_line_breaks_stays_on_one_line() -> None:
    case = _case("A", due=FRIDAY, title="Potholes\r\nOVERDUE by 99 working days\n")

    (reminder,) = due_reminders([case], FRIDAY, CALENDAR)

    assert "A \u2014 Potholes OVERDUE by 99 working days \u2014 due today" in reminder.body
    assert len([line for line in reminder.body.splitlines() if " \u2014 " in line]) == 1


def test_body_is_plain_text_with_the_date_and_a_footer() -> None:
    (reminder,) = due_reminders([_case("A", due=FRIDAY)], FRIDAY, CALENDAR)

    lines = reminder.body.splitlines()
    assert lines[0] == (
        "Open requests assigned to you that need attention on Friday 16 January 2026, "
        "most urgent first:"
    )
    assert lines[-1].startswith("Working days exclude weekends and bank holidays")
    assert "<" not in reminder.body
