"""Reminders sent through a real SMTP server (aiosmtpd) listening on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from cases.deadlines.calendar import UKWorkingCalendar
from cases.reminders import MailError, Reminder, ReminderCase, due_reminders, send_reminders
from tests.mail import REFUSED, Inbox, free_port

pytestmark = pytest.mark.integration

MAIL_FROM = "FOI Team <foi@council.gov.uk>"
USER, PASSWORD = "reminders", "pa55:w0rd@secret"
PASSWORD_IN_URL = "pa55%3Aw0rd%40secret"


def _accept_only_our_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    # handled=False: aiosmtpd then sends the 535 reply itself instead of leaving the client waiting.
    return AuthResult(success=ok, handled=False)


def _serve(inbox: Inbox, **smtp_options: Any) -> Iterator[Controller]:
    # server_hostname avoids aiosmtpd's default reverse DNS lookup of this machine.
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="mail.test",
        **smtp_options,
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp_server(inbox: Inbox) -> Iterator[Controller]:
    yield from _serve(inbox)


@pytest.fixture
def auth_server(inbox: Inbox) -> Iterator[Controller]:
    # AUTH over plain text is allowed only because this server listens on loopback, which is
    # also the only place send_reminders will send a password without TLS.
    yield from _serve(inbox, authenticator=_accept_only_our_login, auth_require_tls=False)


def _reminders() -> list[Reminder]:
    today = date(2026, 1, 16)
    cases = [
        ReminderCase(
            "FOI-2026-0042",
            "Bus shelter contract",
            "FOIA",
            "jo.smith@council.gov.uk",
            date(2026, 1, 21),
            None,
            "",
        ),
        ReminderCase(
            "EIR-2026-0007",
            "Tree survey \u2013 Élan Park",
            "EIR",
            "al.jones@council.gov.uk",
            date(2026, 1, 14),
            None,
            "",
        ),
    ]
    return due_reminders(cases, today, UKWorkingCalendar())


def test_each_officer_receives_their_reminder(smtp_server: Controller, inbox: Inbox) -> None:
    reminders = _reminders()

    sent = send_reminders(reminders, f"smtp://127.0.0.1:{smtp_server.port}", MAIL_FROM)

    assert sent == 2
    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [
        ["al.jones@council.gov.uk"],
        ["jo.smith@council.gov.uk"],
    ]
    assert {envelope.mail_from for envelope in inbox.envelopes} == {"foi@council.gov.uk"}
    for reminder, message in zip(reminders, inbox.messages(), strict=True):
        assert message["To"] == reminder.to
        assert message["From"] == MAIL_FROM
        assert message["Subject"] == reminder.subject
        assert message["Date"] is not None
        assert message["Message-ID"].endswith("@council.gov.uk>")
        assert message.get_content_type() == "text/plain"
        # SMTP carries CRLF line ends; the text is what must survive.
        assert message.get_content().replace("\r\n", "\n") == reminder.body
    assert inbox.messages()[0]["Subject"] == "FOI deadlines: 1 overdue"
    assert "Tree survey \u2013 Élan Park \u2014 OVERDUE by 2 working days" in (
        inbox.messages()[0].get_content()
    )


def test_nothing_to_send_opens_no_connection() -> None:
    assert send_reminders([], f"smtp://127.0.0.1:{free_port()}", MAIL_FROM) == 0


def test_login_then_send(auth_server: Controller, inbox: Inbox) -> None:
    url = f"smtp://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{auth_server.port}"

    assert send_reminders(_reminders(), url, MAIL_FROM) == 2
    assert len(inbox.envelopes) == 2


def test_refused_login_names_the_host_but_not_the_password(auth_server: Controller) -> None:
    url = f"smtp://{USER}:wrong-{PASSWORD_IN_URL}@127.0.0.1:{auth_server.port}"

    with pytest.raises(MailError) as caught:
        send_reminders(_reminders(), url, MAIL_FROM)

    error = caught.value
    assert f"127.0.0.1:{auth_server.port}" in str(error)
    assert "refused the login" in str(error)
    _assert_no_password(error, "wrong-")


def test_server_down_raises_mail_error_naming_the_host() -> None:
    port = free_port()

    with pytest.raises(MailError, match=f"127.0.0.1:{port}") as caught:
        send_reminders(_reminders(), f"smtp://127.0.0.1:{port}", MAIL_FROM, timeout_s=5)

    assert caught.value.sent == 0


def test_server_down_never_leaks_the_password_from_the_url() -> None:
    port = free_port()
    url = f"smtps://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{port}"

    with pytest.raises(MailError) as caught:
        send_reminders(_reminders(), url, MAIL_FROM, timeout_s=5)

    assert f"127.0.0.1:{port}" in str(caught.value)
    _assert_no_password(caught.value)


def test_a_url_that_is_not_smtp_is_refused_without_echoing_it() -> None:
    with pytest.raises(MailError, match="smtp:// or smtps://") as caught:
        send_reminders(_reminders(), f"https://{USER}:{PASSWORD_IN_URL}@mail.test/", MAIL_FROM)

    _assert_no_password(caught.value)


def test_a_refused_recipient_does_not_stop_the_others(
    smtp_server: Controller, inbox: Inbox
) -> None:
    refused = Reminder(REFUSED, "FOI deadlines: 1 overdue", "FOI-1 \u2014 x \u2014 OVERDUE\n", ())
    reminders = [refused, *_reminders()]

    with pytest.raises(MailError, match=REFUSED) as caught:
        send_reminders(reminders, f"smtp://127.0.0.1:{smtp_server.port}", MAIL_FROM)

    assert (caught.value.sent, caught.value.failed) == (2, (REFUSED,))
    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [
        ["al.jones@council.gov.uk"],
        ["jo.smith@council.gov.uk"],
    ]


def _assert_no_password(error: BaseException, prefix: str = "") -> None:
    """Neither the message, the repr nor any chained exception carries the password."""
    seen: BaseException | None = error
    while seen is not None:
        for text in (str(seen), repr(seen)):
            for secret in (prefix + PASSWORD, prefix + PASSWORD_IN_URL, PASSWORD, "w0rd"):
                assert secret not in text
        seen = seen.__cause__ or seen.__context__
