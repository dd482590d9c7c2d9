"""Preservation failures mailed to records managers (retention.alerts) through a real SMTP
server on loopback, from a real failure: a held file deleted at source before its copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select

from devstack.stack import LocalStack
from foi_cli.main import cli
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.mail import MailError
from foi_core.models import AuditEvent, PreservationTask
from foi_core.settings import Settings
from retention.alerts import send_alerts
from retention.holds import add_scope, create_hold
from retention.preservation import run_pending
from tests.fixtures import ShareWorkspace
from tests.mail import REFUSED, Inbox, free_port
from tests.records import PASSWORD, RecordsBed

pytestmark = pytest.mark.integration

MAIL_FROM = "FOI records <foi@council.gov.uk>"
KEPT, LOST = "Tenancy/Smith/letter.txt", "Tenancy/Smith/notes.txt"


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "alerts")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    bed.write(KEPT, b"Dear Mrs Smith, about your tenancy.\n")
    bed.write(LOST, b"Visit notes: damp in the kitchen.\n")
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


def _failed_copy(bed: RecordsBed) -> None:
    records = bed.records
    hold = create_hold(records, name="SAR Smith", reason="SAR", owner="rita.rm", actor="rita.rm")
    bed.workspace.remove(LOST)  # gone before its copy could be made
    add_scope(records, hold, kind="folder", source=bed.source, folder="Tenancy/Smith", actor="rita")
    report = run_pending(records)
    assert (report.preserved, report.failed) == (1, 1)


def test_a_failed_copy_is_mailed_once_to_records_managers(
    bed: RecordsBed, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    records = bed.records
    assert send_alerts(records, url, MAIL_FROM, "Anytown") == 0  # nothing has failed
    _failed_copy(bed)

    assert send_alerts(records, url, MAIL_FROM, "Anytown") == 1
    [message] = inbox.messages()
    assert message["To"] == "rita@council.gov.uk"  # records managers with an address only
    assert message["Subject"] == "Action needed: 1 held file could not be preserved"
    body = message.get_content()
    assert f"{bed.source}: {LOST}" in body and "Holds: SAR Smith" in body
    assert KEPT not in body

    # Mailed once: the retry fails again the same way, and nothing more is sent.
    assert run_pending(records).failed == 1
    assert send_alerts(records, url, MAIL_FROM) == 0
    assert len(inbox.messages()) == 1
    with bed.runtime.sessions() as session:
        [event] = session.execute(
            select(AuditEvent).where(AuditEvent.action == "preservation_alert")
        ).scalars()
        assert event.details["recipients"] == ["rita@council.gov.uk"]

    # A different error is news again.
    with transaction(bed.runtime.sessions) as session:
        task = session.execute(
            select(PreservationTask).where(PreservationTask.path == LOST)
        ).scalar_one()
        task.error = "preservation store full"
    assert send_alerts(records, url, MAIL_FROM) == 1
    assert "preservation store full" in inbox.messages()[-1].get_content()


def test_an_unreachable_relay_marks_nothing_mailed(
    bed: RecordsBed, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    _failed_copy(bed)
    with pytest.raises(MailError, match=r"127\.0\.0\.1"):
        send_alerts(bed.records, f"smtp://127.0.0.1:{free_port()}", MAIL_FROM)
    # Still owed: the next run, with the relay back, sends it.
    assert send_alerts(bed.records, url, MAIL_FROM) == 1
    assert len(inbox.messages()) == 1


def test_foi_holds_alert(bed: RecordsBed, smtp: tuple[Inbox, str]) -> None:
    inbox, url = smtp
    _failed_copy(bed)
    env = bed.settings.to_env()
    refused = CliRunner().invoke(cli, ["holds", "alert"], env={**env, "FOI_SMTP_URL": ""})
    assert refused.exit_code != 0 and "FOI_SMTP_URL" in refused.output
    result = CliRunner().invoke(
        cli, ["holds", "alert"], env={**env, "FOI_SMTP_URL": url, "FOI_MAIL_FROM": MAIL_FROM}
    )
    assert result.exit_code == 0, result.output
    assert "1 preservation failures mailed" in result.output
    assert len(inbox.messages()) == 1


def test_a_refused_address_does_not_make_everyone_else_mailed_again(
    bed: RecordsBed, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    with transaction(bed.runtime.sessions) as session:
        create_user(session, "gone.rm", "records_manager", PASSWORD, email=REFUSED)
    _failed_copy(bed)
    assert send_alerts(bed.records, url, MAIL_FROM) == 1
    assert [m["To"] for m in inbox.messages()] == ["rita@council.gov.uk"]
    assert send_alerts(bed.records, url, MAIL_FROM) == 0  # not again for the refusal
    with bed.runtime.sessions() as session:
        [event] = session.execute(
            select(AuditEvent).where(AuditEvent.action == "preservation_alert")
        ).scalars()
    assert event.outcome == "failed" and event.details["refused"] == [REFUSED]
