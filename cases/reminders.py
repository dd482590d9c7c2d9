"""Deadline reminder e-mails: one per officer, listing the open cases that need attention.

A case needs attention when its statutory deadline has passed (overdue), falls within
`soon_days` working days (due soon, which includes today), or its internal target date has
passed. Those dates alone decide whether a case is listed. A case whose clock is stopped
(`awaiting` is set) is then shown as "clock stopped: awaiting ..." instead of overdue or due
soon, and after every running case, because its statutory period is not running and the stored
due date will move when the clock restarts.

Counting is in working days on `UKWorkingCalendar`, the calendar the deadlines themselves use.
`due_reminders` is pure; `send_reminders` sends them through `foi_core.mail`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from cases.deadlines.calendar import UKWorkingCalendar
from cases.deadlines.records import long_date
from foi_core.mail import MailError, send_mail

__all__ = [
    "MailError",
    "Reminder",
    "ReminderCase",
    "due_reminders",
    "send_reminders",
    "working_days_until",
]

_DASH = "\u2014"
_OVERDUE, _SOON, _TARGET, _STOPPED = "overdue", "due soon", "past internal target", "clock stopped"
_KINDS = (_OVERDUE, _SOON, _TARGET, _STOPPED)  # the order the subject line counts them in
_FOOTER = (
    "Working days exclude weekends and bank holidays in any part of the UK. A stopped clock "
    "does not run until the awaited reply arrives."
)


@dataclass(frozen=True)
class ReminderCase:
    """An open case as the reminder sees it. `awaiting` is "" unless the clock is stopped."""

    reference: str
    title: str
    regime: str
    assigned_email: str
    due: date | None
    internal_target: date | None
    awaiting: str


@dataclass(frozen=True)
class Reminder:
    """One officer's e-mail; `references` lists the cases in the order the body does."""

    to: str
    subject: str
    body: str
    references: tuple[str, ...]


def working_days_until(today: date, due: date, calendar: UKWorkingCalendar) -> int:
    """Working days left until `due`: 0 on the day itself, negative once it has passed.

    Ahead, it counts the working days in (today, due]; behind, minus those in (due, today], so a
    case due on a Friday is 1 working day overdue on the Monday after.
    """
    return calendar.working_days_between(today, due)


def _one_line(text: str) -> str:
    # Titles are typed by people and may hold line breaks; one case must stay one line.
    return " ".join(text.split())


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(frozen=True)
class _Entry:
    sort_key: tuple[int, int, date, str]
    kind: str
    line: str
    reference: str


def _entry(
    case: ReminderCase, today: date, calendar: UKWorkingCalendar, soon_days: int
) -> _Entry | None:
    target_passed = case.internal_target is not None and case.internal_target < today
    days = None if case.due is None else working_days_until(today, case.due, calendar)
    overdue = case.due is not None and case.due < today
    soon = days is not None and not overdue and days <= soon_days
    if not (overdue or soon or target_passed):
        return None

    reference = _one_line(case.reference)
    awaiting = _one_line(case.awaiting)
    if case.due is None or days is None:
        status = "no statutory due date recorded"
    elif overdue and days < 0:
        status = f"OVERDUE by {_plural(-days, 'working day')} (was due {long_date(case.due)})"
    elif overdue:
        # Due on a non-working day that has just passed: late, but no working day has gone by.
        status = f"OVERDUE (was due {long_date(case.due)})"
    elif case.due == today:
        status = f"due today, {long_date(case.due)}"
    else:
        status = f"due {long_date(case.due)} ({_plural(days, 'working day')} left)"

    sort_key: tuple[int, int, date, str]
    if awaiting:
        kind, status = _STOPPED, f"clock stopped: awaiting {awaiting}"
        sort_key = (2, 0, case.due or case.internal_target or date.max, reference)
    elif case.due is not None and days is not None:
        kind = _OVERDUE if overdue else _SOON if soon else _TARGET
        sort_key = (0, days, case.due, reference)
    else:
        kind = _TARGET
        sort_key = (1, 0, case.internal_target or date.max, reference)
    if target_passed and case.internal_target is not None:
        status += f"; internal target {long_date(case.internal_target)} passed"
    title = _one_line(case.title) or "(untitled)"
    return _Entry(sort_key, kind, f"{reference} {_DASH} {title} {_DASH} {status}", reference)


def _subject(entries: Sequence[_Entry]) -> str:
    counts = {kind: sum(entry.kind == kind for entry in entries) for kind in _KINDS}
    parts = [f"{count} {kind}" for kind, count in counts.items() if count]
    return "FOI deadlines: " + ", ".join(parts)


def due_reminders(
    cases: Iterable[ReminderCase],
    today: date,
    calendar: UKWorkingCalendar,
    *,
    soon_days: int = 5,
) -> list[Reminder]:
    """One reminder per officer with something to report, sorted by address.

    Cases without an e-mail address are left out (there is nobody to send them to). Addresses
    are compared ignoring case and surrounding spaces, because council mail systems treat
    "Jo.Smith@" and "jo.smith@" as one mailbox and the officer should get one e-mail.
    """
    if soon_days < 0:
        raise ValueError(f"soon_days must be zero or more, got {soon_days}")
    by_officer: defaultdict[str, list[_Entry]] = defaultdict(list)
    for case in cases:
        address = case.assigned_email.strip().lower()
        if not address:
            continue
        entry = _entry(case, today, calendar, soon_days)
        if entry is not None:
            by_officer[address].append(entry)

    reminders = []
    for address in sorted(by_officer):
        entries = sorted(by_officer[address], key=lambda entry: entry.sort_key)
        body = "\n".join(
            [
                "Open requests assigned to you that need attention on "
                f"{long_date(today)}, most urgent first:",
                "",
                *(entry.line for entry in entries),
                "",
                _FOOTER,
                "",
            ]
        )
        references = tuple(entry.reference for entry in entries)
        reminders.append(Reminder(address, _subject(entries), body, references))
    return reminders


def send_reminders(
    reminders: Sequence[Reminder], smtp_url: str, mail_from: str, *, timeout_s: float = 30
) -> int:
    """Send the reminders (see foi_core.mail.send_mail); returns how many were accepted."""
    return send_mail(reminders, smtp_url, mail_from, timeout_s=timeout_s)
