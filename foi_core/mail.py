"""Sending e-mail (deadline reminders, preservation alerts) through the council's relay.

`send_mail` is the only function here that touches the network. Error messages name the
server's host but never a password: the URL holding it is parsed once and never echoed.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit


class Mail(Protocol):
    """One message: anything with these three (a deadline reminder, an alert)."""

    @property
    def to(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def body(self) -> str: ...


class MailError(RuntimeError):
    """Some or all messages were not sent: fix the mail settings or addresses, then resend.

    `sent` counts the messages the server accepted; `failed` lists the recipients whose message
    was refused or never sent. Messages name the server's host but never a password.
    """

    def __init__(self, message: str, *, sent: int = 0, failed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.sent = sent
        self.failed = failed


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


def _message(mail: Mail, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    # The sender's own domain, because make_msgid's default asks DNS for this host's name.
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    # Quoted-printable keeps the em dashes safe through relays that lack 8BITMIME.
    message.set_content(mail.body, cte="quoted-printable")
    return message


# Refusals that concern one message; anything else means the connection can no longer be used.
_MESSAGE_REFUSED = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
)


def send_mail(
    mails: Sequence[Mail], smtp_url: str, mail_from: str, *, timeout_s: float = 30
) -> int:
    """Send each message over one connection and return how many the server accepted.

    `smtp_url` is smtp://host:port or smtps://host:port (implicit TLS), optionally with
    user:password@ (percent-encoded). Over smtp:// the connection is upgraded with STARTTLS
    whenever the server offers it, with certificate checks. Nothing to send means no connection.

    Every message is tried even when one is refused; then `MailError` lists what failed. A
    connection, TLS or login failure raises `MailError` at once.
    """
    server = _parse_smtp_url(smtp_url)
    failed: list[str] = []
    reasons: list[str] = []
    messages: list[tuple[Mail, EmailMessage]] = []
    for mail in mails:
        try:
            messages.append((mail, _message(mail, mail_from)))
        except ValueError as exc:
            failed.append(mail.to)
            reasons.append(f"{mail.to!r}: {exc}")
    sent = 0
    if messages:
        with _connect(server, timeout_s) as smtp:
            for index, (mail, message) in enumerate(messages):
                try:
                    smtp.send_message(message)
                except _MESSAGE_REFUSED as exc:
                    failed.append(mail.to)
                    reasons.append(f"{mail.to}: {server.scrub(str(exc))}")
                except OSError as exc:
                    unsent = tuple(r.to for r, _ in messages[index:])
                    raise MailError(
                        f"lost the connection to mail server {server.where} after sending "
                        f"{sent} of {len(mails)} messages: {server.scrub(str(exc))}",
                        sent=sent,
                        failed=(*failed, *unsent),
                    ) from exc
                else:
                    sent += 1
    if failed:
        raise MailError(
            f"mail server {server.where} accepted {sent} of {len(mails)} messages; "
            f"not sent: {'; '.join(reasons)}",
            sent=sent,
            failed=tuple(failed),
        )
    return sent
