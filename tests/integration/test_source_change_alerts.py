"""Held files changed or deleted at source are mailed to records managers (retention.alerts),
each change once, through a real SMTP server on loopback, from real crawls of a real share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select

from devstack.stack import LocalStack
from foi_cli.main import cli
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.mail import Mail, MailError
from foi_core.models import AuditEvent, SourceChange
from foi_core.settings import Settings
from retention import alerts
from retention.alerts import send_alerts
from retention.holds import add_scope, create_hold
from retention.preservation import run_pending
from tests.fixtures import ShareWorkspace
from tests.mail import Inbox, free_port
from tests.records import PASSWORD, RecordsBed

pytestmark = pytest.mark.integration

MAIL_FROM = "FOI records <foi@council.gov.uk>"
LETTER = "Tenancy/Smith/letter.txt"
NOTES = "Tenancy/Smith/notes.txt"
RENT = "Tenancy/Smith/rent statement.txt"


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "changes")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    bed.write(LETTER, b"Dear Mrs Smith, about your tenancy.\n")
    bed.write(NOTES, b"Visit notes: damp in the kitchen.\n")
    bed.write(RENT, b"Rent statement: arrears of 120 pounds.\n")
    bed.crawl()
    with transaction(bed.runtime.sessions) as session:
        create_user(session, "rita.rm", "records_manager", PASSWORD, email="rita@council.gov.uk")
        create_user(session, "rex.rm", "records_manager", PASSWORD)  # no address
        create_user(session, "olive.foi", "foi_officer", PASSWORD, email="olive@council.gov.uk")
    yield bed
    workspace.cleanup()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), server_hostname="t")
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


def _hold_folder(bed: RecordsBed, *, preserve: bool = True) -> None:
    records = bed.records
    hold = create_hold(records, name="SAR Smith", reason="SAR", owner="rita.rm", actor="rita.rm")
    add_scope(records, hold, kind="folder", source=bed.source, folder="Tenancy/Smith", actor="rita")
    if preserve:
        assert run_pending(records).failed == 0


def test_held_files_changed_or_deleted_at_source_are_mailed_once(
    bed: RecordsBed, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    records = bed.records
    _hold_folder(bed)
    assert send_alerts(records, url, MAIL_FROM, "Anytown") == 0  # nothing has changed

    bed.write(LETTER, b"Dear Mrs Smith, EDITED while held.\n")
    bed.workspace.remove(NOTES)
    bed.workspace.move(RENT, "Tenancy/Smith/Old/rent statement.txt")  # a move loses nothing
    bed.crawl()

    assert send_alerts(records, url, MAIL_FROM, "Anytown") == 2
    [message] = inbox.messages()
    assert message["To"] == "rita@council.gov.uk"  # records managers with an address only
    assert message["Subject"] == "2 held files changed or deleted at source"
    body = message.get_content().replace("\r\n", "\n")
    assert "found 2 held files changed or deleted on the file share while on hold" in body
    assert f"{bed.source}: {LETTER}\n  Changed at source" in body
    assert f"{bed.source}: {NOTES}\n  Deleted at source" in body
    assert body.count("Original: preserved") == 2 and body.count("Holds: SAR Smith") == 2
    assert "rent statement" not in body

    # Mailed once: another run, and another crawl that finds nothing new, send nothing.
    assert send_alerts(records, url, MAIL_FROM) == 0
    bed.crawl()
    assert send_alerts(records, url, MAIL_FROM) == 0
    assert len(inbox.messages()) == 1

    # A later change is news, on its own.
    bed.write(LETTER, b"Dear Mrs Smith, EDITED again.\n")
    bed.crawl()
    assert send_alerts(records, url, MAIL_FROM) == 1
    latest = inbox.messages()[-1]
    assert latest["Subject"] == "1 held file changed or deleted at source"
    assert NOTES not in latest.get_content()
    with bed.runtime.sessions() as session:
        events = list(
            session.execute(
                select(AuditEvent).where(AuditEvent.action == "source_change_alert")
            ).scalars()
        )
        assert [e.details["changes"] for e in events] == [2, 1]
        assert events[0].details["recipients"] == ["rita@council.gov.uk"]
        unmailed = session.execute(
            select(SourceChange).where(SourceChange.alerted_at.is_(None))
        ).scalars()
        assert [c.change for c in unmailed] == ["moved"]


def test_a_change_before_the_copy_was_made_says_action_is_needed(
    bed: RecordsBed, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    _hold_folder(bed, preserve=False)
    bed.write(LETTER, b"Dear Mrs Smith, EDITED before the copy was made.\n")
    bed.crawl()
    send_alerts(bed.records, url, MAIL_FROM)
    [changes] = [m for m in inbox.messages() if "at source" in str(m["Subject"])]
    assert " ".join(str(changes["Subject"]).split()) == (
        "Action needed: 1 held file changed or deleted at source, 1 not preserved"
    )
    assert "Original: NOT preserved" in changes.get_content()


def test_two_runs_at_once_never_mail_a_change_twice(
    bed: RecordsBed, smtp: tuple[Inbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, url = smtp
    _hold_folder(bed)
    bed.workspace.remove(NOTES)
    bed.crawl()
    real_send = alerts.send_mail
    overlapping: list[int] = []

    def send_while_another_run_starts(mails: Sequence[Mail], *args: str) -> None:
        # The second run starts while the first is sending: what the first claimed is not its.
        if not overlapping:
            overlapping.append(send_alerts(bed.records, url, MAIL_FROM))
        real_send(mails, *args)

    monkeypatch.setattr(alerts, "send_mail", send_while_another_run_starts)
    assert send_alerts(bed.records, url, MAIL_FROM) == 1
    assert overlapping == [0]
    assert len(inbox.messages()) == 1


def test_an_unreachable_relay_leaves_changes_unmailed_and_foi_holds_alert_sends_them(
    bed: RecordsBed, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    _hold_folder(bed)
    bed.workspace.remove(NOTES)
    bed.crawl()
    with pytest.raises(MailError, match=r"127\.0\.0\.1"):
        send_alerts(bed.records, f"smtp://127.0.0.1:{free_port()}", MAIL_FROM)
    env = bed.settings.to_env()
    result = CliRunner().invoke(
        cli, ["holds", "alert"], env={**env, "FOI_SMTP_URL": url, "FOI_MAIL_FROM": MAIL_FROM}
    )
    assert result.exit_code == 0, result.output
    [message] = inbox.messages()
    assert f"{bed.source}: {NOTES}" in message.get_content()
