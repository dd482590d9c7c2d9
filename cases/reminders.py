"""Deadline reminder e-mails: one per officer, listing the open cases that need attention.

A case needs attention when its statutory deadline has passed (overdue), falls within
`soon_days` working days (due soon, which includes today), or its internal target date has
passed. Those dates alone decide whether a case is listed. A case whose clock is stopped
(`awaiting` is set) is then shown as "clock stopped: awaiting ..." instead of overdue or due
soon, and after every running case, because its statutory period is not running and the stored
due date will move when the clock restarts.

Counting is in working days on `UKWorkingCalendar`, the calendar the deadlines themselves use.
`due_reminders` is pure; `send_reminders` is the only function that touches the network.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from foi_core.calendar import UKWorkingCalendar
from foi_core.deadline_records import long_date

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


class MailError(RuntimeError):
    """Some or all reminders were not sent: fix the mail settings or addresses, then resend.

    `sent` counts the messages the server accepted; `failed` lists the recipients whose message
    was refused or never sent. Messages name the server's host but never a password.
    """

    def __init__(self, message: str, *, sent: int = 0, failed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.sent = sent
        self.failed = failed


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


@dataclass(frozen=True)
class _Server:
    host: str
    port: int
    implicit_tls: bool
    user: str
    password: str

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def scrub(self, text: str) -> str:
        """Belt and braces: no server reply or library message may carry the password on."""
        return text.replace(self.password, "***") if self.password else text


def _parse_smtp_url(smtp_url: str) -> _Server:
    # Error messages are built from the parsed parts, never from the URL, which holds the password.
    parts = urlsplit(smtp_url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise MailError(f"mail server URL must start smtp:// or smtps://, not {scheme or '?'}://")
    host = parts.hostname
    if not host:
        raise MailError("mail server URL has no host")
    try:
        port = parts.port or (465 if scheme == "smtps" else 25)
    except ValueError:
        raise MailError(f"mail server URL for {host} has an invalid port") from None
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if password and not user:
        raise MailError(f"mail server URL for {host}:{port} has a password but no user name")
    return _Server(host, port, scheme == "smtps", user, password)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _connect(server: _Server, timeout_s: float) -> smtplib.SMTP:
    """An open, greeted and (when the URL has a user) logged-in connection."""
    context = ssl.create_default_context()
    try:
        if server.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=timeout_s, context=context
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout_s)
    except OSError as exc:
        raise MailError(
            f"could not connect to mail server {server.where}: {server.scrub(str(exc))}"
        ) from exc
    try:
        smtp.ehlo_or_helo_if_needed()
        encrypted = server.implicit_tls
        if not encrypted and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            encrypted = True
        if server.user:
            # A password sent in clear can be read by anyone on the path, so only a loopback
            # relay (which never leaves the machine) may receive one without TLS.
            if not encrypted and not _is_loopback(server.host):
                raise MailError(
                    f"mail server {server.where} offers no TLS; refusing to send the password "
                    "for the login in clear (use smtps:// or a server offering STARTTLS)"
                )
            try:
                smtp.login(server.user, server.password)
            except smtplib.SMTPException as exc:
                # `from None`: the library's exception is not scrubbed, so it is not chained.
                raise MailError(
                    f"mail server {server.where} refused the login for user {server.user!r}: "
                    f"{server.scrub(str(exc))}"
                ) from None
    except MailError:
        smtp.close()
        raise
    except OSError as exc:
        smtp.close()
        raise MailError(
            f"mail server {server.where} failed before sending: {server.scrub(str(exc))}"
        ) from exc
    return smtp


def _message(reminder: Reminder, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = reminder.to
    message["Subject"] = reminder.subject
    message["Date"] = formatdate(localtime=True)
    # The sender's own domain, because make_msgid's default asks DNS for this host's name.
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    # Quoted-printable keeps the em dashes safe through relays that lack 8BITMIME.
    message.set_content(reminder.body, cte="quoted-printable")
    return message


# Refusals that concern one message; anything else means the connection can no longer be used.
_MESSAGE_REFUSED = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
)


def send_reminders(
    reminders: Sequence[Reminder], smtp_url: str, mail_from: str, *, timeout_s: float = 30
) -> int:
    """Send each reminder over one connection and return how many the server accepted.

    `smtp_url` is smtp://host:port or smtps://host:port (implicit TLS), optionally with
    user:password@ (percent-encoded). Over smtp:// the connection is upgraded with STARTTLS
    whenever the server offers it, with certificate checks. Nothing to send means no connection.

    Every reminder is tried even when one is refused; then `MailError` lists what failed. A
    connection, TLS or login failure raises `MailError` at once.
    """
    server = _parse_smtp_url(smtp_url)
    failed: list[str] = []
    reasons: list[str] = []
    messages: list[tuple[Reminder, EmailMessage]] = []
    for reminder in reminders:
        try:
            messages.append((reminder, _message(reminder, mail_from)))
        except ValueError as exc:
            failed.append(reminder.to)
            reasons.append(f"{reminder.to!r}: {exc}")
    sent = 0
    if messages:
        with _connect(server, timeout_s) as smtp:
            for index, (reminder, message) in enumerate(messages):
                try:
                    smtp.send_message(message)
                except _MESSAGE_REFUSED as exc:
                    failed.append(reminder.to)
                    reasons.append(f"{reminder.to}: {server.scrub(str(exc))}")
                except OSError as exc:
                    unsent = tuple(r.to for r, _ in messages[index:])
                    raise MailError(
                        f"lost the connection to mail server {server.where} after sending "
                        f"{sent} of {len(reminders)} reminders: {server.scrub(str(exc))}",
                        sent=sent,
                        failed=(*failed, *unsent),
                    ) from exc
                else:
                    sent += 1
    if failed:
        raise MailError(
            f"mail server {server.where} accepted {sent} of {len(reminders)} reminders; "
            f"not sent: {'; '.join(reasons)}",
            sent=sent,
            failed=tuple(failed),
        )
    return sent
